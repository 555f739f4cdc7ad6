// The shim's logic without a file system: routing of names, datatype
// flattening (as ROMIO flattens: vector, indexed, subarray, struct, resized)
// and the mapping of a view's data stream to file segments; what an
// aggregator keeps of its buffers. One rank.
#include <gtest/gtest.h>
#include <mpi.h>

#include <vector>

#include "apps/mpiio/collective_buffering.h"
#include "apps/mpiio/flatten.h"
#include "apps/mpiio/routing.h"
#include "apps/mpiio/view.h"

namespace pdm::mpiio {
namespace {

using Blocks = std::vector<Block>;

// Frees a committed derived datatype at the end of a test.
struct Type {
  MPI_Datatype t = MPI_DATATYPE_NULL;
  ~Type() {
    if (t != MPI_DATATYPE_NULL) MPI_Type_free(&t);
  }
  MPI_Datatype commit() {
    MPI_Type_commit(&t);
    return t;
  }
};

TEST(Routing, MountPrefixAndSchemeGoToPdmWithThePrefixStripped) {
  EXPECT_EQ(route("/pdm/a/b", "/pdm"), "/a/b");
  EXPECT_EQ(route("/pdm", "/pdm"), "/");
  EXPECT_EQ(route("pdm:/a", "/pdm"), "/a");
  EXPECT_EQ(route("pdm:a", "/pdm"), "/a");
  EXPECT_EQ(route("/scratch/x", "/scratch/"), "/x");
}

TEST(Routing, OtherNamesPassThrough) {
  EXPECT_EQ(route("/pdmx/a", "/pdm"), std::nullopt);
  EXPECT_EQ(route("/tmp/pdm/a", "/pdm"), std::nullopt);
  EXPECT_EQ(route("ufs:/pdm/a", "/pdm"), std::nullopt);
  EXPECT_EQ(route("relative", "/pdm"), std::nullopt);
}

TEST(Flatten, NamedTypeIsOneBlock) {
  auto flat = flatten(MPI_DOUBLE);
  ASSERT_TRUE(flat.ok());
  EXPECT_EQ(flat->blocks, (Blocks{{0, 8}}));
  EXPECT_TRUE(flat->contiguous());
}

TEST(Flatten, VectorHasOneBlockPerStride) {
  Type v;
  MPI_Type_vector(3, 2, 5, MPI_INT, &v.t);
  auto flat = flatten(v.commit());
  ASSERT_TRUE(flat.ok());
  EXPECT_EQ(flat->blocks, (Blocks{{0, 8}, {20, 8}, {40, 8}}));
  EXPECT_EQ(flat->size, 24);
  EXPECT_EQ(flat->extent, 48);
  EXPECT_FALSE(flat->contiguous());
}

TEST(Flatten, ContiguousVectorMergesIntoOneBlock) {
  Type v;
  MPI_Type_vector(4, 2, 2, MPI_INT, &v.t);
  auto flat = flatten(v.commit());
  ASSERT_TRUE(flat.ok());
  EXPECT_EQ(flat->blocks, (Blocks{{0, 32}}));
  EXPECT_TRUE(flat->contiguous());
}

TEST(Flatten, IndexedKeepsTypeMapOrder) {
  Type t;
  int lengths[3] = {1, 2, 1};
  int displs[3] = {4, 0, 10};
  MPI_Type_indexed(3, lengths, displs, MPI_INT, &t.t);
  auto flat = flatten(t.commit());
  ASSERT_TRUE(flat.ok());
  EXPECT_EQ(flat->blocks, (Blocks{{16, 4}, {0, 8}, {40, 4}}));
}

TEST(Flatten, SubarrayInCOrderIsRowsOfTheSubarray) {
  Type t;
  int sizes[2] = {4, 6}, subsizes[2] = {2, 3}, starts[2] = {1, 2};
  MPI_Type_create_subarray(2, sizes, subsizes, starts, MPI_ORDER_C, MPI_CHAR, &t.t);
  auto flat = flatten(t.commit());
  ASSERT_TRUE(flat.ok());
  EXPECT_EQ(flat->blocks, (Blocks{{8, 3}, {14, 3}}));
  EXPECT_EQ(flat->extent, 24);
}

TEST(Flatten, SubarrayInFortranOrderIsColumns) {
  Type t;
  int sizes[2] = {4, 6}, subsizes[2] = {2, 3}, starts[2] = {1, 2};
  MPI_Type_create_subarray(2, sizes, subsizes, starts, MPI_ORDER_FORTRAN, MPI_CHAR, &t.t);
  auto flat = flatten(t.commit());
  ASSERT_TRUE(flat.ok());
  // Fortran order: the first dimension varies fastest (4 per column).
  EXPECT_EQ(flat->blocks, (Blocks{{9, 2}, {13, 2}, {17, 2}}));
}

TEST(Flatten, StructAndResizedNestedTypes) {
  Type pair, resized, s;
  int lengths[2] = {1, 1};
  MPI_Aint displs[2] = {0, 8};
  MPI_Datatype types[2] = {MPI_INT, MPI_DOUBLE};
  MPI_Type_create_struct(2, lengths, displs, types, &pair.t);
  MPI_Type_create_resized(pair.commit(), 0, 32, &resized.t);
  MPI_Type_contiguous(2, resized.commit(), &s.t);
  auto flat = flatten(s.commit());
  ASSERT_TRUE(flat.ok());
  EXPECT_EQ(flat->blocks, (Blocks{{0, 4}, {8, 8}, {32, 4}, {40, 8}}));
  EXPECT_EQ(flat->size, 24);
  EXPECT_EQ(flat->extent, 64);
}

TEST(View, ByteViewIsTheFileShiftedByTheDisplacement) {
  auto view = View::make(100, MPI_BYTE, MPI_BYTE);
  ASSERT_TRUE(view.ok());
  EXPECT_EQ(view->map(10, 1000), (Blocks{{110, 1000}}));
}

TEST(View, VectorViewTilesAndSplitsAtBlockBoundaries) {
  Type v;
  // Ints at 0 and 8 (vector 2,1,2), resized to tiles of 16 bytes.
  MPI_Type_vector(2, 1, 2, MPI_INT, &v.t);
  Type r;
  MPI_Type_create_resized(v.commit(), 0, 16, &r.t);
  auto view = View::make(1000, MPI_INT, r.commit());
  ASSERT_TRUE(view.ok());
  // Stream bytes 2..14: the end of int 0, int 1, int 2 (the next tile), half of int 3.
  EXPECT_EQ(view->map(2, 12), (Blocks{{1002, 2}, {1008, 4}, {1016, 4}, {1024, 2}}));
  EXPECT_EQ(view->byte_offset(4), 1008);
  EXPECT_EQ(view->stream_bytes_before(1020), 12);
}

TEST(View, ZeroLengthFiletypeMapsNothing) {
  Type empty;
  MPI_Type_contiguous(0, MPI_INT, &empty.t);
  auto view = View::make(0, MPI_INT, empty.commit());
  ASSERT_TRUE(view.ok());
  EXPECT_FALSE(view->has_data());
  EXPECT_TRUE(view->map(0, 100).empty());
}

TEST(View, FiletypeMustHoldWholeEtypes) {
  EXPECT_FALSE(View::make(0, MPI_DOUBLE, MPI_INT).ok());
}

// An aggregator keeps its buffers for the next call up to 64 MiB each; a
// call that grew one past that gives it back.
TEST(CollectiveBuffering, ScratchBuffersPast64MiBAreFreedSmallerOnesKept) {
  CbScratch scratch;
  scratch.received.resize((64 << 20) + 1);
  scratch.run.resize(64 << 20);
  scratch.covered.resize(1 << 20);
  scratch.trim();
  EXPECT_EQ(scratch.received.capacity(), 0u);
  EXPECT_EQ(scratch.run.size(), std::size_t{64} << 20);
  EXPECT_EQ(scratch.covered.size(), std::size_t{1} << 20);
}

}  // namespace
}  // namespace pdm::mpiio

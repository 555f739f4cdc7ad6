// Collective buffering (issue #5: "collective calls aggregate into large
// requests where it pays"; apps/mpiio/collective_buffering.h). Every rank's
// view selects 64 pieces of 512 bytes, interleaved with the other ranks'
// (the column of a 2-D array each rank owns). Failpoints count what the
// aggregators do (runtime/base/failpoint.h, reached through libpdm in this
// process):
//   - a collective write of the 4 x 64 pieces becomes at most one run per
//     aggregator (mpiio.aggregator_write), not 256 requests; with
//     romio_cb_write=disable no aggregator writes; the bytes are right
//     either way, from a contiguous and from a strided memory buffer;
//   - automatic mode leaves accesses that do not interleave alone, and
//     romio_cb_write=enable aggregates them all the same;
//   - a collective read aggregates (mpiio.aggregator_read) and delivers
//     each rank its pieces; cut by the end of the file, it counts the bytes
//     as an independent read does;
//   - a rank whose request is bad fails alone and the others' writes land;
//   - an aggregator whose write or read fails (mpiio.aggregator_*_error)
//     fails the call on every rank, and the next call works.
#include <mpi.h>

#include <cstring>
#include <functional>
#include <vector>

#include "runtime/base/failpoint.h"
#include "tests/mpiio/check.h"
#include "tests/mpiio/world.h"

namespace {

using pdm::mpiio_test::rank;
using pdm::mpiio_test::ranks;

constexpr int kPieces = 64;
constexpr int kPiece = 512;

// The byte the pattern puts at file offset `at` (written by rank at / kPiece % ranks).
char expected_at(MPI_Offset at) {
  return static_cast<char>('a' + (at / kPiece) % ranks() + 7 * (at / kPiece / ranks() % 3));
}

// This rank's bytes in stream order: piece k lands at (k * ranks + rank) * kPiece.
std::vector<char> my_stream() {
  std::vector<char> out(kPieces * kPiece);
  for (int k = 0; k < kPieces; ++k) {
    const MPI_Offset at = (static_cast<MPI_Offset>(k) * ranks() + rank()) * kPiece;
    std::memset(out.data() + k * kPiece, expected_at(at), kPiece);
  }
  return out;
}

// The interleaved view: this rank's pieces, between the other ranks'.
void set_interleaved_view(MPI_File file) {
  MPI_Datatype column = MPI_DATATYPE_NULL;
  CHECK_MPI(MPI_Type_vector(kPieces, kPiece, kPiece * ranks(), MPI_BYTE, &column));
  CHECK_MPI(MPI_Type_commit(&column));
  CHECK_MPI(MPI_File_set_view(file, static_cast<MPI_Offset>(rank()) * kPiece, MPI_BYTE, column,
                              "native", MPI_INFO_NULL));
  MPI_Type_free(&column);
}

MPI_File open_with(const char *path, int amode, const char *key, const char *value) {
  MPI_Info info = MPI_INFO_NULL;
  if (key != nullptr) {
    MPI_Info_create(&info);
    MPI_Info_set(info, key, value);
  }
  MPI_File file = MPI_FILE_NULL;
  CHECK_MPI(MPI_File_open(MPI_COMM_WORLD, path, amode, info, &file));
  if (info != MPI_INFO_NULL) MPI_Info_free(&info);
  return file;
}

// How often every rank together hit `failpoint` while running `io`.
int hits_during(const char *failpoint, const std::function<void()> &io) {
  int mine = 0;
  pdm::failpoint::arm_every(failpoint, [&mine] { ++mine; });
  io();
  pdm::failpoint::disarm();
  int all = 0;
  MPI_Allreduce(&mine, &all, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  return all;
}

// Every rank reads the whole file with plain independent reads and checks the pattern.
void check_whole_file(const char *path, MPI_Offset size) {
  MPI_File file = open_with(path, MPI_MODE_RDONLY, nullptr, nullptr);
  std::vector<char> all(static_cast<std::size_t>(size));
  MPI_Status status;
  CHECK_MPI(MPI_File_read_at(file, 0, all.data(), static_cast<int>(size), MPI_BYTE, &status));
  int count = -1;
  MPI_Get_count(&status, MPI_BYTE, &count);
  CHECK(count == size);
  for (MPI_Offset at = 0; at < size; ++at)
    CHECK(all[static_cast<std::size_t>(at)] == expected_at(at));
  CHECK_MPI(MPI_File_close(&file));
}

MPI_Offset interleaved_size() {
  return static_cast<MPI_Offset>(kPieces) * kPiece * ranks();
}

// Writes the interleaved pattern with MPI_File_write_all; returns the runs aggregators wrote.
int write_interleaved(const char *path, const char *cb_write) {
  MPI_File file = open_with(path, MPI_MODE_CREATE | MPI_MODE_WRONLY,
                            cb_write ? "romio_cb_write" : nullptr, cb_write);
  set_interleaved_view(file);
  const std::vector<char> stream = my_stream();
  const int runs = hits_during("mpiio.aggregator_write", [&] {
    MPI_Status status;
    CHECK_MPI(MPI_File_write_all(file, stream.data(), kPieces * kPiece, MPI_BYTE, &status));
    int count = -1;
    MPI_Get_count(&status, MPI_BYTE, &count);
    CHECK(count == kPieces * kPiece);
  });
  MPI_Offset position = -1;
  CHECK_MPI(MPI_File_get_position(file, &position));
  CHECK(position == kPieces * kPiece);
  CHECK_MPI(MPI_File_close(&file));
  return runs;
}

void writes_coalesce() {
  const int automatic = write_interleaved("pdm:/cb-automatic", nullptr);
  CHECK(automatic >= 1 && automatic <= ranks());
  check_whole_file("pdm:/cb-automatic", interleaved_size());

  CHECK(write_interleaved("pdm:/cb-disabled", "disable") == 0);
  check_whole_file("pdm:/cb-disabled", interleaved_size());
}

void strided_memory_is_packed() {
  // The same stream from a buffer that holds each piece between two gaps.
  MPI_File file = open_with("pdm:/cb-strided-memory", MPI_MODE_CREATE | MPI_MODE_WRONLY,
                            "romio_cb_write", "enable");
  set_interleaved_view(file);
  const std::vector<char> stream = my_stream();
  std::vector<char> gappy(stream.size() * 2, 'X');
  for (int k = 0; k < kPieces; ++k) {
    std::memcpy(gappy.data() + 2 * k * kPiece, stream.data() + k * kPiece, kPiece);
  }
  MPI_Datatype spaced = MPI_DATATYPE_NULL;
  CHECK_MPI(MPI_Type_vector(kPieces, kPiece, 2 * kPiece, MPI_BYTE, &spaced));
  CHECK_MPI(MPI_Type_commit(&spaced));
  const int runs = hits_during("mpiio.aggregator_write", [&] {
    CHECK_MPI(MPI_File_write_at_all(file, 0, gappy.data(), 1, spaced, MPI_STATUS_IGNORE));
  });
  CHECK(runs >= 1 && runs <= ranks());
  MPI_Type_free(&spaced);
  CHECK_MPI(MPI_File_close(&file));
  check_whole_file("pdm:/cb-strided-memory", interleaved_size());
}

// Each rank writes one contiguous block of its own: nothing interleaves.
int write_blocks(const char *path, const char *cb_write) {
  MPI_File file = open_with(path, MPI_MODE_CREATE | MPI_MODE_WRONLY,
                            cb_write ? "romio_cb_write" : nullptr, cb_write);
  const int block = kPieces * kPiece;
  std::vector<char> mine(static_cast<std::size_t>(block));
  const MPI_Offset start = static_cast<MPI_Offset>(rank()) * block;
  for (int i = 0; i < block; ++i) mine[static_cast<std::size_t>(i)] = expected_at(start + i);
  const int runs = hits_during("mpiio.aggregator_write", [&] {
    CHECK_MPI(MPI_File_write_at_all(file, start, mine.data(), block, MPI_BYTE, MPI_STATUS_IGNORE));
  });
  CHECK_MPI(MPI_File_close(&file));
  check_whole_file(path, interleaved_size());
  return runs;
}

void only_interleaved_accesses_aggregate_automatically() {
  CHECK(write_blocks("pdm:/cb-blocks-automatic", nullptr) == 0);
  const int enabled = write_blocks("pdm:/cb-blocks-enabled", "enable");
  CHECK(enabled >= 1 && enabled <= ranks());
}

// Reads this rank's interleaved pieces collectively; returns the bytes read.
int read_interleaved(const char *cb_read, int *aggregated_reads, std::vector<char> &got) {
  MPI_File file =
      open_with("pdm:/cb-automatic", MPI_MODE_RDONLY, cb_read ? "romio_cb_read" : nullptr, cb_read);
  set_interleaved_view(file);
  got.assign(kPieces * kPiece, 0);
  int count = -1;
  *aggregated_reads = hits_during("mpiio.aggregator_read", [&] {
    MPI_Status status;
    CHECK_MPI(MPI_File_read_at_all(file, 0, got.data(), kPieces * kPiece, MPI_BYTE, &status));
    MPI_Get_count(&status, MPI_BYTE, &count);
  });
  CHECK_MPI(MPI_File_close(&file));
  return count;
}

void reads_aggregate() {
  std::vector<char> got;
  int reads = -1;
  CHECK(read_interleaved(nullptr, &reads, got) == kPieces * kPiece);
  CHECK(reads >= 1 && reads <= ranks());
  CHECK(got == my_stream());
  CHECK(read_interleaved("disable", &reads, got) == kPieces * kPiece);
  CHECK(reads == 0);
  CHECK(got == my_stream());
}

void reads_stop_at_the_end_of_the_file() {
  // Cut the file inside piece 40 of rank 2's column: rank r gets its whole
  // pieces before the end, and rank 2 a part of piece 40 too.
  const MPI_Offset end = (40LL * ranks() + 2) * kPiece + 100;
  MPI_File file = open_with("pdm:/cb-automatic", MPI_MODE_RDWR, nullptr, nullptr);
  CHECK_MPI(MPI_File_set_size(file, end));
  CHECK_MPI(MPI_File_close(&file));
  MPI_Offset expected = 0;
  for (int k = 0; k < kPieces; ++k) {
    const MPI_Offset at = (static_cast<MPI_Offset>(k) * ranks() + rank()) * kPiece;
    const MPI_Offset valid = end - at < 0 ? 0 : (end - at < kPiece ? end - at : kPiece);
    expected += valid;
    if (valid < kPiece) break;
  }
  std::vector<char> got;
  int reads = -1;
  CHECK(read_interleaved("enable", &reads, got) == expected);
  CHECK(reads >= 1);
  const std::vector<char> stream = my_stream();
  CHECK(std::memcmp(got.data(), stream.data(), static_cast<std::size_t>(expected)) == 0);
  CHECK(read_interleaved("disable", &reads, got) == expected);
}

void a_bad_request_fails_alone() {
  // etype MPI_INT: rank 1's 3 bytes are not a whole number of etypes.
  MPI_File file =
      open_with("pdm:/cb-bad-request", MPI_MODE_CREATE | MPI_MODE_RDWR, "romio_cb_write", "enable");
  CHECK_MPI(MPI_File_set_view(file, 0, MPI_INT, MPI_INT, "native", MPI_INFO_NULL));
  std::vector<char> mine(kPiece, static_cast<char>('0' + rank()));
  const int bytes = rank() == 1 ? 3 : kPiece;
  const int rc = MPI_File_write_at_all(file, rank() * (kPiece / 4), mine.data(), bytes, MPI_BYTE,
                                       MPI_STATUS_IGNORE);
  CHECK((rc != MPI_SUCCESS) == (rank() == 1));
  CHECK_MPI(MPI_File_close(&file));
  // The others' bytes landed.
  file = open_with("pdm:/cb-bad-request", MPI_MODE_RDONLY, nullptr, nullptr);
  const int neighbour = (rank() + 1) % ranks();
  std::vector<char> theirs(kPiece, 0);
  CHECK_MPI(MPI_File_read_at(file, static_cast<MPI_Offset>(neighbour) * kPiece, theirs.data(),
                             kPiece, MPI_BYTE, MPI_STATUS_IGNORE));
  if (neighbour != 1) {
    CHECK(theirs == std::vector<char>(kPiece, static_cast<char>('0' + neighbour)));
  }
  CHECK_MPI(MPI_File_close(&file));
}

// Rank 0 (always an aggregator: its domain starts the file) fails its part
// of one collective write, then of one collective read (the failpoint fires
// once): every rank's call fails with MPI_ERR_IO, and the same call again
// works and moves the right bytes.
void an_aggregator_failure_fails_every_rank() {
  const char *path = "pdm:/cb-aggregator-fails";
  const std::vector<char> stream = my_stream();
  for (const char *failpoint : {"mpiio.aggregator_write_error", "mpiio.aggregator_read_error"}) {
    const bool writing = std::strcmp(failpoint, "mpiio.aggregator_write_error") == 0;
    MPI_File file = open_with(path, MPI_MODE_CREATE | MPI_MODE_RDWR,
                              writing ? "romio_cb_write" : "romio_cb_read", "enable");
    set_interleaved_view(file);
    std::vector<char> got(stream.size(), 0);
    auto call = [&] {
      return writing ? MPI_File_write_at_all(file, 0, stream.data(), kPieces * kPiece, MPI_BYTE,
                                             MPI_STATUS_IGNORE)
                     : MPI_File_read_at_all(file, 0, got.data(), kPieces * kPiece, MPI_BYTE,
                                            MPI_STATUS_IGNORE);
    };
    if (rank() == 0) pdm::failpoint::arm(failpoint, [] {});
    const int rc = call();
    pdm::failpoint::disarm();
    int error_class = MPI_SUCCESS;
    MPI_Error_class(rc, &error_class);
    CHECK(error_class == MPI_ERR_IO);
    CHECK_MPI(call());
    if (!writing) CHECK(got == stream);
    CHECK_MPI(MPI_File_close(&file));
    if (writing) check_whole_file(path, interleaved_size());
  }
}

}  // namespace

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  MPI_File_set_errhandler(MPI_FILE_NULL, MPI_ERRORS_RETURN);
  CHECK(ranks() >= 2);
  writes_coalesce();
  strided_memory_is_packed();
  only_interleaved_accesses_aggregate_automatically();
  reads_aggregate();
  reads_stop_at_the_end_of_the_file();
  a_bad_request_fails_alone();
  an_aggregator_failure_fails_every_rank();
  MPI_Finalize();
  return 0;
}

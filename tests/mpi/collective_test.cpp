// The runtime's collective helpers (runtime/mpi/collective.h) under 4 ranks:
// wait_bulk_request delivers a bulk exchange whole whether it finishes in
// its yielding phase or in the backoff that follows, agree gives every rank
// the lowest failing rank's error, broadcast_from_root gives every rank
// rank 0's bytes or error, and PendingDup makes a working duplicate (or
// frees one never taken).
#include <gtest/gtest.h>
#include <mpi.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "runtime/mpi/collective.h"
#include "runtime/mpi/comm.h"

namespace pdm::mpi {
namespace {

Comm world() {
  auto comm = Comm::dup(MPI_COMM_WORLD);
  EXPECT_TRUE(comm.ok());
  return std::move(comm).value();
}

// The byte rank `from` sends rank `to` at index i.
std::byte byte_of(int from, int to, std::size_t i) {
  return static_cast<std::byte>((from * 7 + to * 13 + i * 31 + i / 251) & 0xff);
}

// An MPI_Ialltoallv of `bytes` per pair of ranks, waited on with
// wait_bulk_request(yielding); true if every rank got every byte.
bool exchange(const Comm &comm, std::size_t bytes, std::chrono::microseconds yielding) {
  const auto n = static_cast<std::size_t>(comm.size());
  std::vector<std::byte> out(bytes * n), in(bytes * n, std::byte{0});
  std::vector<int> counts(n, static_cast<int>(bytes)), displs(n);
  for (std::size_t r = 0; r < n; ++r) {
    displs[r] = static_cast<int>(r * bytes);
    for (std::size_t i = 0; i < bytes; ++i) {
      out[r * bytes + i] = byte_of(comm.rank(), static_cast<int>(r), i);
    }
  }
  MPI_Request request = MPI_REQUEST_NULL;
  EXPECT_EQ(MPI_Ialltoallv(out.data(), counts.data(), displs.data(), MPI_BYTE, in.data(),
                           counts.data(), displs.data(), MPI_BYTE, comm.get(), &request),
            MPI_SUCCESS);
  Status waited = wait_bulk_request(request, "MPI_Ialltoallv", yielding);
  EXPECT_TRUE(waited.ok()) << waited.error().message;
  for (std::size_t r = 0; r < n; ++r) {
    for (std::size_t i = 0; i < bytes; ++i) {
      if (in[r * bytes + i] != byte_of(static_cast<int>(r), comm.rank(), i)) return false;
    }
  }
  return true;
}

// Without a yielding phase the wait goes straight to wait_request's backoff
// (4 MiB per pair does not finish at the first MPI_Test); with one, the
// exchange finishes while it yields. Either way the bytes arrive whole.
TEST(Collective, ABulkExchangeArrivesWholeAfterYieldingOrBackingOff) {
  Comm comm = world();
  for (auto yielding : {std::chrono::microseconds(0), std::chrono::microseconds(20000)}) {
    SCOPED_TRACE(yielding.count());
    EXPECT_TRUE(exchange(comm, 4 << 20, yielding));
    EXPECT_TRUE(exchange(comm, 1, yielding));
  }
}

TEST(Collective, EveryRankGetsTheLowestFailingRanksError) {
  Comm comm = world();
  Status mine;
  if (comm.rank() == 2) mine = make_error(ENOSPC, "rank two is full");
  if (comm.rank() == 3) mine = make_error(EIO, "rank three broke");
  Status agreed = agree(comm, mine);
  ASSERT_FALSE(agreed.ok());
  EXPECT_EQ(agreed.error().code, ENOSPC);
  EXPECT_NE(agreed.error().message.find("rank two is full"), std::string::npos)
      << agreed.error().message;
  EXPECT_TRUE(agree(comm, Status{}).ok()) << "nobody failed";
}

// Few bytes (one broadcast), more than the first block holds (two), none,
// and an error, whose code and message reach every rank; what the other
// ranks pass is ignored.
TEST(Collective, EveryRankGetsRankZerosBytesOrError) {
  Comm comm = world();
  for (std::size_t length : {std::size_t{0}, std::size_t{10}, std::size_t{1000}, std::size_t{1009},
                             std::size_t{100000}}) {
    SCOPED_TRACE(length);
    std::vector<std::byte> bytes(length);
    for (std::size_t i = 0; i < length; ++i) bytes[i] = byte_of(0, 1, i);
    Result<std::vector<std::byte>> mine = std::vector<std::byte>(3, std::byte{0x77});
    if (comm.rank() == 0) mine = bytes;
    auto got = broadcast_from_root(comm, std::move(mine));
    ASSERT_TRUE(got.ok()) << got.error().message;
    EXPECT_EQ(*got, bytes);
  }
  const std::string text(3000, 'e');  // longer than the first block
  Result<std::vector<std::byte>> failed = make_error(EEXIST, "{}", text);
  if (comm.rank() != 0) failed = std::vector<std::byte>(5);
  auto got = broadcast_from_root(comm, std::move(failed));
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().code, EEXIST);
  EXPECT_EQ(got.error().message, text);
}

TEST(Collective, APendingDuplicateWorksOnceFinishedAndIsFreedIfNot) {
  {
    auto dropped = PendingDup::start(MPI_COMM_WORLD);
    ASSERT_TRUE(dropped.ok()) << dropped.error().message;
  }  // never finished: waited for and freed
  auto pending = PendingDup::start(MPI_COMM_WORLD);
  ASSERT_TRUE(pending.ok()) << pending.error().message;
  auto dup = pending->finish();
  ASSERT_TRUE(dup.ok()) << dup.error().message;
  EXPECT_EQ(pending->finish().error().code, EINVAL) << "taken twice";
  int world_rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &world_rank);
  EXPECT_EQ(dup->rank(), world_rank);
  int sum = 0;
  const int one = 1;
  ASSERT_EQ(MPI_Allreduce(&one, &sum, 1, MPI_INT, MPI_SUM, dup->get()), MPI_SUCCESS);
  EXPECT_EQ(sum, dup->size());
}

}  // namespace
}  // namespace pdm::mpi

// The runtime's collective helpers (runtime/mpi/collective.h) under 4 ranks:
// wait_bulk_request delivers a bulk exchange whole whether it finishes in
// its yielding phase or in the backoff that follows, and agree gives every
// rank the lowest failing rank's error.
#include <gtest/gtest.h>
#include <mpi.h>

#include <chrono>
#include <cstdint>
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

}  // namespace
}  // namespace pdm::mpi

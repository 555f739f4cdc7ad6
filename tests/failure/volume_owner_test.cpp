// A volume owner (rank 3) is SIGKILLed in the middle of large parallel
// writes to one shared file (issue #4; DESIGN.md §7, volume failover, which no
// claim of CLAIMS.md covers by itself). With
// io.direct=off (ctest sets PDM_IO_DIRECT) every write to volume 3 goes
// through its owner, so some are in flight when it dies. The survivors'
// writes must all complete (the requests lost with the owner are re-sent to
// the volume's new owner in the next view), and afterwards every survivor
// reads back every survivor's segment with the same checksum and bytes as
// were written: no completed write lost, none torn.
//
// Built with PDM_READS=1 (failure_volume_owner_reads), the same kill cuts
// strided reads instead: every rank first writes its segment; then the
// survivors read pieces of every segment (FileSystem::pread_extents, one
// kReadRanges request per volume) across the death, and every read returns
// the bytes written (the ranges lost with the owner are asked again of the
// volume's new owner).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <mpi.h>
#include <pdm/pdm.h>

#include <chrono>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "pfs/client/file_system.h"
#include "runtime/node/process_node.h"
#include "tests/failure/failure_support.h"

namespace pdm::failure_test {
namespace {

constexpr int kVictim = 3;
constexpr std::size_t kTransfer = 256 << 10;  // over all 4 volumes (64 KiB stripes)
// Each survivor writes until it has seen the view change and kAfter more
// transfers, so writes are in flight across the death and the view change
// whatever the timing; kMaxTransfers bounds its segment.
constexpr std::size_t kAfter = 8;
constexpr std::size_t kMaxTransfers = 400;
constexpr std::size_t kSegment = kTransfer * kMaxTransfers;

// The bytes rank `rank` writes at `offset` of its segment: different for
// every rank and every position, so a misplaced or stale block shows.
void fill(std::vector<std::uint8_t> &buffer, int rank, std::size_t offset) {
  for (std::size_t i = 0; i < buffer.size(); i += 8) {
    const std::uint64_t word = (static_cast<std::uint64_t>(rank) << 56) ^ (offset + i) * 0x9E37;
    for (std::size_t b = 0; b < 8 && i + b < buffer.size(); ++b) {
      buffer[i + b] = static_cast<std::uint8_t>(word >> (8 * b));
    }
  }
}

#if !PDM_READS
TEST(VolumeFailure, VolumeOwnerKilledDuringLargeParallelWritesLosesNoWrite) {
  if (world_rank() == 0) {
    const int fd = pdm_open("/big", O_CREAT | O_WRONLY, 0640);
    ASSERT_GE(fd, 0) << pdm_last_error();
    ASSERT_EQ(pdm_close(fd), 0);
  }
  MPI_Comm live = world_rank() == kVictim ? MPI_COMM_NULL : survivors({kVictim});
  MPI_Barrier(MPI_COMM_WORLD);
  if (world_rank() == kVictim) {
    // Die once rank 0 is a few transfers in (the others write meanwhile).
    int go = 0;
    MPI_Recv(&go, 1, MPI_INT, 0, 99, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    die();
  }

  const int me = world_rank();
  const int fd = pdm_open("/big", O_WRONLY, 0);
  ASSERT_GE(fd, 0) << pdm_last_error();
  std::vector<std::uint8_t> buffer(kTransfer);
  XXH64_hash_t written = 0;
  auto &membership = node::process_node()->membership();
  std::size_t transfers = 0;
  std::size_t after_view_change = 0;
  while (after_view_change < kAfter) {
    ASSERT_LT(transfers, kMaxTransfers) << "no view change while writing " << kSegment << " bytes";
    if (me == 0 && transfers == 4) {
      const int go = 1;
      MPI_Send(&go, 1, MPI_INT, kVictim, 99, MPI_COMM_WORLD);
    }
    const std::size_t t = transfers++;
    if (membership.current()->epoch() >= 2) ++after_view_change;
    fill(buffer, me, t * kTransfer);
    written ^= XXH64(buffer.data(), buffer.size(), t);
    const auto offset = static_cast<off_t>(static_cast<std::size_t>(me) * kSegment + t * kTransfer);
    ASSERT_EQ(pdm_pwrite(fd, buffer.data(), buffer.size(), offset),
              static_cast<ssize_t>(buffer.size()))
        << "transfer " << t << ": " << pdm_last_error();
  }
  EXPECT_EQ(pdm_fsync(fd), 0) << pdm_last_error();
  EXPECT_EQ(pdm_close(fd), 0);
  EXPECT_FALSE(membership.current()->is_live(kVictim));
  MPI_Barrier(live);

  // Every survivor checks every survivor's segment: checksums and bytes.
  std::vector<XXH64_hash_t> expected(3);
  MPI_Allgather(&written, 1, MPI_UINT64_T, expected.data(), 1, MPI_UINT64_T, live);
  std::vector<std::uint64_t> counts(3);
  const std::uint64_t mine = transfers;
  MPI_Allgather(&mine, 1, MPI_UINT64_T, counts.data(), 1, MPI_UINT64_T, live);
  const int rd = pdm_open("/big", O_RDONLY, 0);
  ASSERT_GE(rd, 0) << pdm_last_error();
  std::vector<std::uint8_t> want(kTransfer);
  for (int rank = 0; rank < 3; ++rank) {
    XXH64_hash_t got = 0;
    std::size_t wrong_blocks = 0;
    for (std::size_t t = 0; t < counts[static_cast<std::size_t>(rank)]; ++t) {
      const auto offset =
          static_cast<off_t>(static_cast<std::size_t>(rank) * kSegment + t * kTransfer);
      ASSERT_EQ(pdm_pread(rd, buffer.data(), buffer.size(), offset),
                static_cast<ssize_t>(buffer.size()))
          << pdm_last_error();
      got ^= XXH64(buffer.data(), buffer.size(), t);
      fill(want, rank, t * kTransfer);
      if (buffer != want) ++wrong_blocks;
    }
    EXPECT_EQ(got, expected[static_cast<std::size_t>(rank)]) << "segment of rank " << rank;
    EXPECT_EQ(wrong_blocks, 0u) << "segment of rank " << rank;
  }
  EXPECT_EQ(pdm_close(rd), 0);
  MPI_Barrier(live);
}

#else
// Each read takes kPieces pieces of kPiece bytes, one every 2 x kPiece, out of
// a transfer of one segment: pieces on all four volumes, in one request each.
constexpr std::size_t kPiece = 4 << 10;
constexpr std::size_t kPieces = kTransfer / (2 * kPiece);
constexpr std::size_t kWritten = 16;  // transfers each rank writes first
constexpr auto kReadLimit = std::chrono::seconds(60);

TEST(VolumeFailure, VolumeOwnerKilledDuringStridedReadsLosesNoRead) {
  const int me = world_rank();
  if (me == 0) {
    const int fd = pdm_open("/big", O_CREAT | O_WRONLY, 0640);
    ASSERT_GE(fd, 0) << pdm_last_error();
    ASSERT_EQ(pdm_close(fd), 0);
  }
  MPI_Barrier(MPI_COMM_WORLD);
  {
    const int fd = pdm_open("/big", O_WRONLY, 0);
    ASSERT_GE(fd, 0) << pdm_last_error();
    std::vector<std::uint8_t> buffer(kTransfer);
    for (std::size_t t = 0; t < kWritten; ++t) {
      fill(buffer, me, t * kTransfer);
      const auto offset =
          static_cast<off_t>(static_cast<std::size_t>(me) * kSegment + t * kTransfer);
      ASSERT_EQ(pdm_pwrite(fd, buffer.data(), buffer.size(), offset),
                static_cast<ssize_t>(buffer.size()))
          << pdm_last_error();
    }
    ASSERT_EQ(pdm_fsync(fd), 0) << pdm_last_error();
    ASSERT_EQ(pdm_close(fd), 0);
  }
  MPI_Comm live = me == kVictim ? MPI_COMM_NULL : survivors({kVictim});
  MPI_Barrier(MPI_COMM_WORLD);
  if (me == kVictim) {
    int go = 0;
    MPI_Recv(&go, 1, MPI_INT, 0, 99, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    die();
  }

  auto &fs = node::process_node()->fs();
  auto &membership = node::process_node()->membership();
  auto fd = fs.open("/big", O_RDONLY, 0);
  ASSERT_TRUE(fd.ok()) << fd.error().message;
  std::vector<std::uint8_t> got(kPieces * kPiece);
  std::vector<std::uint8_t> want(kPiece);
  std::vector<pfs::ByteRange> extents(kPieces);
  const auto deadline = std::chrono::steady_clock::now() + kReadLimit;
  std::size_t reads = 0;
  std::size_t after_view_change = 0;
  std::size_t wrong_pieces = 0;
  while (after_view_change < kAfter) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline)
        << "no view change in " << reads << " reads";
    if (me == 0 && reads == 4) {
      const int go = 1;
      MPI_Send(&go, 1, MPI_INT, kVictim, 99, MPI_COMM_WORLD);
    }
    if (membership.current()->epoch() >= 2) ++after_view_change;
    // Every rank's segment in turn, the victim's too (its bytes are on the
    // shared volumes), and a different transfer each time.
    const std::size_t read = reads++;
    const int writer = static_cast<int>(read % 4);
    const std::size_t at = static_cast<std::size_t>(writer) * kSegment +
                           (read / 4 % kWritten) * kTransfer +
                           (read % 2) * kPiece;  // the even or the odd pieces
    for (std::size_t k = 0; k < kPieces; ++k) extents[k] = {at + 2 * k * kPiece, kPiece};
    auto n = fs.pread_extents(*fd, extents, std::as_writable_bytes(std::span(got)));
    ASSERT_TRUE(n.ok()) << "read " << read << ": " << n.error().message;
    ASSERT_EQ(*n, got.size()) << "read " << read;
    for (std::size_t k = 0; k < kPieces; ++k) {
      const std::size_t in_segment =
          extents[k].offset - static_cast<std::size_t>(writer) * kSegment;
      fill(want, writer, in_segment);
      if (std::memcmp(got.data() + k * kPiece, want.data(), kPiece) != 0) ++wrong_pieces;
    }
  }
  EXPECT_EQ(wrong_pieces, 0u) << "of " << reads * kPieces << " pieces read";
  EXPECT_TRUE(fs.close(*fd).ok());
  EXPECT_FALSE(membership.current()->is_live(kVictim));
  MPI_Barrier(live);
}
#endif

}  // namespace
}  // namespace pdm::failure_test

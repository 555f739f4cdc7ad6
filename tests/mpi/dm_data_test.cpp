// The DMAPI's data operations under 4 ranks, through FileSystem (the C API
// is pinned by tests/dmapi/dmapi_regions.c): dm_punch_hole frees space on
// the volumes (CLAIMS.md B16), and reads racing with punches on another rank
// return the file's bytes or EIO, never the zeros a punch leaves.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <pdm/pdm.h>

#include <numeric>
#include <string>
#include <vector>

#include "runtime/node/process_node.h"
#include "tests/mpi/fs_fixture.h"

namespace pdm::test {
namespace {

const auto *const kEnv = ::testing::AddGlobalTestEnvironment(new FileSystemEnvironment(64 * 1024));

pfs::FileSystem &fs() {
  return node::process_node()->fs();
}

std::string test_path(const std::string &leaf) {
  const auto *info = ::testing::UnitTest::GetInstance()->current_test_info();
  return "/" + std::string(info->name()) + "-" + leaf;
}

void write_file(const std::string &path, std::uint64_t id, std::size_t length) {
  int fd = pdm_open(path.c_str(), O_CREAT | O_TRUNC | O_WRONLY, 0644);
  ASSERT_GE(fd, 0) << pdm_last_error();
  const auto data = pattern(id, 0, length);
  ASSERT_EQ(pdm_pwrite(fd, data.data(), data.size(), 0), static_cast<ssize_t>(length))
      << pdm_last_error();
  ASSERT_EQ(pdm_fsync(fd), 0);
  ASSERT_EQ(pdm_close(fd), 0);
}

std::uint64_t object_bytes() {
  auto usage = fs().volume_usage();
  EXPECT_TRUE(usage.ok()) << usage.error().message;
  if (!usage.ok()) return 0;
  return std::accumulate(
      usage->begin(), usage->end(), std::uint64_t{0},
      [](std::uint64_t sum, const pfs::VolumeUsage &u) { return sum + u.object_bytes; });
}

// B16: the space a punch frees shows in the volumes' usage (what `pdm df`
// prints), both for a range inside the file (holes in the objects) and to
// the end of the file (the objects are truncated).
TEST(DmData, PunchHoleFreesSpaceOnTheVolumes) {
  constexpr std::size_t kSize = 4u << 20;
  const std::string path = test_path("f");
  bool ok = true;
  if (rank() == 0) {
    write_file(path, 3, kSize);
    auto inode = fs().stat(path);
    ASSERT_TRUE(inode.ok());
    const std::uint64_t before = object_bytes();
    ASSERT_GE(before, kSize);
    ASSERT_TRUE(fs().punch_hole(inode->ino, inode->generation, 1u << 20, 1u << 20).ok());
    const std::uint64_t middle = object_bytes();
    EXPECT_LE(middle, before - (1u << 20)) << "a 1 MiB hole frees 1 MiB";
    ASSERT_TRUE(fs().punch_hole(inode->ino, inode->generation, 2u << 20, 0).ok());
    const std::uint64_t after = object_bytes();
    EXPECT_LE(after, middle - (2u << 20)) << "punching the last 2 MiB frees them";
    auto size = fs().stat(path);
    ASSERT_TRUE(size.ok());
    EXPECT_EQ(size->size, kSize) << "a punch keeps the size";
    ok = !::testing::Test::HasFailure();
  }
  ASSERT_TRUE(all(ok));
  // Every rank: the released ranges fail, the rest reads back.
  int fd = pdm_open(path.c_str(), O_RDONLY, 0);
  ASSERT_GE(fd, 0) << pdm_last_error();
  std::vector<std::byte> buffer(4096);
  EXPECT_EQ(pdm_pread(fd, buffer.data(), buffer.size(), 0), 4096);
  EXPECT_EQ(buffer, pattern(3, 0, 4096));
  EXPECT_EQ(pdm_pread(fd, buffer.data(), buffer.size(), 1u << 20), -1);
  EXPECT_EQ(errno, EIO);
  EXPECT_EQ(pdm_pread(fd, buffer.data(), buffer.size(), (3u << 20) + 5), -1);
  EXPECT_EQ(errno, EIO);
  EXPECT_EQ(pdm_close(fd), 0);
  ASSERT_TRUE(all(!::testing::Test::HasFailure()));
}

// B16: a read of several ranges (FileSystem::pread_extents, the MPI-IO
// shim's strided reads) over a file with released bytes and no managed
// region fails with EIO when a range touches them, as a pread of that range
// would; ranges around them, even with released bytes between them, read
// back. With the file's DM state cached and fetched afresh (each read twice).
TEST(DmData, AReadOfSeveralRangesFailsOnlyIfARangeTouchesReleasedBytesB16) {
  constexpr std::size_t kSize = 1u << 20;
  constexpr std::uint64_t kHole = 256u << 10;  // [kHole, 2 x kHole) is released
  const std::string path = test_path("f");
  bool ok = true;
  if (rank() == 0) {
    write_file(path, 5, kSize);
    auto inode = fs().stat(path);
    ASSERT_TRUE(inode.ok());
    ASSERT_TRUE(fs().punch_hole(inode->ino, inode->generation, kHole, kHole).ok());
    ok = !::testing::Test::HasFailure();
  }
  ASSERT_TRUE(all(ok));
  int fd = pdm_open(path.c_str(), O_RDONLY, 0);
  ASSERT_GE(fd, 0) << pdm_last_error();
  auto read = [&](const std::vector<pfs::ByteRange> &extents) {
    std::size_t total = 0;
    for (const auto &e : extents) total += e.length;
    std::vector<std::byte> got(total);
    auto n = fs().pread_extents(fd, extents, got);
    std::vector<std::byte> expected;
    for (const auto &e : extents) {
      const auto piece = pattern(5, e.offset, e.length);
      expected.insert(expected.end(), piece.begin(), piece.end());
    }
    if (n.ok()) {
      EXPECT_EQ(got, expected);
    }
    return n;
  };
  const std::vector<pfs::ByteRange> around{{0, 100}, {2 * kHole + 10, 100}, {5000, 100}};
  const std::vector<pfs::ByteRange> into{{0, 100}, {kHole + 10, 100}, {3 * kHole, 100}};
  const std::vector<pfs::ByteRange> ending_in{{0, 100}, {kHole - 50, 100}};
  for (int pass = 0; pass < 2; ++pass) {
    auto n = read(around);
    ASSERT_TRUE(n.ok()) << n.error().message;
    EXPECT_EQ(*n, 300u);
    for (const auto *extents : {&into, &ending_in}) {
      auto failed = read(*extents);
      ASSERT_FALSE(failed.ok()) << "a range over released bytes read " << *failed << " bytes";
      EXPECT_EQ(failed.error().code, EIO) << failed.error().message;
    }
  }
  EXPECT_EQ(pdm_close(fd), 0);
  ASSERT_TRUE(all(!::testing::Test::HasFailure()));
}

// "A read of a punched range never returns silent zeros", also while the
// punch happens: rank 0 punches 8 ranges one after the other while ranks
// 1-3, which have the file open and its state cached, read it over and
// over; every read returns exactly the file's bytes or fails with EIO.
TEST(DmData, ReadsRacingWithPunchesNeverReturnZeros) {
  constexpr std::size_t kChunk = 512 * 1024;
  constexpr int kChunks = 8;
  const std::string path = test_path("race");
  if (rank() == 0) write_file(path, 5, kChunk * kChunks);
  ASSERT_TRUE(all(!::testing::Test::HasFailure()));
  int fd = pdm_open(path.c_str(), O_RDONLY, 0);
  ASSERT_GE(fd, 0) << pdm_last_error();
  std::vector<std::byte> buffer(kChunk * kChunks);
  ASSERT_EQ(pdm_pread(fd, buffer.data(), buffer.size(), 0), static_cast<ssize_t>(buffer.size()));
  ASSERT_TRUE(all(true));
  if (rank() == 0) {
    auto inode = fs().stat(path);
    ASSERT_TRUE(inode.ok());
    for (int c = 0; c < kChunks; ++c) {
      ASSERT_TRUE(fs().punch_hole(inode->ino, inode->generation, c * kChunk, kChunk).ok());
    }
  } else {
    // Whole-file reads (each takes about as long as a punch's round trips)
    // until the last chunk is released: reads start before, during and
    // after each punch.
    const auto expected = pattern(5, 0, buffer.size());
    for (int i = 0; i < 1000; ++i) {
      const ssize_t n = pdm_pread(fd, buffer.data(), buffer.size(), 0);
      if (n < 0) {
        ASSERT_EQ(errno, EIO) << pdm_last_error();
        std::vector<std::byte> last(kChunk);
        if (pdm_pread(fd, last.data(), kChunk, (kChunks - 1) * kChunk) < 0) break;
        continue;
      }
      ASSERT_EQ(n, static_cast<ssize_t>(buffer.size()));
      ASSERT_EQ(buffer, expected) << "read " << i;
    }
  }
  ASSERT_TRUE(all(!::testing::Test::HasFailure()));
  // Afterwards every chunk is released everywhere.
  for (int c = 0; c < kChunks; ++c) {
    EXPECT_EQ(pdm_pread(fd, buffer.data(), kChunk, static_cast<off_t>(c * kChunk)), -1);
  }
  EXPECT_EQ(pdm_close(fd), 0);
  ASSERT_TRUE(all(!::testing::Test::HasFailure()));
}

// The same, made certain: rank 1 has the file's state cached and checked,
// and exactly between that check and its data read rank 0 punches the whole
// file (the read window hook). The read must notice (the shrink epoch moved)
// and fail with EIO, not return the zeros the freed blocks now read as.
TEST(DmData, PunchBetweenCheckAndReadIsNoticed) {
  constexpr std::size_t kSize = 256 * 1024;
  const std::string path = test_path("window");
  if (rank() == 0) write_file(path, 6, kSize);
  ASSERT_TRUE(all(!::testing::Test::HasFailure()));
  if (rank() == 1) {
    int fd = pdm_open(path.c_str(), O_RDONLY, 0);
    ASSERT_GE(fd, 0) << pdm_last_error();
    std::vector<std::byte> buffer(kSize);
    ASSERT_EQ(pdm_pread(fd, buffer.data(), kSize, 0), static_cast<ssize_t>(kSize));
    bool first = true;
    fs().set_read_window_hook([&] {
      if (!first) return;
      first = false;
      int token = 0;
      MPI_Send(&token, 1, MPI_INT, 0, 77, MPI_COMM_WORLD);  // "punch now"
      MPI_Recv(&token, 1, MPI_INT, 0, 78, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    });
    const ssize_t n = pdm_pread(fd, buffer.data(), kSize, 0);
    const int error = errno;
    fs().set_read_window_hook(nullptr);
    EXPECT_FALSE(first) << "the hook ran";
    EXPECT_EQ(n, -1) << "the read returned what the punch left";
    EXPECT_EQ(error, EIO);
    EXPECT_EQ(pdm_close(fd), 0);
  } else if (rank() == 0) {
    int token = 0;
    MPI_Recv(&token, 1, MPI_INT, 1, 77, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    auto inode = fs().stat(path);
    EXPECT_TRUE(inode.ok());
    if (inode.ok()) {
      EXPECT_TRUE(fs().punch_hole(inode->ino, inode->generation, 0, 0).ok());
    }
    MPI_Send(&token, 1, MPI_INT, 1, 78, MPI_COMM_WORLD);
  }
  ASSERT_TRUE(all(!::testing::Test::HasFailure()));
}

}  // namespace
}  // namespace pdm::test

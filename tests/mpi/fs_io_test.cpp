// The parallel file system under 4 ranks: striped parallel I/O on one shared
// file and on many files, visibility, namespace operations while others
// read, and the POSIX errno of bad input. Every rank runs every test.
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <pdm/pdm.h>
#include <signal.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <climits>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <numeric>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "pfs/config/volume.h"
#include "pfs/data/data_protocol.h"
#include "runtime/base/failpoint.h"
#include "runtime/mpi/collective.h"
#include "runtime/mpi/typed_rpc.h"
#include "runtime/node/process_node.h"
#include "tests/flag_wait.h"
#include "tests/mpi/fs_fixture.h"

namespace pdm::test {
namespace {

const auto *const kEnv = ::testing::AddGlobalTestEnvironment(new FileSystemEnvironment(64 * 1024));

std::string test_path(const std::string &leaf) {
  const auto *info = ::testing::UnitTest::GetInstance()->current_test_info();
  return "/" + std::string(info->name()) + "-" + leaf;
}

void write_all(int fd, const std::vector<std::byte> &data, off_t offset) {
  ASSERT_EQ(pdm_pwrite(fd, data.data(), data.size(), offset), static_cast<ssize_t>(data.size()))
      << pdm_last_error();
}

std::vector<std::byte> read_all(int fd, std::size_t length, off_t offset) {
  std::vector<std::byte> out(length);
  const ssize_t n = pdm_pread(fd, out.data(), length, offset);
  EXPECT_EQ(n, static_cast<ssize_t>(length)) << pdm_last_error();
  out.resize(n < 0 ? 0 : static_cast<std::size_t>(n));
  return out;
}

// Concurrent writes of disjoint, unaligned ranges of one file from every rank
// are all kept, and every rank reads the whole file back.
TEST(ParallelIo, DisjointWritesToOneSharedFileAreAllKept) {
  const std::string path = test_path("shared");
  if (rank() == 0) {
    int fd = pdm_open(path.c_str(), O_CREAT | O_EXCL | O_RDWR, 0644);
    ASSERT_TRUE(all(fd >= 0)) << pdm_last_error();
    EXPECT_EQ(pdm_close(fd), 0);
  } else {
    ASSERT_TRUE(all(true));
  }
  // Each rank owns blocks r, r+size, ... of 100,003 bytes (crossing stripes).
  constexpr std::size_t kBlock = 100'003;
  constexpr int kBlocksPerRank = 6;
  int fd = pdm_open(path.c_str(), O_RDWR, 0);
  ASSERT_GE(fd, 0) << pdm_last_error();
  for (int b = 0; b < kBlocksPerRank; ++b) {
    const std::uint64_t block = static_cast<std::uint64_t>(b * size() + rank());
    write_all(fd, pattern(7, block * kBlock, kBlock), static_cast<off_t>(block * kBlock));
  }
  MPI_Barrier(MPI_COMM_WORLD);
  const std::size_t total = kBlock * kBlocksPerRank * static_cast<std::size_t>(size());
  struct stat st {};
  ASSERT_EQ(pdm_fstat(fd, &st), 0);
  EXPECT_EQ(static_cast<std::size_t>(st.st_size), total);
  EXPECT_TRUE(read_all(fd, total, 0) == pattern(7, 0, total));
  EXPECT_EQ(pdm_close(fd), 0);
  MPI_Barrier(MPI_COMM_WORLD);
}

// The stripes of a file land on every volume, each volume's share in one
// object file of the expected length.
TEST(ParallelIo, FileIsStripedRoundRobinOverEveryVolume) {
  const std::string path = test_path("striped");
  constexpr std::size_t kStripe = 64 * 1024;
  const std::size_t length = kStripe * kVolumes * 3 + 123;
  if (rank() == 0) {
    int fd = pdm_open(path.c_str(), O_CREAT | O_WRONLY, 0644);
    ASSERT_GE(fd, 0) << pdm_last_error();
    write_all(fd, pattern(8, 0, length), 0);
    struct stat st {};
    ASSERT_EQ(pdm_fstat(fd, &st), 0);
    EXPECT_EQ(pdm_close(fd), 0);
    std::uint64_t on_disk = 0;
    int volumes_used = 0;
    for (const auto &dir : FileSystemEnvironment::volume_dirs()) {
      const std::string object = pfs::object_path(dir, st.st_ino);
      if (!std::filesystem::exists(object)) continue;
      on_disk += std::filesystem::file_size(object);
      ++volumes_used;
    }
    EXPECT_EQ(volumes_used, kVolumes);
    EXPECT_EQ(on_disk, length);
  }
  MPI_Barrier(MPI_COMM_WORLD);
}

// Many files written by every rank are visible to every rank as soon as the
// writes returned (a barrier is the only synchronisation).
TEST(ParallelIo, ManyFilesFromEveryRankAreVisibleEverywhere) {
  const std::string dir = test_path("dir");
  if (rank() == 0) {
    EXPECT_EQ(pdm_mkdir(dir.c_str(), 0755), 0) << pdm_last_error();
  }
  MPI_Barrier(MPI_COMM_WORLD);
  constexpr int kFiles = 40;
  for (int i = 0; i < kFiles; ++i) {
    const int id = rank() * kFiles + i;
    const std::string file = dir + "/f" + std::to_string(id);
    int fd = pdm_open(file.c_str(), O_CREAT | O_EXCL | O_WRONLY, 0644);
    ASSERT_GE(fd, 0) << file << ": " << pdm_last_error();
    write_all(fd, pattern(static_cast<std::uint64_t>(id), 0, 1000 + static_cast<std::size_t>(id)),
              0);
    EXPECT_EQ(pdm_close(fd), 0);
  }
  MPI_Barrier(MPI_COMM_WORLD);
  for (int id = 0; id < kFiles * size(); ++id) {
    const std::string file = dir + "/f" + std::to_string(id);
    int fd = pdm_open(file.c_str(), O_RDONLY, 0);
    ASSERT_GE(fd, 0) << file << ": " << pdm_last_error();
    const std::size_t length = 1000 + static_cast<std::size_t>(id);
    EXPECT_TRUE(read_all(fd, length, 0) == pattern(static_cast<std::uint64_t>(id), 0, length))
        << file;
    EXPECT_EQ(pdm_close(fd), 0);
  }
  PDM_DIR *d = pdm_opendir(dir.c_str());
  ASSERT_NE(d, nullptr) << pdm_last_error();
  std::set<std::string> names;
  while (struct dirent *e = pdm_readdir(d)) names.insert(e->d_name);
  EXPECT_EQ(pdm_closedir(d), 0);
  EXPECT_EQ(names.size(), static_cast<std::size_t>(kFiles * size()));
  MPI_Barrier(MPI_COMM_WORLD);
}

// Unlink and rename while other ranks hold the file open and read it: the
// readers keep reading the whole content (POSIX), and the data is destroyed
// only after the last close.
TEST(Namespace, UnlinkAndRenameWhileOthersReadKeepTheirData) {
  const std::string a = test_path("a");
  const std::string b = test_path("b");
  const std::string c = test_path("c");
  constexpr std::size_t kLength = 300'000;
  if (rank() == 0) {
    for (const auto &p : {a, b}) {
      int fd = pdm_open(p.c_str(), O_CREAT | O_WRONLY, 0644);
      ASSERT_GE(fd, 0);
      write_all(fd, pattern(p == a ? 1 : 2, 0, kLength), 0);
      EXPECT_EQ(pdm_close(fd), 0);
    }
  }
  MPI_Barrier(MPI_COMM_WORLD);
  int fa = pdm_open(a.c_str(), O_RDONLY, 0);
  int fb = pdm_open(b.c_str(), O_RDONLY, 0);
  ASSERT_TRUE(all(fa >= 0 && fb >= 0)) << pdm_last_error();
  struct stat sa {};
  EXPECT_EQ(pdm_fstat(fa, &sa), 0);
  MPI_Barrier(MPI_COMM_WORLD);
  if (rank() == 1) {
    EXPECT_EQ(pdm_unlink(a.c_str()), 0) << pdm_last_error();
  }
  if (rank() == 2 % size()) {
    EXPECT_EQ(pdm_rename(b.c_str(), c.c_str()), 0) << pdm_last_error();
  }
  MPI_Barrier(MPI_COMM_WORLD);
  struct stat st {};
  EXPECT_EQ(pdm_stat(a.c_str(), &st), -1);
  EXPECT_EQ(errno, ENOENT);
  EXPECT_EQ(pdm_stat(c.c_str(), &st), 0);
  EXPECT_TRUE(read_all(fa, kLength, 0) == pattern(1, 0, kLength));
  EXPECT_TRUE(read_all(fb, kLength, 0) == pattern(2, 0, kLength));
  EXPECT_EQ(pdm_close(fa), 0);
  EXPECT_EQ(pdm_close(fb), 0);
  MPI_Barrier(MPI_COMM_WORLD);
  if (rank() == 0) {
    // After the last close the unlinked file's objects are gone.
    for (const auto &dir : FileSystemEnvironment::volume_dirs()) {
      EXPECT_FALSE(std::filesystem::exists(pfs::object_path(dir, sa.st_ino))) << dir;
    }
  }
  MPI_Barrier(MPI_COMM_WORLD);
}

// Truncation from one rank is seen by all; growing exposes zeros, never the
// bytes the file had before it shrank.
TEST(ParallelIo, TruncateShrinksAndGrowsWithZerosForEveryRank) {
  const std::string path = test_path("t");
  constexpr std::size_t kLength = 500'000;
  if (rank() == 0) {
    int fd = pdm_open(path.c_str(), O_CREAT | O_RDWR, 0644);
    ASSERT_GE(fd, 0);
    write_all(fd, pattern(3, 0, kLength), 0);
    EXPECT_EQ(pdm_ftruncate(fd, 70'000), 0) << pdm_last_error();
    EXPECT_EQ(pdm_ftruncate(fd, kLength), 0) << pdm_last_error();
    EXPECT_EQ(pdm_close(fd), 0);
  }
  MPI_Barrier(MPI_COMM_WORLD);
  int fd = pdm_open(path.c_str(), O_RDONLY, 0);
  ASSERT_GE(fd, 0);
  auto got = read_all(fd, kLength, 0);
  auto want = pattern(3, 0, 70'000);
  want.resize(kLength, std::byte{0});
  EXPECT_TRUE(got == want);
  EXPECT_EQ(pdm_close(fd), 0);
  MPI_Barrier(MPI_COMM_WORLD);
}

// Clients cache the sizes they learn, so reads inside them need no metadata
// call; a truncate on one rank must still be seen by every rank's next read
// once it returned: a read of the old length gets the new, shorter length.
TEST(ParallelIo, ShrinkOnOneRankIsSeenByEveryRanksCachedSize) {
  const std::string path = test_path("shrink");
  constexpr std::size_t kLength = 400'000;
  constexpr std::size_t kShrunk = 123'456;
  if (rank() == 0) {
    int fd = pdm_open(path.c_str(), O_CREAT | O_WRONLY, 0644);
    ASSERT_GE(fd, 0);
    write_all(fd, pattern(9, 0, kLength), 0);
    EXPECT_EQ(pdm_close(fd), 0);
  }
  MPI_Barrier(MPI_COMM_WORLD);
  int fd = pdm_open(path.c_str(), O_RDWR, 0);
  ASSERT_GE(fd, 0) << pdm_last_error();
  // Twice: the first read learns the size, the second is served from it.
  EXPECT_TRUE(read_all(fd, kLength, 0) == pattern(9, 0, kLength));
  EXPECT_TRUE(read_all(fd, kLength, 0) == pattern(9, 0, kLength));
  MPI_Barrier(MPI_COMM_WORLD);
  if (rank() == 1 % size()) {
    EXPECT_EQ(pdm_ftruncate(fd, kShrunk), 0) << pdm_last_error();
  }
  MPI_Barrier(MPI_COMM_WORLD);
  std::vector<std::byte> got(kLength);
  EXPECT_EQ(pdm_pread(fd, got.data(), kLength, 0), static_cast<ssize_t>(kShrunk))
      << "a cached size outlived a shrink on rank " << rank();
  got.resize(kShrunk);
  EXPECT_TRUE(got == pattern(9, 0, kShrunk));
  // And growth by another rank's write is seen past the cached size.
  MPI_Barrier(MPI_COMM_WORLD);
  if (rank() == 2 % size()) write_all(fd, pattern(10, 0, 1000), kLength);
  MPI_Barrier(MPI_COMM_WORLD);
  std::vector<std::byte> tail(1000);
  EXPECT_EQ(pdm_pread(fd, tail.data(), tail.size(), kLength), 1000);
  EXPECT_TRUE(tail == pattern(10, 0, 1000));
  EXPECT_EQ(pdm_close(fd), 0);
  MPI_Barrier(MPI_COMM_WORLD);
}

// A write publishes its size and mtime only after its data landed: while
// rank 1's write is held inside its data transfer (a failpoint), every
// other rank still sees the old size and mtime. pdm-hsm depends on it
// (B16, docs/HSM.md): it stats a file, copies it and releases it only if
// the stat did not change meanwhile; a size published before the data
// would let it copy the file without the new bytes and release it.
TEST(ParallelIo, AWritesSizeAndMtimeAreSeenOnlyOnceItsDataLandedB16) {
  const std::string path = test_path("ordered");
  constexpr int kWriter = 1;
  if (rank() == 0) {
    int fd = pdm_open(path.c_str(), O_CREAT | O_EXCL | O_WRONLY, 0644);
    ASSERT_TRUE(all(fd >= 0)) << pdm_last_error();
    write_all(fd, pattern(11, 0, 1000), 0);
    EXPECT_EQ(pdm_close(fd), 0);
  } else {
    ASSERT_TRUE(all(true));
  }
  MPI_Barrier(MPI_COMM_WORLD);  // rank 0's write is done
  struct stat before {};
  ASSERT_EQ(pdm_stat(path.c_str(), &before), 0) << pdm_last_error();
  std::atomic<bool> held{false};
  std::atomic<bool> go_on{false};
  std::thread writer;
  if (rank() == kWriter) {
    failpoint::arm("file_system.write_data", [&] {
      held = true;
      while (!go_on) std::this_thread::yield();
    });
    writer = std::thread([&] {
      int fd = pdm_open(path.c_str(), O_WRONLY, 0);
      ASSERT_GE(fd, 0) << pdm_last_error();
      write_all(fd, pattern(12, 0, 5000), 1000);
      EXPECT_EQ(pdm_close(fd), 0);
    });
    while (!held) std::this_thread::yield();
  }
  MPI_Barrier(MPI_COMM_WORLD);  // rank 1's write is inside its data transfer
  if (rank() != kWriter) {
    struct stat during {};
    ASSERT_EQ(pdm_stat(path.c_str(), &during), 0) << pdm_last_error();
    EXPECT_EQ(during.st_size, 1000) << "the size was published before the data landed";
    EXPECT_EQ(during.st_mtim.tv_nsec, before.st_mtim.tv_nsec);
    EXPECT_EQ(during.st_mtim.tv_sec, before.st_mtim.tv_sec);
  }
  MPI_Barrier(MPI_COMM_WORLD);
  if (rank() == kWriter) {
    go_on = true;
    writer.join();
  }
  MPI_Barrier(MPI_COMM_WORLD);
  struct stat after {};
  ASSERT_EQ(pdm_stat(path.c_str(), &after), 0) << pdm_last_error();
  EXPECT_EQ(after.st_size, 6000);
  EXPECT_TRUE(after.st_mtim.tv_sec != before.st_mtim.tv_sec ||
              after.st_mtim.tv_nsec != before.st_mtim.tv_nsec);
  MPI_Barrier(MPI_COMM_WORLD);
}

// pdm_set_lazy_size: a write returns although the metadata server has not
// applied its size yet, and pdm_fsync publishes it. Rank 0, the server,
// holds its next extend at a failpoint until rank 1 reports that its write
// returned. A synchronous write would wait for that extend; rank 0's
// progress thread, held, would miss its heartbeats and be suspected after
// the heartbeat timeout (a view change), so the view must not change, and
// rank 0 must be released by the report, not by its 5 s limit.
TEST(ParallelIo, ALazySizeWriteReturnsBeforeItsSizeIsAppliedAndFsyncPublishesIt) {
  const std::string path = test_path("lazy");
  constexpr int kWriter = 1;
  int fd = -1;
  if (rank() == kWriter) {
    fd = pdm_open(path.c_str(), O_CREAT | O_EXCL | O_WRONLY, 0644);
    ASSERT_TRUE(all(fd >= 0)) << pdm_last_error();
    ASSERT_EQ(pdm_set_lazy_size(fd, 1), 0) << pdm_last_error();
  } else {
    ASSERT_TRUE(all(true));
  }
  std::atomic<bool> written{false};
  std::atomic<bool> released_by_report{false};
  if (rank() == 0) {
    failpoint::arm("meta_service.extend",
                   [&] { released_by_report = wait_for_flag(written, std::chrono::seconds(5)); });
  }
  MPI_Barrier(MPI_COMM_WORLD);
  char done = 0;
  if (rank() == kWriter) {
    write_all(fd, pattern(21, 0, 3000), 0);
    MPI_Send(&done, 1, MPI_CHAR, 0, 0, MPI_COMM_WORLD);
    EXPECT_EQ(pdm_fsync(fd), 0) << pdm_last_error();
    EXPECT_EQ(pdm_close(fd), 0) << pdm_last_error();
  }
  if (rank() == 0) {
    MPI_Recv(&done, 1, MPI_CHAR, kWriter, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    written = true;
  }
  MPI_Barrier(MPI_COMM_WORLD);
  if (rank() == 0) {
    failpoint::disarm();
    EXPECT_TRUE(released_by_report) << "the extend was not held while the write returned";
  }
  pdm_view_info view{};
  std::vector<int> members(64);
  ASSERT_EQ(pdm_get_view(&view, members.data(), static_cast<int>(members.size())), 0)
      << pdm_last_error();
  EXPECT_EQ(view.view_changes, 0u) << "the write waited for the held server";
  struct stat st {};
  ASSERT_EQ(pdm_stat(path.c_str(), &st), 0) << pdm_last_error();
  EXPECT_EQ(st.st_size, 3000) << "pdm_fsync did not publish the size";
  EXPECT_EQ(pdm_set_lazy_size(-1, 1), -1);
  EXPECT_EQ(errno, EBADF);
  MPI_Barrier(MPI_COMM_WORLD);
}

// FileSystem::pwrite_extents (the MPI-IO shim's strided writes): 1200
// ranges of 100 bytes, 300 apart, so that they cross the 64 KiB stripes and
// need more requests than are in flight at once (DataClient batches them),
// land as 1200 pwrites would: every rank reads its neighbour's file back,
// zeros in the gaps, the size at the end of the last range. And the misuse
// of it gets pwrite's errno.
TEST(ParallelIo, AWriteOfManyExtentsLandsAsOnePwriteOfEachWould) {
  constexpr std::uint64_t kExtents = 1200, kLength = 100, kStride = 300;
  auto &fs = node::process_node()->fs();
  const std::string mine = test_path(std::to_string(rank()));
  int fd = pdm_open(mine.c_str(), O_CREAT | O_EXCL | O_RDWR, 0644);
  ASSERT_TRUE(all(fd >= 0)) << pdm_last_error();
  std::vector<pfs::ByteRange> extents;
  for (std::uint64_t k = 0; k < kExtents; ++k) extents.push_back({k * kStride + 11, kLength});
  const auto data = pattern(static_cast<std::uint64_t>(40 + rank()), 0, kExtents * kLength);
  auto written = fs.pwrite_extents(fd, extents, data);
  ASSERT_TRUE(written.ok()) << written.error().message;
  EXPECT_EQ(*written, data.size());

  EXPECT_EQ(fs.pwrite_extents(fd, extents, std::span(data).first(10)).error().code, EINVAL)
      << "the data does not fill the extents";
  const pfs::ByteRange too_far{static_cast<std::uint64_t>(LLONG_MAX) - 5, 10};
  EXPECT_EQ(fs.pwrite_extents(fd, {&too_far, 1}, std::span(data).first(10)).error().code, EFBIG);
  EXPECT_EQ(fs.pwrite_extents(-1, extents, data).error().code, EBADF);
  auto nothing = fs.pwrite_extents(fd, {}, {});
  ASSERT_TRUE(nothing.ok());
  EXPECT_EQ(*nothing, 0u);
  EXPECT_EQ(pdm_close(fd), 0) << pdm_last_error();
  ASSERT_TRUE(all(!::testing::Test::HasFailure()));

  const int neighbour = (rank() + 1) % size();
  const std::string theirs = test_path(std::to_string(neighbour));
  fd = pdm_open(theirs.c_str(), O_RDONLY, 0);
  ASSERT_GE(fd, 0) << pdm_last_error();
  EXPECT_EQ(fs.pwrite_extents(fd, extents, data).error().code, EBADF) << "opened read-only";
  const std::uint64_t file_size = (kExtents - 1) * kStride + 11 + kLength;
  std::vector<std::byte> expected(file_size, std::byte{0});
  const auto their_data =
      pattern(static_cast<std::uint64_t>(40 + neighbour), 0, kExtents * kLength);
  for (std::uint64_t k = 0; k < kExtents; ++k) {
    std::copy_n(their_data.begin() + static_cast<std::ptrdiff_t>(k * kLength), kLength,
                expected.begin() + static_cast<std::ptrdiff_t>(k * kStride + 11));
  }
  struct stat st {};
  ASSERT_EQ(pdm_fstat(fd, &st), 0) << pdm_last_error();
  EXPECT_EQ(static_cast<std::uint64_t>(st.st_size), file_size);
  EXPECT_EQ(read_all(fd, file_size, 0), expected);
  EXPECT_EQ(pdm_close(fd), 0);
  ASSERT_TRUE(all(!::testing::Test::HasFailure()));
}

// pread_extents (the MPI-IO shim's strided reads) returns what a pread of
// each range, one after the other, would: 1500 ranges of 100 bytes over the
// 64 KiB stripes of all volumes (more than one request's worth per volume,
// in both directions), a hole in the middle reading as zeros, and a read
// running into the end of the file returning the prefix up to it. Each read
// is done twice: first with the size asked of the metadata server, then
// inside the size this client knows. ctest also runs this file with
// io.direct=off (mpi_fs_io_remote), where the ranges travel to the volume
// owners in one request per volume.
TEST(ParallelIo, AReadOfManyExtentsReturnsWhatAPreadOfEachWould) {
  constexpr std::uint64_t kExtents = 1500, kLength = 100, kStride = 300;
  constexpr std::uint64_t kHoleStart = 100000, kHoleEnd = 180000;
  const std::uint64_t file_size = kExtents * kStride;
  auto &fs = node::process_node()->fs();
  const std::string mine = test_path(std::to_string(rank()));
  int fd = pdm_open(mine.c_str(), O_CREAT | O_EXCL | O_RDWR, 0644);
  ASSERT_TRUE(all(fd >= 0)) << pdm_last_error();
  auto content = pattern(static_cast<std::uint64_t>(70 + rank()), 0, file_size);
  write_all(fd, {content.begin(), content.begin() + kHoleStart}, 0);
  write_all(fd, {content.begin() + kHoleEnd, content.end()}, static_cast<off_t>(kHoleEnd));
  EXPECT_EQ(pdm_close(fd), 0) << pdm_last_error();
  ASSERT_TRUE(all(!::testing::Test::HasFailure()));

  const int neighbour = (rank() + 1) % size();
  auto expected_file = pattern(static_cast<std::uint64_t>(70 + neighbour), 0, file_size);
  std::fill(expected_file.begin() + kHoleStart, expected_file.begin() + kHoleEnd, std::byte{0});
  // What pread of each range would give, one after the other, up to the
  // first range the end of the file cuts short.
  auto expected = [&](const std::vector<pfs::ByteRange> &extents) {
    std::vector<std::byte> out;
    for (const pfs::ByteRange &e : extents) {
      const std::uint64_t n = e.offset >= file_size ? 0 : std::min(e.length, file_size - e.offset);
      out.insert(out.end(), expected_file.begin() + static_cast<std::ptrdiff_t>(e.offset),
                 expected_file.begin() + static_cast<std::ptrdiff_t>(e.offset + n));
      if (n < e.length) break;
    }
    return out;
  };
  auto read = [&](int from, const std::vector<pfs::ByteRange> &extents) {
    std::uint64_t total = 0;
    for (const pfs::ByteRange &e : extents) total += e.length;
    std::vector<std::byte> out(total, std::byte{0x5a});
    auto got = fs.pread_extents(from, extents, out);
    EXPECT_TRUE(got.ok()) << got.error().message;
    out.resize(got.ok() ? *got : 0);
    return out;
  };
  std::vector<pfs::ByteRange> forward, backward, into_the_end, past_the_end;
  for (std::uint64_t k = 0; k < kExtents; ++k) forward.push_back({k * kStride + 7, kLength});
  backward.assign(forward.rbegin(), forward.rend());
  into_the_end = {{10, 5000}, {file_size - 300, 200}, {file_size - 50, 100}, {file_size + 10, 8}};
  past_the_end = {{file_size, 10}, {file_size + 1000, 10}};

  fd = pdm_open(test_path(std::to_string(neighbour)).c_str(), O_RDONLY, 0);
  ASSERT_GE(fd, 0) << pdm_last_error();
  for (int pass = 0; pass < 2; ++pass) {
    SCOPED_TRACE(pass == 0 ? "size asked" : "size known");
    // Only the first read of a fresh descriptor asks for the size.
    EXPECT_EQ(read(fd, forward), expected(forward));
    EXPECT_EQ(read(fd, backward), expected(backward));
    EXPECT_EQ(read(fd, into_the_end), expected(into_the_end));
    EXPECT_EQ(read(fd, into_the_end).size(), 5000u + 200 + 50);
    EXPECT_TRUE(read(fd, past_the_end).empty());
  }
  std::vector<std::byte> buffer(kLength);
  EXPECT_EQ(fs.pread_extents(fd, forward, buffer).error().code, EINVAL)
      << "the buffer does not fit the extents";
  const pfs::ByteRange too_far{static_cast<std::uint64_t>(LLONG_MAX) + 1, 1};
  EXPECT_EQ(fs.pread_extents(fd, {&too_far, 1}, std::span(buffer).first(1)).error().code, EINVAL);
  EXPECT_EQ(fs.pread_extents(-1, forward, buffer).error().code, EBADF);
  auto nothing = fs.pread_extents(fd, {}, {});
  ASSERT_TRUE(nothing.ok());
  EXPECT_EQ(*nothing, 0u);
  EXPECT_EQ(pdm_close(fd), 0);
  fd = pdm_open(test_path(std::to_string(neighbour)).c_str(), O_WRONLY, 0);
  ASSERT_GE(fd, 0) << pdm_last_error();
  EXPECT_EQ(fs.pread_extents(fd, {&forward[0], 1}, buffer).error().code, EBADF) << "write-only";
  EXPECT_EQ(pdm_close(fd), 0);
  ASSERT_TRUE(all(!::testing::Test::HasFailure()));
}

// A strided read of 1-byte pieces (a column of a byte matrix): 100,000
// ranges, so each volume's ranges need several requests
// (DataClient::kMaxRangesPerRequest), read right and in order.
TEST(ParallelIo, AReadOfTinyPiecesNeedingManyRequestsPerVolumeIsRight) {
  constexpr std::uint64_t kPieces = 100000, kStride = 3;
  auto &fs = node::process_node()->fs();
  const std::string mine = test_path(std::to_string(rank()));
  int fd = pdm_open(mine.c_str(), O_CREAT | O_EXCL | O_RDWR, 0644);
  ASSERT_TRUE(all(fd >= 0)) << pdm_last_error();
  write_all(fd, pattern(static_cast<std::uint64_t>(90 + rank()), 0, kPieces * kStride), 0);
  EXPECT_EQ(pdm_close(fd), 0) << pdm_last_error();
  ASSERT_TRUE(all(!::testing::Test::HasFailure()));

  const int neighbour = (rank() + 1) % size();
  const auto theirs = pattern(static_cast<std::uint64_t>(90 + neighbour), 0, kPieces * kStride);
  std::vector<pfs::ByteRange> column;
  std::vector<std::byte> expected;
  for (std::uint64_t k = 0; k < kPieces; ++k) {
    column.push_back({k * kStride + 1, 1});
    expected.push_back(theirs[k * kStride + 1]);
  }
  fd = pdm_open(test_path(std::to_string(neighbour)).c_str(), O_RDONLY, 0);
  ASSERT_GE(fd, 0) << pdm_last_error();
  std::vector<std::byte> got(kPieces);
  auto read = fs.pread_extents(fd, column, got);
  ASSERT_TRUE(read.ok()) << read.error().message;
  EXPECT_EQ(*read, kPieces);
  EXPECT_EQ(got, expected);
  EXPECT_EQ(pdm_close(fd), 0);
  ASSERT_TRUE(all(!::testing::Test::HasFailure()));
}

// A malformed read request to a volume owner (ranges whose end passes the
// largest offset, or more bytes than a message holds) gets an error, not a
// wrapped size and a write past the answer's buffer; the owner serves the
// next request.
TEST(BadInput, AMalformedReadRequestGetsAnErrorAndTheOwnerGoesOn) {
  auto &node = *node::process_node();
  const int owner = node.fs().owner_of_volume(0);
  const std::uint64_t max_end = static_cast<std::uint64_t>(std::numeric_limits<off_t>::max());
  auto ask = [&](std::vector<pfs::ByteRange> ranges) {
    return mpi::call_status(node.engine(), owner, pfs::data_msg::kReadRanges,
                            pfs::ObjectRanges{0, 1, std::move(ranges)});
  };
  EXPECT_EQ(ask({{max_end - 10, 100}}).error().code, EINVAL);
  EXPECT_EQ(ask({{~std::uint64_t{0}, 2}}).error().code, EINVAL);
  EXPECT_EQ(ask({{0, ~std::uint64_t{0}}}).error().code, EINVAL);
  // Their sum wraps to 0 in 64 bits.
  EXPECT_EQ(ask({{0, std::uint64_t{1} << 63}, {0, std::uint64_t{1} << 63}}).error().code, EINVAL);
  EXPECT_EQ(ask({{0, max_end / 2}, {0, max_end / 2}}).error().code, EMSGSIZE);
  EXPECT_TRUE(ask({{0, 10}, {100, 10}}).ok());
  ASSERT_TRUE(all(!::testing::Test::HasFailure()));
}

// An owner's answer longer than the read asked for (a failpoint adds a byte)
// fails the read with EPROTO, never spilling past the reader's buffer; the
// next read is right. Only through the owners (mpi_fs_io_remote): a direct
// read asks no one.
TEST(BadInput, AnAnswerLongerThanAskedFailsTheReadWithEproto) {
  const char *direct = std::getenv("PDM_IO_DIRECT");
  if (direct == nullptr || std::string_view(direct) != "off") {
    GTEST_SKIP() << "reads ask the owners only with PDM_IO_DIRECT=off (mpi_fs_io_remote)";
  }
  int size = 0;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  if (size < 2) GTEST_SKIP() << "needs a reader apart from the owner";
  const int owner = node::process_node()->fs().owner_of_volume(0);
  const int reader = (owner + 1) % size;
  const std::string file = test_path("overlong");
  const std::vector<char> data(1 << 20, 'q');  // on every volume
  if (rank() == reader) {
    const int fd = pdm_open(file.c_str(), O_CREAT | O_WRONLY, 0644);
    ASSERT_GE(fd, 0) << pdm_last_error();
    EXPECT_EQ(pdm_pwrite(fd, data.data(), data.size(), 0), static_cast<ssize_t>(data.size()));
    EXPECT_EQ(pdm_close(fd), 0);
  }
  if (rank() == owner) failpoint::arm("data.read_answer_too_long", [] {});
  MPI_Barrier(MPI_COMM_WORLD);
  if (rank() == reader) {
    const int fd = pdm_open(file.c_str(), O_RDONLY, 0);
    ASSERT_GE(fd, 0) << pdm_last_error();
    std::vector<char> got(data.size() + 1, 'z');  // the last byte guards the end
    EXPECT_EQ(pdm_pread(fd, got.data(), data.size(), 0), -1);
    EXPECT_EQ(errno, EPROTO) << pdm_last_error();
    EXPECT_EQ(got.back(), 'z');
    EXPECT_EQ(pdm_pread(fd, got.data(), data.size(), 0), static_cast<ssize_t>(data.size()))
        << pdm_last_error();
    got.pop_back();
    EXPECT_EQ(got, data);
    EXPECT_EQ(pdm_close(fd), 0);
  }
  MPI_Barrier(MPI_COMM_WORLD);
  if (rank() == owner) failpoint::disarm();
  ASSERT_TRUE(all(!::testing::Test::HasFailure()));
}

std::uint64_t object_bytes(pfs::FileSystem &fs) {
  auto usage = fs.volume_usage();
  EXPECT_TRUE(usage.ok()) << usage.error().message;
  std::uint64_t sum = 0;
  if (usage.ok()) {
    for (const auto &volume : *usage) sum += volume.object_bytes;
  }
  return sum;
}

// Collective over `comm`: rank 0 opens `file` for every rank with one group
// open (creating it), the others adopt theirs; this rank's descriptor.
int open_for_every_rank(pfs::FileSystem &fs, const mpi::Comm &comm, const std::vector<int> &holders,
                        const std::string &file) {
  int fd = -1;
  Result<std::vector<std::byte>> ticket = make_error(EIO, "rank 0 did not open");
  if (rank() == 0) {
    auto opened = fs.open_for_group(file, O_CREAT | O_EXCL | O_RDWR, 0644, holders);
    EXPECT_TRUE(opened.ok()) << opened.error().message;
    if (opened.ok()) {
      fd = opened->first;
      ticket = std::move(opened->second);
    }
  }
  auto shared = mpi::broadcast_from_root(comm, std::move(ticket));
  EXPECT_TRUE(shared.ok()) << shared.error().message;
  if (rank() != 0 && shared.ok()) {
    auto adopted = fs.adopt_open(*shared);
    EXPECT_TRUE(adopted.ok()) << adopted.error().message;
    if (adopted.ok()) fd = *adopted;
  }
  return fd;
}

// Every rank writes its piece through `fd`, then reads every rank's; rank 0
// unlinks the file, and every rank still reads it.
void write_read_and_unlink(pfs::FileSystem &fs, int fd, std::size_t ranks,
                           const std::string &file) {
  const auto mine = pattern(40 + static_cast<std::uint64_t>(rank()), 0, 4096);
  EXPECT_TRUE(fs.pwrite(fd, mine, static_cast<std::int64_t>(rank()) * 4096).ok());
  MPI_Barrier(MPI_COMM_WORLD);
  auto read_all = [&] {
    std::vector<std::byte> got(ranks * 4096);
    auto n = fs.pread(fd, got, 0);
    ASSERT_TRUE(n.ok()) << n.error().message;
    ASSERT_EQ(*n, got.size());
    for (std::size_t r = 0; r < ranks; ++r) {
      EXPECT_TRUE(std::equal(got.begin() + static_cast<std::ptrdiff_t>(r * 4096),
                             got.begin() + static_cast<std::ptrdiff_t>((r + 1) * 4096),
                             pattern(40 + r, 0, 4096).begin()))
          << "rank " << r << "'s piece";
    }
  };
  read_all();
  MPI_Barrier(MPI_COMM_WORLD);
  if (rank() == 0) {
    EXPECT_EQ(pdm_unlink(file.c_str()), 0) << pdm_last_error();
  }
  MPI_Barrier(MPI_COMM_WORLD);
  read_all();
}

// The common start of the GroupOpen tests: `file` opened for every rank by
// one group open, written, read and unlinked by rank 0 while all hold it.
struct GroupFile {
  std::vector<int> holders;  // every rank
  std::uint64_t before = 0;  // rank 0: the volumes' object bytes before the open
  int fd = -1;               // this rank's descriptor (-1: the open failed)
};

GroupFile open_write_and_unlink(const std::string &file) {
  auto &fs = node::process_node()->fs();
  auto comm = mpi::Comm::dup(MPI_COMM_WORLD);
  EXPECT_TRUE(comm.ok());
  GroupFile group;
  group.holders.resize(static_cast<std::size_t>(comm->size()));
  std::iota(group.holders.begin(), group.holders.end(), 0);
  if (rank() == 0) group.before = object_bytes(fs);
  group.fd = open_for_every_rank(fs, *comm, group.holders, file);
  if (all(group.fd >= 0)) write_read_and_unlink(fs, group.fd, group.holders.size(), file);
  return group;
}

// A group open (the MPI-IO shim's collective open): rank 0's one request
// opens the file for every rank, the others install theirs from its answer
// with no metadata call. Every rank then writes, reads and, after rank 0
// unlinked the file, still reads it; each closes its own descriptor (EBADF
// if the server had not counted that rank's open), and the last close
// destroys the file (a count left over would keep its objects).
TEST(GroupOpen, OneRequestOpensTheFileForEveryRankAndEachClosesItsOwn) {
  auto &fs = node::process_node()->fs();
  const GroupFile group = open_write_and_unlink(test_path("group"));
  ASSERT_TRUE(all(group.fd >= 0));
  Status closed = fs.close(group.fd);
  EXPECT_TRUE(closed.ok()) << closed.error().message;
  MPI_Barrier(MPI_COMM_WORLD);
  if (rank() == 0) {
    EXPECT_LE(object_bytes(fs), group.before) << "the last close left the objects";
  }
  ASSERT_TRUE(all(!::testing::Test::HasFailure()));
}

// A group close (the shim's collective close): every rank begins its close
// (its descriptor is gone), then rank 0's one request ends every rank's open
// and, the file being unlinked, destroys it; the others only learn it. A
// second group close of the same opens is refused (EBADF): none is left.
TEST(GroupOpen, OneRequestClosesTheFileForEveryRank) {
  auto &fs = node::process_node()->fs();
  const GroupFile group = open_write_and_unlink(test_path("group"));
  ASSERT_TRUE(all(group.fd >= 0));
  const std::vector<int> &holders = group.holders;
  auto closing = fs.begin_close(group.fd);
  ASSERT_TRUE(closing.ok()) << closing.error().message;
  EXPECT_TRUE(closing->published.ok());
  std::vector<std::byte> byte(1);
  EXPECT_EQ(fs.pread(group.fd, byte, 0).error().code, EBADF) << "the descriptor is gone";
  MPI_Barrier(MPI_COMM_WORLD);
  if (rank() == 0) {
    Status closed = fs.finish_close(*closing, true, holders);
    EXPECT_TRUE(closed.ok()) << closed.error().message;
    EXPECT_LE(object_bytes(fs), group.before) << "the group close left the objects";
    Status again = fs.finish_close(*closing, true, holders);
    ASSERT_FALSE(again.ok()) << "a second group close";
    EXPECT_EQ(again.error().code, EBADF) << again.error().message;
  }
  MPI_Barrier(MPI_COMM_WORLD);
  if (rank() != 0) fs.raise_close_event(*closing);
  ASSERT_TRUE(all(!::testing::Test::HasFailure()));
}

// A group open for a rank that is not live, for a rank twice, not for the
// caller, for no one, or with O_TRUNC is refused (EINVAL) and creates
// nothing: an open counted for no live holder would never end.
TEST(GroupOpen, AGroupOpenForBadHoldersIsRefusedAndCreatesNothing) {
  if (rank() == 0) {
    auto &fs = node::process_node()->fs();
    int size = 0;
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    const std::string file = test_path("bad");
    const int flags = O_CREAT | O_RDWR;
    const std::vector<std::vector<int>> bad{{0, 0}, {0, size + 5}, {0, -1}, {size - 1}, {}};
    for (const auto &holders : bad) {
      if (holders == std::vector<int>{0}) continue;  // a 1-rank job: {size - 1} is the caller
      auto opened = fs.open_for_group(file, flags, 0644, holders);
      ASSERT_FALSE(opened.ok()) << holders.size() << " holders";
      EXPECT_EQ(opened.error().code, EINVAL) << opened.error().message;
    }
    auto truncating = fs.open_for_group(file, flags | O_TRUNC, 0644, std::vector<int>{0});
    ASSERT_FALSE(truncating.ok());
    EXPECT_EQ(truncating.error().code, EINVAL) << truncating.error().message;
    EXPECT_EQ(fs.stat(file).error().code, ENOENT);
  }
  ASSERT_TRUE(all(!::testing::Test::HasFailure()));
}

// Bad input gets the POSIX errno, never a crash.
TEST(BadInput, EveryMisuseGetsThePosixErrno) {
  const std::string file = test_path("file-r" + std::to_string(rank()));
  int fd = pdm_open(file.c_str(), O_CREAT | O_RDONLY, 0644);
  ASSERT_GE(fd, 0) << pdm_last_error();
  char buf[16] = {};
  struct stat st {};
  const std::string long_name = "/" + std::string(300, 'x');
  const std::string through_file = file + "/child";

  auto expect_errno = [](int rc, int err, const char *what) {
    EXPECT_EQ(rc, -1) << what;
    EXPECT_EQ(errno, err) << what << ": " << pdm_last_error();
  };
  expect_errno(pdm_open("", O_RDONLY, 0), ENOENT, "empty path");
  expect_errno(pdm_open("relative", O_RDONLY, 0), EINVAL, "relative path");
  expect_errno(pdm_open("/a/../b", O_RDONLY, 0), EINVAL, "dot-dot");
  expect_errno(pdm_open(long_name.c_str(), O_CREAT | O_RDWR, 0644), ENAMETOOLONG, "long name");
  expect_errno(pdm_open("/no/such/file", O_RDONLY, 0), ENOENT, "missing");
  expect_errno(pdm_open(through_file.c_str(), O_CREAT | O_RDWR, 0644), ENOTDIR, "through file");
  expect_errno(pdm_open(file.c_str(), O_CREAT | O_EXCL | O_RDWR, 0644), EEXIST, "exclusive");
  expect_errno(pdm_open("/", O_WRONLY, 0), EISDIR, "write-open a directory");
  expect_errno(static_cast<int>(pdm_pwrite(fd, "x", 1, 0)), EBADF, "write on read-only");
  expect_errno(static_cast<int>(pdm_pread(999'999, buf, 1, 0)), EBADF, "unknown fd");
  expect_errno(pdm_close(999'999), EBADF, "close unknown fd");
  expect_errno(static_cast<int>(pdm_pread(fd, buf, 1, -1)), EINVAL, "negative offset");
  EXPECT_EQ(pdm_pread(fd, buf, sizeof buf, 1'000'000), 0) << "read past EOF returns 0";
  expect_errno(pdm_ftruncate(fd, 10), EINVAL, "truncate a read-only fd");
  expect_errno(pdm_mkdir("/", 0755), EEXIST, "mkdir root");
  expect_errno(pdm_mkdir(file.c_str(), 0755), EEXIST, "mkdir over a file");
  expect_errno(pdm_rmdir(file.c_str()), ENOTDIR, "rmdir a file");
  expect_errno(pdm_unlink("/"), EISDIR, "unlink root");
  expect_errno(pdm_stat(through_file.c_str(), &st), ENOTDIR, "stat through a file");
  expect_errno(pdm_rename("/missing-src", "/x"), ENOENT, "rename missing");
  EXPECT_EQ(pdm_opendir(file.c_str()), nullptr);
  EXPECT_EQ(errno, ENOTDIR);
  EXPECT_EQ(pdm_close(fd), 0);
  expect_errno(pdm_close(fd), EBADF, "double close");
  MPI_Barrier(MPI_COMM_WORLD);
}

}  // namespace
}  // namespace pdm::test

namespace pdm::test {
namespace {

// The view through the C API (issue #4, observability): without failures,
// epoch 1, every rank live, rank 0 manages and serves the metadata.
TEST(View, PdmGetViewShowsTheFirstViewOnEveryRank) {
  int size = 0;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  pdm_view_info info{};
  std::vector<int> members(static_cast<std::size_t>(size), -1);
  ASSERT_EQ(pdm_get_view(&info, members.data(), size), 0) << pdm_last_error();
  EXPECT_EQ(info.epoch, 1u);
  EXPECT_EQ(info.ranks, size);
  EXPECT_EQ(info.members, size);
  EXPECT_EQ(info.manager, 0);
  EXPECT_EQ(info.metadata_server, 0);
  EXPECT_EQ(info.view_changes, 0u);
  for (int rank = 0; rank < size; ++rank) EXPECT_EQ(members[static_cast<std::size_t>(rank)], rank);
  // Too small a buffer: E2BIG, and how many are needed.
  pdm_view_info small{};
  errno = 0;
  EXPECT_EQ(pdm_get_view(&small, members.data(), size - 1), -1);
  EXPECT_EQ(errno, E2BIG);
  EXPECT_EQ(small.members, size);
  errno = 0;
  EXPECT_EQ(pdm_get_view(nullptr, members.data(), size), -1);
  EXPECT_EQ(errno, EFAULT);
}

// A survivor's write to a dead rank's TCP socket raises SIGPIPE inside
// Open MPI; left at its default it ends the survivor (issue #4, B5;
// docs/FAILURES.md §1 fact 9). pdm_start set it to ignored.
TEST(View, PdmStartLeavesSigpipeIgnoredSoADeadPeerCannotEndThisRank) {
  struct sigaction current {};
  ASSERT_EQ(::sigaction(SIGPIPE, nullptr, &current), 0);
  EXPECT_EQ(current.sa_handler, SIG_IGN);
}

}  // namespace
}  // namespace pdm::test

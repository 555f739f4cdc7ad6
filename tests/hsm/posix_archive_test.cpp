// PosixArchive: copies are durable self-describing files; fetch never hands
// out wrong data unflagged (B16/B17: an HSM's archive copy must be verifiable
// and the catalog recoverable from the archive alone).
#include "apps/hsm/archive/posix_archive.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <xxhash.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "tests/hsm/archive_test_support.h"

namespace pdm::hsm {
namespace {

using test::collector;
using test::file_facts;
using test::pattern_bytes;
using test::reader_of;

class PosixArchiveTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = PosixArchive::open("p1", dir_.path() + "/arch", /*create=*/true);
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    archive_ = std::move(*opened);
  }

  // Every file name under the archive directory, relative.
  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const auto &entry : std::filesystem::recursive_directory_iterator(dir_.path() + "/arch")) {
      if (entry.is_regular_file()) {
        out.push_back(std::filesystem::relative(entry.path(), dir_.path() + "/arch").string());
      }
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  test::TempDir dir_;
  std::unique_ptr<PosixArchive> archive_;
};

TEST_F(PosixArchiveTest, StoreThenFetchReturnsTheSameBytesAndChecksum) {
  const auto data = pattern_bytes(3 * (1 << 20) + 17, 1);  // several copy buffers
  auto copy = archive_->store(file_facts("/proj/a", 42, 3, data.size()), reader_of(data, 65536));
  ASSERT_TRUE(copy.ok()) << copy.error().message;
  EXPECT_EQ(copy->location.archive_id, "p1");
  EXPECT_EQ(copy->file.checksum, XXH64(data.data(), data.size(), 0));
  EXPECT_EQ(copy->file.path, "/proj/a");
  std::vector<std::byte> back;
  const Status fetched = archive_->fetch(copy->location, collector(back));
  ASSERT_TRUE(fetched.ok()) << fetched.error().message;
  EXPECT_EQ(back, data);
}

TEST_F(PosixArchiveTest, EmptyFileIsACopyToo) {
  const std::vector<std::byte> none;
  auto copy = archive_->store(file_facts("/e", 7, 1, 0), reader_of(none));
  ASSERT_TRUE(copy.ok()) << copy.error().message;
  EXPECT_EQ(copy->file.checksum, XXH64(nullptr, 0, 0));
  std::vector<std::byte> back;
  EXPECT_TRUE(archive_->fetch(copy->location, collector(back)).ok());
  EXPECT_TRUE(back.empty());
  EXPECT_EQ(archive_->list()->size(), 1u);
}

TEST_F(PosixArchiveTest, DescribeGivesTheRecordedFacts) {
  const auto data = pattern_bytes(5000, 2);
  auto copy = archive_->store(file_facts("/d/x y", 300, 9, data.size()), reader_of(data));
  ASSERT_TRUE(copy.ok());
  auto facts = archive_->describe(copy->location);
  ASSERT_TRUE(facts.ok()) << facts.error().message;
  EXPECT_EQ(facts->path, "/d/x y");
  EXPECT_EQ(facts->ino, 300u);
  EXPECT_EQ(facts->generation, 9u);
  EXPECT_EQ(facts->size, 5000u);
  EXPECT_EQ(facts->mtime_ns, copy->file.mtime_ns);
  EXPECT_EQ(facts->checksum, copy->file.checksum);
  // The description is plain JSON next to the data, readable by anyone.
  auto data_file = archive_->data_path(copy->location);
  ASSERT_TRUE(data_file.ok());
  std::string json_file = *data_file;
  json_file.replace(json_file.size() - 5, 5, ".json");
  std::ifstream in(json_file);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("\"xxh64\""), std::string::npos) << text;
}

TEST_F(PosixArchiveTest, ShortSourceIsEioAndLeavesNothing) {
  const auto data = pattern_bytes(1000, 3);
  auto copy = archive_->store(file_facts("/short", 5, 1, 2000), reader_of(data));
  ASSERT_FALSE(copy.ok());
  EXPECT_EQ(copy.error().code, EIO);
  EXPECT_EQ(names(), std::vector<std::string>{"pdm-hsm-posix"});
}

TEST_F(PosixArchiveTest, ReaderErrorAbortsAndLeavesNothing) {
  const SourceReader failing = [](std::uint64_t offset,
                                  std::span<std::byte> out) -> Result<std::size_t> {
    if (offset > 0) return make_error(EIO, "disk on fire");
    return out.size();
  };
  auto copy = archive_->store(file_facts("/bad", 6, 1, 3 << 20), failing);  // > one buffer
  ASSERT_FALSE(copy.ok());
  EXPECT_EQ(copy.error().message, "disk on fire");
  EXPECT_EQ(names(), std::vector<std::string>{"pdm-hsm-posix"});
}

TEST_F(PosixArchiveTest, CorruptByteIsEioNamingTheChecksum) {
  const auto data = pattern_bytes(10000, 4);
  auto copy = archive_->store(file_facts("/c", 8, 1, data.size()), reader_of(data));
  ASSERT_TRUE(copy.ok());
  {
    std::fstream f(*archive_->data_path(copy->location),
                   std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(5000);
    f.put(static_cast<char>(static_cast<unsigned char>(data[5000]) ^ 0x01));
  }
  std::vector<std::byte> back;
  const Status fetched = archive_->fetch(copy->location, collector(back));
  ASSERT_FALSE(fetched.ok());
  EXPECT_EQ(fetched.error().code, EIO);
  EXPECT_NE(fetched.error().message.find("corrupt"), std::string::npos) << fetched.error().message;
}

TEST_F(PosixArchiveTest, TruncatedCopyIsEio) {
  const auto data = pattern_bytes(10000, 5);
  auto copy = archive_->store(file_facts("/t", 9, 1, data.size()), reader_of(data));
  ASSERT_TRUE(copy.ok());
  std::filesystem::resize_file(*archive_->data_path(copy->location), 9000);
  std::vector<std::byte> back;
  EXPECT_EQ(archive_->fetch(copy->location, collector(back)).error().code, EIO);
}

TEST_F(PosixArchiveTest, RemoveDropsTheCopyAndItsDescription) {
  const auto data = pattern_bytes(100, 6);
  auto copy = archive_->store(file_facts("/r", 10, 1, data.size()), reader_of(data));
  ASSERT_TRUE(copy.ok());
  ASSERT_TRUE(archive_->remove(copy->location).ok());
  EXPECT_EQ(archive_->describe(copy->location).error().code, ENOENT);
  std::vector<std::byte> back;
  EXPECT_EQ(archive_->fetch(copy->location, collector(back)).error().code, ENOENT);
  EXPECT_EQ(archive_->remove(copy->location).error().code, ENOENT);
  EXPECT_EQ(names(), std::vector<std::string>{"pdm-hsm-posix"});
}

TEST_F(PosixArchiveTest, ListRebuildsEveryCopyAndIgnoresLeftovers) {
  std::vector<StoredCopy> stored;
  for (unsigned i = 0; i < 5; ++i) {
    const auto data = pattern_bytes(100 * i + 1, i);
    auto copy = archive_->store(file_facts(fmt::format("/f{}", i), 1000 + i, 1, data.size()),
                                reader_of(data));
    ASSERT_TRUE(copy.ok());
    stored.push_back(*copy);
  }
  // Two versions of one inode are two copies.
  const auto again = pattern_bytes(50, 99);
  auto second = archive_->store(file_facts("/f0", 1000, 2, again.size()), reader_of(again));
  ASSERT_TRUE(second.ok());
  stored.push_back(*second);
  // What a crash mid-store leaves: a temp data file, a description without data.
  const std::string sub = dir_.path() + "/arch/" + stored[0].location.locator.substr(0, 2);
  std::ofstream(sub + "/1000.1.dead.data.tmp") << "partial";
  std::ofstream(sub + "/1000.1.beef.json") << "{}";

  auto listed = archive_->list();
  ASSERT_TRUE(listed.ok()) << listed.error().message;
  ASSERT_EQ(listed->size(), stored.size());
  for (const StoredCopy &copy : stored) {
    const auto it = std::find_if(listed->begin(), listed->end(), [&](const ArchiveRecord &r) {
      return r.location.encode() == copy.location.encode();
    });
    ASSERT_NE(it, listed->end()) << copy.location.encode();
    EXPECT_EQ(it->file.path, copy.file.path);
    EXPECT_EQ(it->file.ino, copy.file.ino);
    EXPECT_EQ(it->file.generation, copy.file.generation);
    EXPECT_EQ(it->file.size, copy.file.size);
    EXPECT_EQ(it->file.checksum, copy.file.checksum);
  }
}

TEST_F(PosixArchiveTest, LocationsOutsideTheArchiveAreRejected) {
  std::vector<std::byte> back;
  EXPECT_EQ(archive_->fetch({"p1", "../../etc/passwd"}, collector(back)).error().code, ENOENT);
  EXPECT_EQ(archive_->describe({"p1", "00/../x"}).error().code, ENOENT);
  EXPECT_EQ(archive_->remove({"other", "00/1.1.a"}).error().code, EINVAL);
}

TEST_F(PosixArchiveTest, ConcurrentStoresOfOneInodeGetDistinctCopies) {
  const auto data = pattern_bytes(20000, 7);
  std::vector<std::thread> threads;
  std::vector<Result<StoredCopy>> copies(8, Error{});
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      copies[t] = archive_->store(file_facts("/same", 77, 1, data.size()), reader_of(data));
    });
  }
  for (auto &thread : threads) thread.join();
  std::set<std::string> locations;
  for (auto &copy : copies) {
    ASSERT_TRUE(copy.ok()) << copy.error().message;
    locations.insert(copy->location.locator);
  }
  EXPECT_EQ(locations.size(), 8u);
  EXPECT_EQ(archive_->list()->size(), 8u);
}

TEST_F(PosixArchiveTest, EveryReturnedCopySurvivesASigkillOfTheWriter) {
  // A copy store() returned stays whole when the writer is SIGKILLed in the
  // middle of a later store; the leftovers of that store are not copies.
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(fds[0]);
    for (unsigned i = 0;; ++i) {
      const auto data = pattern_bytes(300000 + i, i);
      auto copy = archive_->store(file_facts("/k", i, 1, data.size()), reader_of(data, 4096));
      if (!copy.ok()) ::_exit(1);
      const std::string line = fmt::format("{} {}\n", i, copy->location.locator);
      if (::write(fds[1], line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
        ::_exit(1);
      }
    }
  }
  ::close(fds[1]);
  std::string reported;
  char buffer[256];
  while (std::count(reported.begin(), reported.end(), '\n') < 7) {
    const ssize_t n = ::read(fds[0], buffer, sizeof buffer);
    ASSERT_GT(n, 0) << "the writer ended early";
    reported.append(buffer, static_cast<std::size_t>(n));
  }
  ASSERT_EQ(::kill(child, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  for (ssize_t n; (n = ::read(fds[0], buffer, sizeof buffer)) > 0;) {
    reported.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fds[0]);
  std::istringstream in(reported);
  unsigned index = 0;
  std::string locator;
  std::size_t verified = 0;
  while (in >> index >> locator) {
    std::vector<std::byte> back;
    const Status fetched = archive_->fetch({"p1", locator}, collector(back));
    EXPECT_TRUE(fetched.ok()) << locator << ": " << fetched.error().message;
    EXPECT_EQ(back, pattern_bytes(300000 + index, index)) << locator;
    ++verified;
  }
  EXPECT_GE(verified, 7u);
  // list() gives the returned copies and at most one more (a store that
  // finished just before the kill, unreported); a half-done store left none.
  const std::size_t listed = archive_->list()->size();
  EXPECT_GE(listed, verified);
  EXPECT_LE(listed, verified + 1);
}

TEST(PosixArchiveOpen, RefusesAMissingOrForeignDirectory) {
  test::TempDir dir;
  EXPECT_EQ(PosixArchive::open("a", dir.path() + "/missing", false).error().code, ENOENT);
  std::ofstream(dir.path() + "/precious") << "x";
  EXPECT_EQ(PosixArchive::open("a", dir.path(), false).error().code, EINVAL);
  EXPECT_EQ(PosixArchive::open("a", dir.path(), true).error().code, EINVAL);
  // An archive made once opens without create.
  ASSERT_TRUE(PosixArchive::open("a", dir.path() + "/new/deep", true).ok());
  EXPECT_TRUE(PosixArchive::open("a", dir.path() + "/new/deep", false).ok());
}

}  // namespace
}  // namespace pdm::hsm

// Hdf5Archive: copies as datasets in per-writer containers, self-describing
// attributes (h5dump shows them; list() rebuilds the catalog from the
// containers alone), verified fetch (B16/B17).
#include "apps/hsm/archive/hdf5_archive.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <xxhash.h>

#include <cstdio>
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

class Hdf5ArchiveTest : public ::testing::Test {
 protected:
  std::unique_ptr<Hdf5Archive> open(Hdf5Options options = {}, std::string writer = "w0") {
    options.writer = std::move(writer);
    auto opened = Hdf5Archive::open("h", dir_.path() + "/arch", options, /*create=*/true);
    EXPECT_TRUE(opened.ok()) << opened.error().message;
    return opened.ok() ? std::move(*opened) : nullptr;
  }

  std::vector<std::string> containers() const {
    std::vector<std::string> out;
    for (const auto &entry : std::filesystem::directory_iterator(dir_.path() + "/arch")) {
      const std::string name = entry.path().filename().string();
      if (name.rfind("c-", 0) == 0) out.push_back(name);
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  test::TempDir dir_;
};

TEST_F(Hdf5ArchiveTest, StoreThenFetchReturnsTheSameBytesAndChecksum) {
  auto archive = open({.chunk_bytes = 64 * 1024});
  const auto data = pattern_bytes(5 * (1 << 20) + 123, 1);  // several I/O pieces, partial chunk
  auto copy = archive->store(file_facts("/proj/a", 42, 3, data.size()), reader_of(data, 70000));
  ASSERT_TRUE(copy.ok()) << copy.error().message;
  EXPECT_EQ(copy->file.checksum, XXH64(data.data(), data.size(), 0));
  EXPECT_EQ(copy->location.archive_id, "h");
  EXPECT_EQ(copy->location.locator, "c-w0-000001.h5:/f42.3.0");
  std::vector<std::byte> back;
  const Status fetched = archive->fetch(copy->location, collector(back));
  ASSERT_TRUE(fetched.ok()) << fetched.error().message;
  EXPECT_EQ(back, data);
  auto facts = archive->describe(copy->location);
  ASSERT_TRUE(facts.ok()) << facts.error().message;
  EXPECT_EQ(facts->path, "/proj/a");
  EXPECT_EQ(facts->ino, 42u);
  EXPECT_EQ(facts->generation, 3u);
  EXPECT_EQ(facts->size, data.size());
  EXPECT_EQ(facts->mtime_ns, copy->file.mtime_ns);
  EXPECT_EQ(facts->checksum, copy->file.checksum);
}

TEST_F(Hdf5ArchiveTest, DeflateCompressesAndStillRoundTrips) {
  auto plain = open({}, "plain");
  auto packed = open({.deflate = 6}, "packed");
  std::vector<std::byte> zeros(4 << 20, std::byte{0});
  auto a = plain->store(file_facts("/z", 1, 1, zeros.size()), reader_of(zeros, 1 << 20));
  auto b = packed->store(file_facts("/z", 1, 1, zeros.size()), reader_of(zeros, 1 << 20));
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_LT(std::filesystem::file_size(*packed->container_path(b->location)),
            std::filesystem::file_size(*plain->container_path(a->location)) / 10);
  std::vector<std::byte> back;
  ASSERT_TRUE(packed->fetch(b->location, collector(back)).ok());
  EXPECT_EQ(back, zeros);
}

TEST_F(Hdf5ArchiveTest, EmptyFileIsACopy) {
  auto archive = open();
  const std::vector<std::byte> none;
  auto copy = archive->store(file_facts("/e", 7, 1, 0), reader_of(none));
  ASSERT_TRUE(copy.ok()) << copy.error().message;
  std::vector<std::byte> back;
  EXPECT_TRUE(archive->fetch(copy->location, collector(back)).ok());
  EXPECT_TRUE(back.empty());
  EXPECT_EQ(archive->list()->size(), 1u);
}

TEST_F(Hdf5ArchiveTest, CorruptByteInTheContainerIsEio) {
  auto archive = open();
  const auto data = pattern_bytes(100000, 4);
  auto copy = archive->store(file_facts("/c", 8, 1, data.size()), reader_of(data));
  ASSERT_TRUE(copy.ok());
  // Find the data in the container (it is stored raw) and flip one bit.
  const std::string path = *archive->container_path(copy->location);
  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::string needle(reinterpret_cast<const char *>(data.data()) + 50000, 64);
  const auto at = bytes.find(needle);
  ASSERT_NE(at, std::string::npos);
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(at));
    f.put(static_cast<char>(bytes[at] ^ 0x10));
  }
  std::vector<std::byte> back;
  const Status fetched = archive->fetch(copy->location, collector(back));
  ASSERT_FALSE(fetched.ok());
  EXPECT_EQ(fetched.error().code, EIO);
  EXPECT_NE(fetched.error().message.find("corrupt"), std::string::npos) << fetched.error().message;
}

TEST_F(Hdf5ArchiveTest, FailedStoreLeavesNoCopy) {
  auto archive = open();
  const auto data = pattern_bytes(1000, 3);
  auto short_copy = archive->store(file_facts("/short", 5, 1, 5000), reader_of(data));
  ASSERT_FALSE(short_copy.ok());
  EXPECT_EQ(short_copy.error().code, EIO);
  const SourceReader failing = [](std::uint64_t, std::span<std::byte>) -> Result<std::size_t> {
    return make_error(EIO, "disk on fire");
  };
  auto failed = archive->store(file_facts("/bad", 6, 1, 10), failing);
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().message, "disk on fire");
  auto listed = archive->list();
  ASSERT_TRUE(listed.ok());
  EXPECT_TRUE(listed->empty());
  // The archive still works after failures.
  auto good = archive->store(file_facts("/ok", 9, 1, data.size()), reader_of(data));
  ASSERT_TRUE(good.ok()) << good.error().message;
  EXPECT_EQ(archive->list()->size(), 1u);
}

TEST_F(Hdf5ArchiveTest, ContainersRotateByCountAndBytes) {
  auto by_count = open({.container_files = 3}, "count");
  const auto data = pattern_bytes(1000, 5);
  for (unsigned i = 0; i < 7; ++i) {
    ASSERT_TRUE(by_count->store(file_facts("/n", i, 1, data.size()), reader_of(data)).ok());
  }
  auto by_bytes = open({.container_files = 100, .container_bytes = 2500}, "bytes");
  for (unsigned i = 0; i < 4; ++i) {  // 1000, 2000, 3000 -> rotate
    ASSERT_TRUE(by_bytes->store(file_facts("/b", i, 1, data.size()), reader_of(data)).ok());
  }
  EXPECT_EQ(containers(),
            (std::vector<std::string>{"c-bytes-000001.h5", "c-bytes-000002.h5", "c-count-000001.h5",
                                      "c-count-000002.h5", "c-count-000003.h5"}));
  // A new writer object with the same name never reopens old containers.
  auto again = open({}, "count");
  auto copy = again->store(file_facts("/n", 99, 1, data.size()), reader_of(data));
  ASSERT_TRUE(copy.ok());
  EXPECT_EQ(copy->location.locator.substr(0, 17), "c-count-000004.h5");
}

TEST_F(Hdf5ArchiveTest, ListRebuildsEveryCopyFromTheContainersAlone) {
  std::vector<StoredCopy> stored;
  {
    auto w1 = open({.container_files = 2}, "r1");
    auto w2 = open({}, "r2");
    for (unsigned i = 0; i < 5; ++i) {
      const auto data = pattern_bytes(300 * i + 1, i);
      auto *writer = i % 2 == 0 ? w1.get() : w2.get();
      auto copy = writer->store(file_facts(fmt::format("/f{}", i), 100 + i, i, data.size()),
                                reader_of(data));
      ASSERT_TRUE(copy.ok());
      stored.push_back(*copy);
    }
  }
  auto reader = open({}, "reader");  // another process's view: nothing cached
  auto listed = reader->list();
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
    EXPECT_EQ(it->file.mtime_ns, copy.file.mtime_ns);
    EXPECT_EQ(it->file.checksum, copy.file.checksum);
    std::vector<std::byte> back;
    EXPECT_TRUE(reader->fetch(it->location, collector(back)).ok());
  }
}

TEST_F(Hdf5ArchiveTest, RemoveUnlinksTheDatasetAndDeletesAnEmptyContainer) {
  auto archive = open({.container_files = 2});
  const auto data = pattern_bytes(1000, 6);
  std::vector<StoredCopy> copies;
  for (unsigned i = 0; i < 3; ++i) {
    auto copy = archive->store(file_facts("/r", i, 1, data.size()), reader_of(data));
    ASSERT_TRUE(copy.ok());
    copies.push_back(*copy);
  }
  ASSERT_TRUE(archive->remove(copies[0].location).ok());
  EXPECT_EQ(archive->describe(copies[0].location).error().code, ENOENT);
  EXPECT_EQ(archive->remove(copies[0].location).error().code, ENOENT);
  std::vector<std::byte> back;
  EXPECT_EQ(archive->fetch(copies[0].location, collector(back)).error().code, ENOENT);
  EXPECT_EQ(containers().size(), 2u);
  ASSERT_TRUE(archive->remove(copies[1].location).ok());  // the first container is now empty
  EXPECT_EQ(containers(), std::vector<std::string>{"c-w0-000002.h5"});
  EXPECT_EQ(archive->describe(copies[1].location).error().code, ENOENT);
  // Emptying the writer's current container: the next store starts a new one.
  ASSERT_TRUE(archive->remove(copies[2].location).ok());
  EXPECT_TRUE(containers().empty());
  auto next = archive->store(file_facts("/r", 9, 1, data.size()), reader_of(data));
  ASSERT_TRUE(next.ok()) << next.error().message;
  EXPECT_EQ(archive->list()->size(), 1u);
}

TEST_F(Hdf5ArchiveTest, ThreadsShareOneArchiveSafely) {
  // HDF5 is not thread-safe: the archive serialises every call. Stores and
  // fetches from several threads must all succeed and verify.
  auto archive = open({.container_files = 4});
  const auto data = pattern_bytes(200000, 8);
  auto first = archive->store(file_facts("/t", 1, 1, data.size()), reader_of(data));
  ASSERT_TRUE(first.ok());
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 5; ++i) {
        if (t % 2 == 0) {
          auto copy = archive->store(file_facts("/t", 10 * t + i, 1, data.size()), reader_of(data));
          if (!copy.ok()) ++failures;
        } else {
          std::vector<std::byte> back;
          if (!archive->fetch(first->location, collector(back)).ok() || back != data) ++failures;
        }
      }
    });
  }
  for (auto &thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(archive->list()->size(), 16u);
}

TEST_F(Hdf5ArchiveTest, AnotherProcessReadsWhileThisOneWrites) {
  // Cross-process safety: a child process fetches the first copy over and
  // over while the parent keeps storing into the same container; every
  // fetch must verify (the flock makes readers wait for complete files).
  auto archive = open({});
  const auto data = pattern_bytes(300000, 9);
  auto first = archive->store(file_facts("/p", 1, 1, data.size()), reader_of(data));
  ASSERT_TRUE(first.ok());
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto reader = Hdf5Archive::open("h", dir_.path() + "/arch", {.writer = "child"}, false);
    int bad = reader.ok() ? 0 : 1;
    for (int i = 0; i < 30 && bad == 0; ++i) {
      std::vector<std::byte> back;
      if (!(*reader)->fetch(first->location, collector(back)).ok() || back != data) bad = 1;
      if (!(*reader)->list().ok()) bad = 1;
    }
    ::_exit(bad);
  }
  for (int i = 0; i < 30; ++i) {
    ASSERT_TRUE(archive->store(file_facts("/p", 2 + i, 1, data.size()), reader_of(data)).ok());
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST_F(Hdf5ArchiveTest, EveryReturnedCopySurvivesASigkillOfTheWriter) {
  // The migration invariant's archive half: a copy store() returned is
  // durable and stays readable when the writer is SIGKILLed while it goes on
  // storing into the same container (here at several points, with rotation).
  for (const int kill_after : {3, 11, 26}) {
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    const std::string writer = fmt::format("k{}", kill_after);
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      ::close(fds[0]);
      auto archive =
          Hdf5Archive::open("h", dir_.path() + "/arch", {.writer = writer, .container_files = 8},
                            /*create=*/true);
      for (unsigned i = 0; archive.ok(); ++i) {
        const auto data = pattern_bytes(40000 + i, i);
        auto copy = (*archive)->store(file_facts("/k", i, 1, data.size()), reader_of(data));
        if (!copy.ok()) ::_exit(1);
        const std::string line = fmt::format("{} {}\n", i, copy->location.locator);
        if (::write(fds[1], line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
          ::_exit(1);
        }
      }
      ::_exit(1);
    }
    ::close(fds[1]);
    std::string reported;
    char buffer[256];
    auto lines = [&] { return std::count(reported.begin(), reported.end(), '\n'); };
    while (lines() < kill_after) {
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

    auto reader = open({}, "reader");
    std::istringstream in(reported);
    unsigned index = 0;
    std::string locator;
    int verified = 0;
    while (in >> index >> locator) {
      const auto data = pattern_bytes(40000 + index, index);
      std::vector<std::byte> back;
      const Status fetched = reader->fetch({"h", locator}, collector(back));
      EXPECT_TRUE(fetched.ok()) << locator << ": " << fetched.error().message;
      EXPECT_EQ(back, data) << locator;
      ++verified;
    }
    EXPECT_GE(verified, kill_after);
  }
}

TEST_F(Hdf5ArchiveTest, H5dumpShowsTheAttributes) {
  if (std::system("h5dump --version > /dev/null 2>&1") != 0) GTEST_SKIP() << "no h5dump";
  auto archive = open();
  const auto data = pattern_bytes(1000, 10);
  auto copy =
      archive->store(file_facts("/proj/visible.dat", 4242, 7, data.size()), reader_of(data));
  ASSERT_TRUE(copy.ok());
  const std::string command = "h5dump -A " + *archive->container_path(copy->location);
  FILE *pipe = ::popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string out;
  char buffer[4096];
  while (std::size_t n = std::fread(buffer, 1, sizeof buffer, pipe)) out.append(buffer, n);
  ASSERT_EQ(::pclose(pipe), 0) << out;
  for (const std::string &expected :
       {std::string("DATASET \"f4242.7.0\""), std::string("ATTRIBUTE \"xxhash64\""),
        std::string("ATTRIBUTE \"path\""), std::string("\"/proj/visible.dat\""),
        std::string("ATTRIBUTE \"generation\""), std::string("ATTRIBUTE \"mtime_ns\""),
        fmt::format("{}", copy->file.checksum), std::string("pdm-hsm-hdf5-1")}) {
    EXPECT_NE(out.find(expected), std::string::npos) << expected << " not in:\n" << out;
  }
}

TEST_F(Hdf5ArchiveTest, LocationsOutsideTheArchiveAreRejected) {
  auto archive = open();
  std::vector<std::byte> back;
  EXPECT_EQ(archive->fetch({"h", "../x.h5:/f1.1.0"}, collector(back)).error().code, ENOENT);
  EXPECT_EQ(archive->describe({"h", "c-w0-000001.h5:/etc"}).error().code, ENOENT);
  EXPECT_EQ(archive->describe({"h", "c-w0-000009.h5:/f1.1.0"}).error().code, ENOENT);
  EXPECT_EQ(archive->remove({"other", "c-w0-000001.h5:/f1.1.0"}).error().code, EINVAL);
}

TEST(Hdf5ArchiveOpen, RefusesAMissingOrForeignDirectory) {
  test::TempDir dir;
  EXPECT_EQ(Hdf5Archive::open("a", dir.path() + "/missing", {}, false).error().code, ENOENT);
  std::ofstream(dir.path() + "/precious") << "x";
  EXPECT_EQ(Hdf5Archive::open("a", dir.path(), {}, true).error().code, EINVAL);
  ASSERT_TRUE(Hdf5Archive::open("a", dir.path() + "/new", {}, true).ok());
  EXPECT_TRUE(Hdf5Archive::open("a", dir.path() + "/new", {}, false).ok());
}

}  // namespace
}  // namespace pdm::hsm

// The recall agent (apps/hsm/agent) and the HSM steps (hsm_file.h) under 4
// ranks, every rank an instance of the parallel DM application with its own
// session in one group (B12, B18), on a file system whose space a release
// frees (B16) and whose files any rank reads, writes or truncates (B20).
// The archive is tests/hsm/test_archive.h (no checksum check of its own).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <mpi.h>
#include <pdm/dmapi.h>
#include <pdm/pdm.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "apps/hsm/agent/gone_list.h"
#include "apps/hsm/agent/recall_agent.h"
#include "apps/hsm/agent/recall_settings.h"
#include "runtime/dm/api/handles.h"
#include "runtime/dm/api/objects.h"
#include "tests/hsm/test_archive.h"
#include "tests/mpi/fs_fixture.h"

namespace pdm::test {
namespace {

using namespace pdm::hsm;

const auto *const kEnv = ::testing::AddGlobalTestEnvironment(new FileSystemEnvironment(64 * 1024));

constexpr std::size_t kSize = 512 * 1024 + 123;  // crosses volumes; not a block multiple

std::string test_path(const std::string &leaf) {
  const auto *info = ::testing::UnitTest::GetInstance()->current_test_info();
  return "/" + std::string(info->name()) + "-" + leaf;
}

bool no_failure() {
  return !::testing::Test::HasFailure();
}

std::string archive_dir() {
  return FileSystemEnvironment::root() + "/archive";
}

void write_file(const std::string &path, std::uint64_t id, std::size_t length) {
  int fd = pdm_open(path.c_str(), O_CREAT | O_TRUNC | O_WRONLY, 0644);
  ASSERT_GE(fd, 0) << pdm_last_error();
  const auto data = pattern(id, 0, length);
  ASSERT_EQ(pdm_pwrite(fd, data.data(), data.size(), 0), static_cast<ssize_t>(length))
      << pdm_last_error();
  ASSERT_EQ(pdm_close(fd), 0);
}

// The whole file through the ordinary read path (events and all); errno on failure.
Result<std::vector<std::byte>> read_file(const std::string &path, std::size_t length) {
  int fd = pdm_open(path.c_str(), O_RDONLY, 0);
  if (fd < 0) return make_error(errno, "open {}: {}", path, pdm_last_error());
  std::vector<std::byte> buffer(length);
  const ssize_t got = pdm_pread(fd, buffer.data(), length, 0);
  const int err = errno;
  pdm_close(fd);
  if (got < 0) return make_error(err, "read {}: {}", path, pdm_last_error());
  buffer.resize(static_cast<std::size_t>(got));
  return buffer;
}

std::uint64_t sum_over_ranks(std::uint64_t value) {
  std::uint64_t total = 0;
  MPI_Allreduce(&value, &total, 1, MPI_UINT64_T, MPI_SUM, MPI_COMM_WORLD);
  return total;
}

// Every rank's agent, for one test.
class HsmAgent : public ::testing::Test {
 protected:
  void SetUp() override {
    if (rank() == 0) std::filesystem::create_directories(archive_dir());
    MPI_Barrier(MPI_COMM_WORLD);
    auto archives = std::make_shared<ArchiveSet>(
        [](const std::string &id) -> Result<std::unique_ptr<Archive>> {
          if (id != "t") return make_error(ENOENT, "no archive {}", id);
          return hsm::test::make_test_archive(id, archive_dir());
        },
        "t");
    auto started = RecallAgent::start(archives, {kDefaultGroup, 2});
    ASSERT_TRUE(started.ok()) << started.error().message;
    agent_ = std::move(*started);
    ASSERT_TRUE(all(no_failure()));
  }
  void TearDown() override {
    // Nobody reads once every rank is here; then each agent leaves.
    all(true);
    if (agent_) {
      EXPECT_TRUE(agent_->stop().ok());
    }
    all(true);
  }

  const api::Session &session() { return agent_->session(); }
  Archive &archive() { return **agent_->archives().get("t"); }

  // Archives and releases `path` on this rank; the handle.
  api::Handle migrate(const std::string &path) {
    auto h = api::handle_of(path);
    EXPECT_TRUE(h.ok()) << h.error().message;
    if (!h.ok()) return {};
    auto copied = archive_copy(session(), *h, path, archive());
    EXPECT_TRUE(copied.ok()) << copied.error().message;
    if (copied.ok()) {
      EXPECT_EQ(copied->outcome, StepOutcome::kDone);
    }
    auto released = release(session(), *h);
    EXPECT_TRUE(released.ok()) << released.error().message;
    if (released.ok()) {
      EXPECT_EQ(released->outcome, StepOutcome::kDone);
    }
    return *h;
  }

  std::optional<HsmRecord> record_of(const std::string &path) {
    auto h = api::handle_of(path);
    EXPECT_TRUE(h.ok());
    if (!h.ok()) return std::nullopt;
    auto record = read_record(session(), *h);
    EXPECT_TRUE(record.ok()) << record.error().message;
    return record.ok() ? *record : std::nullopt;
  }

  std::unique_ptr<RecallAgent> agent_;
};

// B16, B18: rank 0 migrates and releases a file (its blocks become a hole:
// the space is freed); then every rank reads it at once. Each read raises a
// READ event on its own rank, handled by that rank's agent; the EXCL right
// orders them, so exactly one rank fetches from the archive and every rank
// reads the original bytes.
TEST_F(HsmAgent, ReleasedFileReadOnEveryRankIsRecalledOnceB16B18) {
  const std::string path = test_path("f");
  if (rank() == 0) {
    write_file(path, 61, kSize);
    const api::Handle h = migrate(path);
    auto extents = api::allocation(session(), h, 0);
    ASSERT_TRUE(extents.ok()) << extents.error().message;
    for (const auto &extent : *extents) EXPECT_FALSE(extent.data) << "released space is a hole";
    auto record = record_of(path);
    ASSERT_TRUE(record.has_value());
    EXPECT_EQ(record->state, FileState::kMigrated);
  }
  ASSERT_TRUE(all(no_failure()));
  const auto before = agent_->stats();
  auto data = read_file(path, kSize);
  ASSERT_TRUE(data.ok()) << data.error().message;
  EXPECT_TRUE(*data == pattern(61, 0, kSize)) << "recalled data differs";
  ASSERT_TRUE(all(no_failure()));
  const auto after = agent_->stats();
  EXPECT_EQ(sum_over_ranks(after.recalls - before.recalls), 1u) << "one recall per file";
  EXPECT_EQ(sum_over_ranks(after.failed - before.failed), 0u);
  if (rank() == 0) {
    auto record = record_of(path);
    ASSERT_TRUE(record.has_value());
    EXPECT_EQ(record->state, FileState::kPremigrated);
    EXPECT_TRUE(api::get_regions(session(), *api::handle_of(path))->empty());
  }
}

// A write to a migrated file on another rank than the one that migrated it:
// the WRITE event recalls first, then the file is resident with a stale
// copy, and the write lands on the recalled data.
TEST_F(HsmAgent, WriteToMigratedFileRecallsThenMakesItResidentAndStale) {
  const std::string path = test_path("f");
  if (rank() == 0) {
    write_file(path, 62, kSize);
    migrate(path);
  }
  ASSERT_TRUE(all(no_failure()));
  const std::string patch = "written by rank 2";
  if (rank() == 2) {
    int fd = pdm_open(path.c_str(), O_WRONLY, 0);
    ASSERT_GE(fd, 0) << pdm_last_error();
    EXPECT_EQ(pdm_pwrite(fd, patch.data(), patch.size(), 70000), static_cast<ssize_t>(patch.size()))
        << pdm_last_error();
    EXPECT_EQ(pdm_close(fd), 0);
    EXPECT_EQ(agent_->stats().recalls, 1u) << "rank 2's agent handled rank 2's event";
  }
  ASSERT_TRUE(all(no_failure()));
  if (rank() == 3) {
    auto expected = pattern(62, 0, kSize);
    std::memcpy(expected.data() + 70000, patch.data(), patch.size());
    auto data = read_file(path, kSize);
    ASSERT_TRUE(data.ok()) << data.error().message;
    EXPECT_TRUE(*data == expected);
    auto record = record_of(path);
    ASSERT_TRUE(record.has_value());
    EXPECT_EQ(record->state, FileState::kResident);
    EXPECT_TRUE(record->stale);
    EXPECT_TRUE(record->location.has_value()) << "the stale copy stays known for remove";
  }
}

// A truncate of a migrated file recalls first, then shrinks the data.
TEST_F(HsmAgent, TruncateOfMigratedFileRecallsFirst) {
  const std::string path = test_path("f");
  if (rank() == 0) {
    write_file(path, 63, kSize);
    migrate(path);
  }
  ASSERT_TRUE(all(no_failure()));
  if (rank() == 1) {
    int fd = pdm_open(path.c_str(), O_WRONLY, 0);
    ASSERT_GE(fd, 0) << pdm_last_error();
    EXPECT_EQ(pdm_ftruncate(fd, kSize / 2), 0) << pdm_last_error();
    EXPECT_EQ(pdm_close(fd), 0);
    auto data = read_file(path, kSize);
    ASSERT_TRUE(data.ok()) << data.error().message;
    EXPECT_TRUE(*data == pattern(63, 0, kSize / 2));
    auto record = record_of(path);
    ASSERT_TRUE(record.has_value());
    EXPECT_EQ(record->state, FileState::kResident);
    EXPECT_TRUE(record->stale);
  }
}

// A corrupted archive copy: the read fails with EIO (never wrong data), the
// file stays migrated; once the copy is repaired the read works.
TEST_F(HsmAgent, ChecksumMismatchInTheArchiveGivesEioNeverWrongData) {
  const std::string path = test_path("f");
  std::string copy_path;
  if (rank() == 0) {
    write_file(path, 64, kSize);
    migrate(path);
    auto record = record_of(path);
    ASSERT_TRUE(record.has_value());
    copy_path = hsm::test::test_archive_data_path(archive_dir(), *record->location);
    std::fstream copy(copy_path, std::ios::in | std::ios::out | std::ios::binary);
    copy.seekp(1000);
    copy.put('\x5a' ^ static_cast<char>(pattern(64, 1000, 1)[0]));
  }
  ASSERT_TRUE(all(no_failure()));
  if (rank() == 3) {
    auto data = read_file(path, kSize);
    ASSERT_FALSE(data.ok()) << "a corrupt copy was handed to the reader";
    EXPECT_EQ(data.error().code, EIO);
    EXPECT_EQ(agent_->stats().failed, 1u);
  }
  ASSERT_TRUE(all(no_failure()));
  if (rank() == 0) {
    auto record = record_of(path);
    ASSERT_TRUE(record.has_value());
    EXPECT_EQ(record->state, FileState::kMigrated);
    std::fstream copy(copy_path, std::ios::in | std::ios::out | std::ios::binary);
    copy.seekp(1000);
    copy.put(static_cast<char>(pattern(64, 1000, 1)[0]));
  }
  ASSERT_TRUE(all(no_failure()));
  if (rank() == 3) {
    auto data = read_file(path, kSize);
    ASSERT_TRUE(data.ok()) << data.error().message;
    EXPECT_TRUE(*data == pattern(64, 0, kSize));
  }
}

// The migration invariant's check: a file written after its copy was taken
// is not released, and its record says the copy is stale.
TEST_F(HsmAgent, FileChangedAfterItsCopyIsNotReleased) {
  if (rank() != 0) return;
  const std::string path = test_path("f");
  write_file(path, 65, kSize);
  auto h = api::handle_of(path);
  ASSERT_TRUE(h.ok());
  auto copied = archive_copy(session(), *h, path, archive());
  ASSERT_TRUE(copied.ok()) << copied.error().message;
  write_file(path, 66, kSize);
  auto released = release(session(), *h);
  ASSERT_TRUE(released.ok()) << released.error().message;
  EXPECT_EQ(released->outcome, StepOutcome::kChanged);
  auto record = record_of(path);
  ASSERT_TRUE(record.has_value());
  EXPECT_EQ(record->state, FileState::kResident);
  EXPECT_TRUE(record->stale);
  auto data = read_file(path, kSize);
  ASSERT_TRUE(data.ok()) << data.error().message;
  EXPECT_TRUE(*data == pattern(66, 0, kSize));
}

// Six migrated files read at once by six threads of rank 1: each read's
// event goes to rank 1's agent, which recalls every file (six recalls) but
// never more than max_recalls (2 here) at a time; the rest wait queued.
TEST_F(HsmAgent, ConcurrentRecallsOfOneRankAreBoundedByMaxRecalls) {
  constexpr int kFiles = 6;
  constexpr std::size_t kSmall = 128 * 1024;
  if (rank() == 0) {
    for (int i = 0; i < kFiles; ++i) {
      const std::string path = test_path(std::to_string(i));
      write_file(path, 70 + static_cast<std::uint64_t>(i), kSmall);
      migrate(path);
    }
  }
  ASSERT_TRUE(all(no_failure()));
  if (rank() == 1) {
    std::vector<std::thread> readers;
    std::vector<int> identical(kFiles, 0);
    for (int i = 0; i < kFiles; ++i) {
      readers.emplace_back([&, i] {
        auto data = read_file(test_path(std::to_string(i)), kSmall);
        identical[static_cast<std::size_t>(i)] =
            data.ok() && *data == pattern(70 + static_cast<std::uint64_t>(i), 0, kSmall);
      });
    }
    for (auto &reader : readers) reader.join();
    for (int i = 0; i < kFiles; ++i) EXPECT_EQ(identical[static_cast<std::size_t>(i)], 1) << i;
    const RecallStats stats = agent_->stats();
    EXPECT_EQ(stats.recalls, static_cast<std::uint64_t>(kFiles));
    EXPECT_GE(stats.peak, 1u);
    EXPECT_LE(stats.peak, 2u) << "more recalls at once than max_recalls";
  }
}

// pdm-hsm recall: a recall made by a command (no event) brings the data back.
TEST_F(HsmAgent, ExplicitRecallBringsTheDataBack) {
  if (rank() != 1) return;
  const std::string path = test_path("f");
  write_file(path, 67, kSize);
  const api::Handle h = migrate(path);
  auto recalled = agent_->recall(h);
  ASSERT_TRUE(recalled.ok()) << recalled.error().message;
  EXPECT_EQ(*recalled, StepOutcome::kDone);
  auto again = agent_->recall(h);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, StepOutcome::kUnchanged);
  std::vector<std::byte> check(kSize);
  auto read = api::read_invisible(session(), h, 0, check);
  ASSERT_TRUE(read.ok());
  EXPECT_TRUE(check == pattern(67, 0, kSize));
}

// Issue #6, "DESTROY/REMOVE events keep the archive tidy": a migrated file
// removed on another rank than the one that migrated it (B18: the REMOVE
// goes to the agent on the remover's rank) has its copy noted in the root's
// pdm.gone with the removal time before the file goes; a file without a
// copy adds nothing; the removals themselves succeed.
TEST_F(HsmAgent, RemovalOfAnArchivedFileNotesItsCopyInPdmGone) {
  const std::string migrated = test_path("migrated");
  const std::string plain = test_path("plain");
  std::string location;
  if (rank() == 0) {
    write_file(migrated, 68, kSize);
    write_file(plain, 69, 100);
    migrate(migrated);
    auto record = record_of(migrated);
    ASSERT_TRUE(record.has_value() && record->location.has_value());
    location = record->location->encode();
  }
  ASSERT_TRUE(all(no_failure()));
  auto root = api::handle_of("/");
  ASSERT_TRUE(root.ok());
  auto before = read_gone(session(), *root);
  ASSERT_TRUE(before.ok()) << before.error().message;
  ASSERT_TRUE(all(no_failure()));
  const auto stats_before = agent_->stats();
  if (rank() == 2) {
    EXPECT_EQ(pdm_unlink(migrated.c_str()), 0) << pdm_last_error();
    EXPECT_EQ(pdm_unlink(plain.c_str()), 0) << pdm_last_error();
  }
  ASSERT_TRUE(all(no_failure()));
  const auto stats_after = agent_->stats();
  EXPECT_EQ(sum_over_ranks(stats_after.removals - stats_before.removals), 1u);
  if (rank() == 2) {
    EXPECT_EQ(stats_after.removals - stats_before.removals, 1u) << "noted on the remover's rank";
  }
  if (rank() == 0) {
    auto after = read_gone(session(), *root);
    ASSERT_TRUE(after.ok()) << after.error().message;
    EXPECT_EQ(after->size(), before->size() + 1) << "only the archived file's copy";
    const auto noted = after->find(location);
    ASSERT_NE(noted, after->end()) << location << " is not in pdm.gone";
    EXPECT_TRUE(noted->second.at_removal);
    EXPECT_GT(noted->second.since_ns, 0);
    EXPECT_FALSE(api::handle_of(migrated).ok()) << "the removal went on";
    // Leave the list as it was for the other tests.
    EXPECT_TRUE(write_gone(session(), *root, *before).ok());
  }
}

// The recall bound is a setting (recall_settings.h): an agent started
// without one, as pdm get and the MPI-IO shim start theirs, takes it from
// PDM_HSM_MAX_RECALLS, else from the mounted fs config, else 4.
TEST(HsmAgentSetting, AnAgentStartedWithoutABoundTakesTheSetting) {
  auto archives = std::make_shared<ArchiveSet>(
      [](const std::string &id) -> Result<std::unique_ptr<Archive>> {
        return make_error(ENOENT, "no archive {}", id);
      },
      "t");
  auto start_stop = [&]() -> unsigned {
    auto agent = RecallAgent::start(archives);
    EXPECT_TRUE(agent.ok()) << agent.error().message;
    if (!agent.ok()) return 0;
    const unsigned bound = (*agent)->max_recalls();
    all(true);  // every rank started before any leaves
    EXPECT_TRUE((*agent)->stop().ok());
    all(true);
    // With the last agent gone, REMOVE is out of the fs event list again: an
    // unlink does not fail with EIO for want of a disposition.
    const std::string path = fmt::format("/setting-{}-{}", rank(), bound);
    write_file(path, 90, 10);
    EXPECT_EQ(pdm_unlink(path.c_str()), 0) << pdm_last_error();
    return bound;
  };
  ::setenv(kMaxRecallsEnv, "3", 1);
  EXPECT_EQ(start_stop(), 3u);
  ::unsetenv(kMaxRecallsEnv);
  EXPECT_EQ(start_stop(), kDefaultMaxRecalls);  // the test fs config has no [hsm] max_recalls
  ::setenv(kMaxRecallsEnv, "0", 1);
  auto refused = RecallAgent::start(archives);
  ::unsetenv(kMaxRecallsEnv);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find(kMaxRecallsEnv), std::string::npos);
  auto explicit_bound = RecallAgent::start(archives, {kDefaultGroup, 0});
  EXPECT_FALSE(explicit_bound.ok());
  EXPECT_TRUE(all(no_failure()));
}

}  // namespace
}  // namespace pdm::test

#include "pfs/config/lease.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <filesystem>

namespace pdm::pfs {
namespace {

constexpr const char *kFsId = "0123456789abcdef";

std::string this_host() {
  char name[HOST_NAME_MAX + 1] = {};
  ::gethostname(name, sizeof name - 1);
  return name;
}

// A pipe whose ends close themselves.
struct Pipe {
  Pipe() { EXPECT_EQ(::pipe(fds), 0); }
  ~Pipe() {
    close_read();
    close_write();
  }
  void close_read() {
    if (fds[0] >= 0) ::close(std::exchange(fds[0], -1));
  }
  void close_write() {
    if (fds[1] >= 0) ::close(std::exchange(fds[1], -1));
  }
  int fds[2] = {-1, -1};
};

// Writes everything or nothing useful; the reader sees EOF if the writer died.
void write_text(int fd, const std::string &text) {
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n <= 0) return;
    done += static_cast<std::size_t>(n);
  }
}

// Reads until EOF.
std::string read_text(int fd) {
  std::string text;
  char buffer[256];
  ssize_t n = 0;
  while ((n = ::read(fd, buffer, sizeof buffer)) > 0)
    text.append(buffer, static_cast<std::size_t>(n));
  return text;
}

// Reads one byte; '\0' if the writer closed without writing.
char read_byte(int fd) {
  char byte = 0;
  return ::read(fd, &byte, 1) == 1 ? byte : '\0';
}

class LeaseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "pdm-lease-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    if (child_ > 0) {
      ::kill(child_, SIGKILL);
      ::waitpid(child_, nullptr, 0);
    }
    std::filesystem::remove_all(dir_);
  }

  // Forks a child that takes the lease, writes '1' (or '0' if it could not)
  // to `ready`, and then waits until `go_on` is closed: it releases the
  // lease and exits, unless the test kills it first.
  void start_holder(Pipe &ready, Pipe &go_on) {
    child_ = ::fork();
    ASSERT_GE(child_, 0);
    if (child_ == 0) {
      ready.close_read();
      go_on.close_write();
      auto lease = MountLease::acquire(dir_, kFsId);
      write_text(ready.fds[1], lease.ok() ? "1" : "0");
      read_byte(go_on.fds[0]);
      const bool released = lease.ok() && lease->release().ok();
      ::_exit(released ? 0 : 1);
    }
    ready.close_write();
    go_on.close_read();
    ASSERT_EQ(read_byte(ready.fds[0]), '1') << "the child could not take the lease";
  }

  int wait_child() {
    int status = 0;
    EXPECT_EQ(::waitpid(child_, &status, 0), child_);
    child_ = -1;
    return status;
  }

  std::string dir_;
  pid_t child_ = -1;
};

TEST_F(LeaseTest, AcquireRecordsTheHolder) {
  auto lease = MountLease::acquire(dir_, kFsId);
  ASSERT_TRUE(lease.ok()) << lease.error().message;
  EXPECT_TRUE(lease->held());
  EXPECT_FALSE(lease->recovered());
  EXPECT_EQ(lease->holder().pid, ::getpid());
  EXPECT_EQ(lease->holder().host, this_host());
  EXPECT_EQ(lease->holder().fs_id, kFsId);
  EXPECT_GT(lease->holder().since, 0);

  auto holder = MountLease::read_holder(dir_);
  ASSERT_TRUE(holder.ok()) << holder.error().message;
  ASSERT_TRUE(holder->has_value());
  EXPECT_EQ(**holder, lease->holder());
}

TEST_F(LeaseTest, ReleaseLeavesNoHolder) {
  auto holder = MountLease::read_holder(dir_);
  ASSERT_TRUE(holder.ok());
  EXPECT_FALSE(holder->has_value()) << "no lease file yet";

  auto lease = MountLease::acquire(dir_, kFsId);
  ASSERT_TRUE(lease.ok()) << lease.error().message;
  ASSERT_TRUE(lease->release().ok());
  EXPECT_FALSE(lease->held());
  EXPECT_TRUE(lease->release().ok()) << "a second release is a no-op";
  EXPECT_FALSE(MountLease::read_holder(dir_)->has_value());

  auto next = MountLease::acquire(dir_, kFsId);
  ASSERT_TRUE(next.ok()) << next.error().message;
  EXPECT_FALSE(next->recovered()) << "a released lease is not stale";
}

TEST_F(LeaseTest, DestructorReleases) {
  { ASSERT_TRUE(MountLease::acquire(dir_, kFsId).ok()); }
  EXPECT_FALSE(MountLease::read_holder(dir_)->has_value());
  EXPECT_TRUE(MountLease::acquire(dir_, kFsId).ok());
}

TEST_F(LeaseTest, SecondAcquireInTheSameProcessIsBusy) {
  auto first = MountLease::acquire(dir_, kFsId);
  ASSERT_TRUE(first.ok());
  auto second = MountLease::acquire(dir_, kFsId);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().code, EBUSY);
  EXPECT_TRUE(first->held());
  EXPECT_EQ(MountLease::read_holder(dir_)->value().pid, ::getpid()) << "the loser wrote nothing";
}

TEST_F(LeaseTest, MovedLeaseStaysHeldUntilItsLastOwnerReleases) {
  auto acquired = MountLease::acquire(dir_, kFsId);
  ASSERT_TRUE(acquired.ok());
  MountLease moved = std::move(acquired).value();
  {
    MountLease other = std::move(moved);
    EXPECT_TRUE(other.held());
  }
  EXPECT_FALSE(MountLease::read_holder(dir_)->has_value());
  EXPECT_TRUE(MountLease::acquire(dir_, kFsId).ok());
}

TEST_F(LeaseTest, ForkedChildCannotTakeTheParentsLease) {
  auto lease = MountLease::acquire(dir_, kFsId);
  ASSERT_TRUE(lease.ok());
  Pipe result;
  child_ = ::fork();
  ASSERT_GE(child_, 0);
  if (child_ == 0) {
    result.close_read();
    auto second = MountLease::acquire(dir_, kFsId);
    write_text(result.fds[1],
               second.ok() ? std::string("acquired")
                           : fmt::format("{} {}", second.error().code, second.error().message));
    // _exit: the child's copy of the parent's lease must not release it.
    ::_exit(0);
  }
  result.close_write();
  const std::string reply = read_text(result.fds[0]);
  EXPECT_EQ(wait_child(), 0);
  EXPECT_EQ(reply.substr(0, reply.find(' ')), std::to_string(EBUSY)) << reply;
  EXPECT_NE(reply.find(fmt::format("already mounted by pid {} on host {} since ", ::getpid(),
                                   this_host())),
            std::string::npos)
      << reply;
  EXPECT_NE(reply.find(kFsId), std::string::npos) << reply;
  EXPECT_NE(reply.find("unmount it first"), std::string::npos) << reply;
  EXPECT_TRUE(lease->held());
  EXPECT_EQ(MountLease::read_holder(dir_)->value().pid, ::getpid());
}

TEST_F(LeaseTest, LeaseOfALiveChildIsBusyWithItsHostAndPid) {
  Pipe ready, go_on;
  start_holder(ready, go_on);
  const pid_t holder = child_;

  auto lease = MountLease::acquire(dir_, kFsId);
  ASSERT_FALSE(lease.ok());
  EXPECT_EQ(lease.error().code, EBUSY);
  EXPECT_NE(lease.error().message.find(
                fmt::format("pdm: file system {} is already mounted by pid {} on host {} since ",
                            kFsId, holder, this_host())),
            std::string::npos)
      << lease.error().message;
  EXPECT_NE(lease.error().message.find("; unmount it first (or wait for that job to end)"),
            std::string::npos)
      << lease.error().message;
  EXPECT_EQ(MountLease::read_holder(dir_)->value().pid, holder);

  go_on.close_write();  // the child releases and exits
  const int status = wait_child();
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  auto after = MountLease::acquire(dir_, kFsId);
  ASSERT_TRUE(after.ok()) << after.error().message;
  EXPECT_FALSE(after->recovered());
}

TEST_F(LeaseTest, LeaseOfAKilledHolderIsRecoveredAndReported) {
  Pipe ready, go_on;
  start_holder(ready, go_on);
  const pid_t holder = child_;
  ASSERT_EQ(::kill(holder, SIGKILL), 0);
  const int status = wait_child();
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

  // The dead holder is still named in the file, but nothing holds the lock.
  EXPECT_EQ(MountLease::read_holder(dir_)->value().pid, holder);
  auto lease = MountLease::acquire(dir_, kFsId);
  ASSERT_TRUE(lease.ok()) << lease.error().message;
  ASSERT_TRUE(lease->recovered().has_value());
  EXPECT_EQ(lease->recovered()->pid, holder);
  EXPECT_EQ(lease->recovered()->host, this_host());
  EXPECT_EQ(lease->recovered()->fs_id, kFsId);
  EXPECT_EQ(MountLease::read_holder(dir_)->value().pid, ::getpid());
}

TEST_F(LeaseTest, MissingVolumeDirectoryIsAnError) {
  auto lease = MountLease::acquire(dir_ + "/absent", kFsId);
  ASSERT_FALSE(lease.ok());
  EXPECT_EQ(lease.error().code, ENOENT);
  EXPECT_NE(lease.error().message.find(dir_ + "/absent/mount.lease"), std::string::npos);
}

TEST(LeaseHolder, SinceIsShownInUtc) {
  LeaseHolder holder;
  holder.since = 86400 + 3600 + 61;
  EXPECT_EQ(holder.since_text(), "1970-01-02 01:01:01 UTC");
}

}  // namespace
}  // namespace pdm::pfs

// Crash safety of the MetaStore: a child process runs a random workload and
// is SIGKILLed at an arbitrary moment. The store it leaves behind must be
// consistent, hold every operation the child reported complete, and show
// the operation in flight either wholly or not at all.
//
// The child reports each completed operation over a pipe; the parent kills
// it after a seed-chosen number of reports and drains the reports written
// before the kill. The parent replays the same seeded workload on a
// reference store, which gives the state after exactly that many operations
// (or one more). Many short rounds on one store, each a new child
// continuing where the last was killed, land kills inside many different
// operations; a mutation split over two transactions fails this test
// within a few dozen rounds. DM attributes are part of the state: one
// set with setdtime (attribute and ctime) is one transaction too.
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <cstdint>
#include <filesystem>
#include <iterator>
#include <map>
#include <random>
#include <set>
#include <source_location>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include <fmt/format.h>

#include "pfs/meta/meta_store.h"
#include "tests/unit/unit_support.h"

namespace {

using pdm::test::must;
using pdm::test::TempDir;

namespace fs = std::filesystem;
using pdm::Result;
using pdm::Status;
using pdm::pfs::Inode;
using pdm::pfs::InodeNumber;
using pdm::pfs::kRootInode;
using pdm::pfs::MetaStoreOptions;
using Store = pdm::pfs::MetaStore;

// The child gives up after this many operations if nobody kills it first.
constexpr std::uint32_t kMaxSteps = 1'000'000;

// A deterministic random workload over a small namespace, so names collide
// and every rename case (replace a file, replace an empty directory, move a
// directory into its own subtree, ...) comes up. The same seed applied to
// the same store state makes the same calls. Calls refused with a namespace
// errno are part of the workload; any other failure is returned.
class Workload {
 public:
  explicit Workload(std::uint64_t seed) : rng_(seed) {}

  Status step(Store &store) {
    // Every random draw happens up front, whatever the operation turns out to be.
    const std::uint64_t kind = rng_() % 100;
    const auto path = random_path();
    const std::string name = random_name();
    const auto other_path = random_path();
    const std::string other_name = random_name();
    const bool coin = rng_() % 2 == 0;
    const std::uint64_t size = rng_() % (std::uint64_t{1} << 30);
    ++clock_;

    auto parent = store.resolve(path);
    if (!parent.ok()) return tolerate(parent.error());
    const InodeNumber dir = parent->ino;
    if (kind < 30) return count(store.create(dir, name, 0644, 1, 2, coin));
    if (kind < 42) return count(store.mkdir(dir, name, 0755, 1, 2));
    if (kind < 67) {
      auto other = store.resolve(other_path);
      if (!other.ok()) return tolerate(other.error());
      return count(store.rename(dir, name, other->ino, other_name));
    }
    if (kind < 80) return count(store.unlink(dir, name));
    if (kind < 85) return count(store.rmdir(dir, name));
    if (kind < 93) {
      auto target = store.lookup(dir, name);
      if (!target.ok()) return tolerate(target.error());
      if (coin) return count(store.extend(target->ino, size, clock_));
      pdm::pfs::AttrChange change;
      change.size = size;
      return count(store.set_attr(target->ino, change));
    }
    if (kind < 97) {
      // DM attributes (dm_set_dmattr / dm_remove_dmattr, setdtime by coin).
      auto target = store.lookup(dir, name);
      if (!target.ok()) return tolerate(target.error());
      const std::string attr = size % 2 == 0 ? "state" : "loc";
      if (kind < 95) {
        return count(store.set_dmattr(target->ino, target->generation, attr,
                                      fmt::format("v{}", size), coin));
      }
      return count(store.remove_dmattr(target->ino, target->generation, attr, coin));
    }
    auto orphans = store.orphans();
    if (!orphans.ok()) return orphans.error();
    if (orphans->empty()) return {};
    return count(store.forget(orphans->front()));
  }

  std::uint64_t successes() const { return successes_; }

 private:
  std::vector<std::string> random_path() {
    // Mostly shallow, so most calls find their directory.
    const std::uint64_t depth = rng_() % 8;
    std::vector<std::string> out(depth < 4 ? 0 : depth < 7 ? 1 : 2);
    for (auto &component : out) component = rng_() % 2 == 0 ? "d0" : "d1";
    return out;
  }
  std::string random_name() {
    static const char *const kNames[] = {"d0", "d1", "f0", "f1", "f2"};
    return kNames[rng_() % std::size(kNames)];
  }
  template <typename R>
  Status count(const R &result) {
    if (!result.ok()) return tolerate(result.error());
    ++successes_;
    return {};
  }
  static Status tolerate(const pdm::Error &error) {
    switch (error.code) {
      case ENOENT:
      case ENOTDIR:
      case EEXIST:
      case EISDIR:
      case ENOTEMPTY:
      case EINVAL:
      case EBUSY:
        return {};
      default:
        return error;
    }
  }

  std::mt19937_64 rng_;
  std::uint64_t clock_ = 0;
  std::uint64_t successes_ = 0;
};

// Everything a store holds except the times that come from the clock.
struct Fingerprint {
  std::map<InodeNumber, std::tuple<std::uint64_t, std::uint32_t, std::uint32_t, std::uint32_t,
                                   std::uint32_t, std::uint64_t, std::uint32_t, std::uint32_t>>
      inodes;
  std::set<std::tuple<InodeNumber, std::string, InodeNumber>> dentries;
  std::vector<InodeNumber> orphans;
  std::uint64_t next_ino = 0;
  std::map<std::pair<InodeNumber, std::string>, std::string> dmattrs;
  bool operator==(const Fingerprint &) const = default;
};

Fingerprint fingerprint(Store &store) {
  Fingerprint out;
  must(store.for_each_inode([&](const Inode &i) {
    out.inodes[i.ino] = {i.generation, i.mode, i.uid,         i.gid,
                         i.nlink,      i.size, i.stripe_size, i.first_volume};
  }));
  must(store.for_each_dentry([&](InodeNumber parent, std::string_view name, InodeNumber child) {
    out.dentries.emplace(parent, std::string(name), child);
  }));
  out.orphans = must(store.orphans());
  out.next_ino = must(store.stats()).next_ino;
  for (const auto &[ino, fields] : out.inodes) {
    for (const auto &attr : must(store.list_dmattrs(ino, std::get<0>(fields)))) {
      out.dmattrs[{ino, attr.name}] = attr.value;
    }
  }
  return out;
}

// The store's own invariants, independent of any reference run.
void expect_consistent(Store &store) {
  std::map<InodeNumber, Inode> inodes;
  must(store.for_each_inode([&](const Inode &i) { inodes[i.ino] = i; }));
  ASSERT_TRUE(inodes.contains(kRootInode)) << "the root is gone";
  std::map<InodeNumber, std::uint32_t> links;
  std::map<InodeNumber, std::uint32_t> subdirs;
  must(store.for_each_dentry([&](InodeNumber parent, std::string_view name, InodeNumber child) {
    auto p = inodes.find(parent);
    EXPECT_TRUE(p != inodes.end() && p->second.is_dir())
        << "entry " << name << " lives in " << parent << ", which is not a directory";
    auto c = inodes.find(child);
    if (c == inodes.end()) {
      ADD_FAILURE() << "entry " << name << " in " << parent << " points to missing inode " << child;
      return;
    }
    ++links[child];
    if (c->second.is_dir()) ++subdirs[parent];
  }));
  const auto orphan_list = must(store.orphans());
  const std::set<InodeNumber> orphans(orphan_list.begin(), orphan_list.end());
  const auto stats = must(store.stats());
  std::set<std::uint64_t> generations;
  for (const auto &[ino, inode] : inodes) {
    EXPECT_LT(ino, stats.next_ino);
    EXPECT_TRUE(generations.insert(inode.generation).second) << "generation reused by " << ino;
    if (inode.is_dir()) {
      EXPECT_EQ(links[ino], ino == kRootInode ? 0u : 1u) << "entries naming directory " << ino;
      EXPECT_EQ(inode.nlink, 2 + subdirs[ino]) << "nlink of directory " << ino;
      EXPECT_FALSE(orphans.contains(ino)) << "directory " << ino << " is an orphan";
    } else {
      EXPECT_EQ(inode.nlink, links[ino]) << "nlink of file " << ino;
      EXPECT_EQ(inode.nlink == 0, orphans.contains(ino)) << "orphan status of file " << ino;
    }
  }
  for (InodeNumber ino : orphans) EXPECT_TRUE(inodes.contains(ino)) << "orphan " << ino;
  EXPECT_EQ(stats.inodes, inodes.size());
  EXPECT_EQ(stats.orphans, orphans.size());
}

bool read_report(int fd, std::uint32_t &report) {
  std::size_t got = 0;
  auto *bytes = reinterpret_cast<char *>(&report);
  while (got < sizeof report) {
    const ssize_t n = read(fd, bytes + got, sizeof report - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    got += static_cast<std::size_t>(n);
  }
  return true;
}

[[noreturn]] void run_child(const MetaStoreOptions &options, std::uint64_t seed, int report_fd) {
  auto store = Store::open(options);
  if (!store.ok()) _exit(10);
  Workload workload(seed);
  for (std::uint32_t done = 1; done <= kMaxSteps; ++done) {
    if (!workload.step(**store).ok()) _exit(11);
    if (write(report_fd, &done, sizeof done) != static_cast<ssize_t>(sizeof done)) _exit(12);
  }
  _exit(0);
}

struct Crash {
  std::uint32_t reported = 0;  // operations the child reported complete
  int wait_status = 0;
};

// Runs the workload in a child and SIGKILLs it after kill_after reports.
Crash run_and_kill(const MetaStoreOptions &options, std::uint64_t seed, std::uint32_t kill_after) {
  int fds[2];
  if (pipe(fds) != 0) throw std::runtime_error("pipe failed");
  // The smallest pipe keeps the child close behind the parent's count (a
  // 4-byte report each, so at most ~1000 operations ahead).
  (void)fcntl(fds[1], F_SETPIPE_SZ, 4096);
  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    close(fds[0]);
    run_child(options, seed, fds[1]);
  }
  close(fds[1]);
  Crash crash;
  std::uint32_t seen = 0;
  while (seen < kill_after && read_report(fds[0], crash.reported)) ++seen;
  kill(pid, SIGKILL);
  while (waitpid(pid, &crash.wait_status, 0) < 0 && errno == EINTR) {
  }
  // Reports written before the kill landed are still in the pipe.
  while (read_report(fds[0], crash.reported)) {
  }
  close(fds[0]);
  return crash;
}

TEST(MetaStoreCrash, KilledWriterLeavesEveryReportedOperationAndNothingHalfDone) {
  constexpr int kRounds = 150;
  for (std::uint64_t seed = 1; seed <= 3; ++seed) {
    SCOPED_TRACE(fmt::format("seed {}", seed));
    TempDir dir;
    MetaStoreOptions victim;
    victim.dir = dir.path() + "/victim";
    victim.map_size = std::size_t{64} << 20;
    victim.volume_count = 4;
    MetaStoreOptions reference_options = victim;
    reference_options.dir = dir.path() + "/reference";
    auto reference = must(Store::open(reference_options));
    std::mt19937_64 pick(seed);
    std::uint64_t operations = 0;
    std::uint64_t successes = 0;

    // Each round a new child continues the victim store where the last one was killed.
    for (int round = 0; round < kRounds; ++round) {
      SCOPED_TRACE(fmt::format("round {}", round));
      const std::uint64_t round_seed = seed * 1'000'003 + static_cast<std::uint64_t>(round);
      const auto kill_after = static_cast<std::uint32_t>(1 + pick() % 64);
      const Crash crash = run_and_kill(victim, round_seed, kill_after);
      if (WIFEXITED(crash.wait_status)) {
        ASSERT_EQ(WEXITSTATUS(crash.wait_status), 0)
            << "the child failed (10: open, 11: an operation, 12: a report)";
      } else {
        ASSERT_TRUE(WIFSIGNALED(crash.wait_status) && WTERMSIG(crash.wait_status) == SIGKILL);
      }
      ASSERT_GE(crash.reported, kill_after);

      auto store = must(Store::open(victim));
      expect_consistent(*store);
      ASSERT_FALSE(HasFailure());
      const Fingerprint found = fingerprint(*store);

      // Bring the reference to the state after exactly `reported` operations,
      // or after one more: the one whose report the kill cut off may have
      // committed.
      Workload workload(round_seed);
      for (std::uint32_t i = 0; i < crash.reported; ++i) must(workload.step(*reference));
      Fingerprint expected = fingerprint(*reference);
      if (found != expected && crash.reported < kMaxSteps) {
        must(workload.step(*reference));
        expected = fingerprint(*reference);
      }
      ASSERT_TRUE(found == expected)
          << "after " << crash.reported << " reported operations the store holds "
          << found.inodes.size() << " inodes, " << found.dentries.size() << " entries and next ino "
          << found.next_ino << "; the replay holds " << expected.inodes.size() << ", "
          << expected.dentries.size() << " and " << expected.next_ino;
      operations += crash.reported;
      successes += workload.successes();
    }
    // The workload must really change the store, or there is nothing to lose.
    EXPECT_GT(successes, operations / 8);
  }
}

}  // namespace

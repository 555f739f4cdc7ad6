// fsck: a consistent file system is clean; each kind of damage is reported
// with the severity the header documents, and nothing is repaired. The file
// systems are built without MPI: mkfs, then the metadata store directly and
// object files written with plain POSIX where the layout puts them.
#include <dlfcn.h>
#include <fcntl.h>
#include <lmdb.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <source_location>
#include <stdexcept>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "pfs/config/lease.h"
#include "pfs/config/mkfs.h"
#include "pfs/config/volume.h"
#include "pfs/fsck/fsck.h"
#include "pfs/layout.h"
#include "pfs/meta/meta_store.h"
#include "runtime/mpi/codec.h"
#include "tests/unit/unit_support.h"

namespace {

using pdm::test::must;
using pdm::test::TempDir;

namespace fs = std::filesystem;
using pdm::Result;
using pdm::pfs::Finding;
using pdm::pfs::FsckReport;
using pdm::pfs::Inode;
using pdm::pfs::InodeNumber;
using pdm::pfs::kRootInode;
using pdm::pfs::Severity;

constexpr std::uint32_t kStripe = 64 * 1024;
constexpr std::uint32_t kVolumes = 3;

// Writes records of the metadata store behind its back, to damage it the
// way a bug or a bad disk would. The test binary does not link liblmdb
// itself; libpdm has loaded it, so its entry points are looked up.
class RawStore {
 public:
  explicit RawStore(const std::string &dir) {
    env_create_ = lookup<decltype(&mdb_env_create)>("mdb_env_create");
    set_maxdbs_ = lookup<decltype(&mdb_env_set_maxdbs)>("mdb_env_set_maxdbs");
    env_open_ = lookup<decltype(&mdb_env_open)>("mdb_env_open");
    env_close_ = lookup<decltype(&mdb_env_close)>("mdb_env_close");
    txn_begin_ = lookup<decltype(&mdb_txn_begin)>("mdb_txn_begin");
    txn_commit_ = lookup<decltype(&mdb_txn_commit)>("mdb_txn_commit");
    dbi_open_ = lookup<decltype(&mdb_dbi_open)>("mdb_dbi_open");
    put_ = lookup<decltype(&mdb_put)>("mdb_put");
    del_ = lookup<decltype(&mdb_del)>("mdb_del");
    check(env_create_(&env_), "mdb_env_create");
    check(set_maxdbs_(env_, 16), "mdb_env_set_maxdbs");
    check(env_open_(env_, dir.c_str(), MDB_NOLOCK, 0644), "mdb_env_open");
  }
  ~RawStore() { env_close_(env_); }
  RawStore(const RawStore &) = delete;
  RawStore &operator=(const RawStore &) = delete;

  // The store's key of an inode: its number, big-endian.
  static std::string ino_key(InodeNumber ino) {
    std::string key(8, '\0');
    for (int i = 0; i < 8; ++i) key[i] = static_cast<char>((ino >> (8 * (7 - i))) & 0xff);
    return key;
  }

  void put_inode(const Inode &inode) {
    pdm::mpi::Encoder out;
    inode.encode(out);
    const auto &bytes = out.bytes();
    write("inodes", ino_key(inode.ino),
          std::string(reinterpret_cast<const char *>(bytes.data()), bytes.size()));
  }
  void erase_inode(InodeNumber ino) { erase("inodes", ino_key(ino)); }
  void erase_dentry(InodeNumber parent, std::string_view name) {
    erase("dentries", ino_key(parent) + std::string(name));
  }

 private:
  template <typename F>
  static F lookup(const char *name) {
    auto f = reinterpret_cast<F>(dlsym(RTLD_DEFAULT, name));
    if (f == nullptr) throw std::runtime_error(fmt::format("liblmdb is not loaded: {}", name));
    return f;
  }
  static void check(int rc, const char *what) {
    if (rc != 0) throw std::runtime_error(fmt::format("{} failed: {}", what, rc));
  }

  void write(const char *db, std::string key, std::string value) {
    MDB_txn *txn = nullptr;
    check(txn_begin_(env_, nullptr, 0, &txn), "mdb_txn_begin");
    MDB_dbi dbi = 0;
    check(dbi_open_(txn, db, 0, &dbi), "mdb_dbi_open");
    MDB_val k{key.size(), key.data()};
    MDB_val v{value.size(), value.data()};
    check(put_(txn, dbi, &k, &v, 0), "mdb_put");
    check(txn_commit_(txn), "mdb_txn_commit");
  }
  void erase(const char *db, std::string key) {
    MDB_txn *txn = nullptr;
    check(txn_begin_(env_, nullptr, 0, &txn), "mdb_txn_begin");
    MDB_dbi dbi = 0;
    check(dbi_open_(txn, db, 0, &dbi), "mdb_dbi_open");
    MDB_val k{key.size(), key.data()};
    check(del_(txn, dbi, &k, nullptr), "mdb_del");
    check(txn_commit_(txn), "mdb_txn_commit");
  }

  decltype(&mdb_env_create) env_create_;
  decltype(&mdb_env_set_maxdbs) set_maxdbs_;
  decltype(&mdb_env_open) env_open_;
  decltype(&mdb_env_close) env_close_;
  decltype(&mdb_txn_begin) txn_begin_;
  decltype(&mdb_txn_commit) txn_commit_;
  decltype(&mdb_dbi_open) dbi_open_;
  decltype(&mdb_put) put_;
  decltype(&mdb_del) del_;
  MDB_env *env_ = nullptr;
};

// Whether a finding of this severity has every one of the fragments.
bool has_finding(const FsckReport &report, Severity severity,
                 std::initializer_list<std::string_view> fragments) {
  return std::any_of(report.findings.begin(), report.findings.end(), [&](const Finding &f) {
    return f.severity == severity &&
           std::all_of(fragments.begin(), fragments.end(), [&](std::string_view fragment) {
             return f.message.find(fragment) != std::string::npos;
           });
  });
}

std::string describe(const FsckReport &report) {
  std::string text;
  for (const Finding &f : report.findings) {
    text += fmt::format("  {}: {}\n", to_string(f.severity), f.message);
  }
  return text.empty() ? "  (no findings)\n" : text;
}

class Fsck : public ::testing::Test {
 protected:
  // mkfs creates 256 object directories per volume, which takes seconds on
  // a slow disk: the suite makes one file system and each test starts from
  // it restored to the state mkfs left.
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    pdm::pfs::MkfsOptions options;
    options.config_path = dir_->path() + "/fs.conf";
    for (std::uint32_t v = 0; v < kVolumes; ++v) {
      options.volumes.push_back(fmt::format("{}/v{}", dir_->path(), v));
    }
    options.stripe_size = kStripe;
    config_ = new pdm::pfs::FsConfig(must(pdm::pfs::make_file_system(options)));
  }
  static void TearDownTestSuite() {
    delete config_;
    delete dir_;
  }

  void SetUp() override {
    fs::remove_all(config().metadata_dir());
    fs::create_directory(config().metadata_dir());
    for (std::uint32_t v = 0; v < kVolumes; ++v) {
      const std::string volume = config().volume_dir(v);
      for (const auto &fan_out : fs::directory_iterator(pdm::pfs::object_root(volume))) {
        for (const auto &object : fs::directory_iterator(fan_out.path())) {
          fs::remove(object.path());
        }
      }
      const pdm::pfs::VolumeHeader header{pdm::pfs::kVolumeFormat, config().fs_id, v, kVolumes};
      if (auto now = pdm::pfs::read_volume_header(volume); !now.ok() || *now != header) {
        fs::remove(fs::path(volume) / pdm::pfs::kVolumeHeaderName);
        must(pdm::pfs::write_volume_header(volume, header));
      }
    }
  }

  static const pdm::pfs::FsConfig &config() { return *config_; }

  std::unique_ptr<pdm::pfs::MetaStore> open_store() {
    pdm::pfs::MetaStoreOptions options;
    options.dir = config().metadata_dir();
    options.map_size = std::size_t{64} << 20;
    options.default_stripe_size = config().stripe_size;
    options.volume_count = kVolumes;
    return must(pdm::pfs::MetaStore::open(options));
  }

  // A file of `size` bytes with its objects exactly as long as the layout says.
  Inode make_file(pdm::pfs::MetaStore &store, InodeNumber parent, const std::string &name,
                  std::uint64_t size) {
    Inode inode = must(store.create(parent, name, 0644, 0, 0, true)).inode;
    inode = must(store.extend(inode.ino, size, pdm::pfs::now_ns()));
    const pdm::pfs::Layout layout(inode.stripe_size, kVolumes, inode.first_volume);
    for (std::uint32_t v = 0; v < kVolumes; ++v) {
      const std::uint64_t length = layout.object_length_for(size, v);
      if (length > 0) write_object(v, inode.ino, length);
    }
    return inode;
  }

  void write_object(std::uint32_t volume, InodeNumber ino, std::uint64_t length) {
    const std::string path = pdm::pfs::object_path(config().volume_dir(volume), ino);
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT, 0600);
    ASSERT_GE(fd, 0) << path;
    const std::string data(length, 'x');
    ASSERT_EQ(::pwrite(fd, data.data(), data.size(), 0), static_cast<ssize_t>(length));
    ::close(fd);
  }

  // The tree every test starts from:
  //   /        root
  //   /d       directory
  //   /d/a     file of 3 stripes + 10 bytes (objects on all 3 volumes)
  //   /b       file of 1000 bytes (one object)
  //   /empty   file of 0 bytes (no object)
  void populate() {
    auto store = open_store();
    d_ = must(store->mkdir(kRootInode, "d", 0755, 0, 0));
    a_ = make_file(*store, d_.ino, "a", 3 * kStripe + 10);
    b_ = make_file(*store, kRootInode, "b", 1000);
    empty_ = make_file(*store, kRootInode, "empty", 0);
  }

  FsckReport check() { return must(pdm::pfs::fsck(config())); }

  static inline TempDir *dir_ = nullptr;
  static inline pdm::pfs::FsConfig *config_ = nullptr;
  Inode d_, a_, b_, empty_;
};

TEST_F(Fsck, ConsistentFileSystemIsCleanWithoutFindings) {
  populate();
  const FsckReport report = check();
  EXPECT_TRUE(report.clean());
  EXPECT_TRUE(report.findings.empty()) << describe(report);
  EXPECT_EQ(report.inodes, 5u);
  EXPECT_EQ(report.directories, 2u);
  EXPECT_EQ(report.files, 3u);
  EXPECT_EQ(report.objects, 4u);  // three of /d/a, one of /b
  EXPECT_EQ(report.bytes, 3 * kStripe + 10 + 1000);
  EXPECT_EQ(report.object_bytes, 3 * kStripe + 10 + 1000);
}

TEST_F(Fsck, NeverMountedFileSystemIsCleanAndNoStoreIsCreated) {
  const FsckReport report = check();
  EXPECT_TRUE(report.clean()) << describe(report);
  EXPECT_TRUE(has_finding(report, Severity::note, {"does not exist yet"})) << describe(report);
  EXPECT_FALSE(fs::exists(config().metadata_dir() + "/data.mdb"));
}

TEST_F(Fsck, MountedFileSystemIsRefusedWithEbusyNamingTheHolder) {
  populate();
  auto lease = must(pdm::pfs::MountLease::acquire(config().volumes.front(), config().fs_id));
  auto report = pdm::pfs::fsck(config());
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.error().code, EBUSY);
  EXPECT_NE(report.error().message.find(fmt::format("pid {}", ::getpid())), std::string::npos)
      << report.error().message;
}

TEST_F(Fsck, LeaseIsReleasedAfterTheCheck) {
  populate();
  (void)check();
  EXPECT_TRUE(pdm::pfs::MountLease::acquire(config().volumes.front(), config().fs_id).ok());
}

// A job that died mounted leaves the lease naming it with no lock: fsck
// takes the lease and says so (a note, not an error), naming the dead holder.
TEST_F(Fsck, LeaseOfAJobThatDiedMountedIsANoteNamingIt) {
  populate();
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // Takes the lease and exits without releasing it, as a killed job would.
    auto lease = pdm::pfs::MountLease::acquire(config().volumes.front(), config().fs_id);
    ::_exit(lease.ok() ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  const FsckReport report = check();
  EXPECT_TRUE(report.clean()) << describe(report);
  EXPECT_TRUE(
      has_finding(report, Severity::note, {"did not unmount", fmt::format("pid {}", child)}))
      << describe(report);
  // The check released the lease it took: the next one finds no dead holder.
  const FsckReport again = check();
  EXPECT_FALSE(has_finding(again, Severity::note, {"did not unmount"})) << describe(again);
}

TEST_F(Fsck, EntryNamingAMissingInodeIsAnError) {
  populate();
  RawStore(config().metadata_dir()).erase_inode(a_.ino);
  const FsckReport report = check();
  EXPECT_FALSE(report.clean());
  EXPECT_TRUE(has_finding(report, Severity::error,
                          {"/d/a", fmt::format("inode {}", a_.ino), "does not exist"}))
      << describe(report);
  // Its objects now belong to no inode.
  EXPECT_TRUE(has_finding(
      report, Severity::warning,
      {pdm::pfs::object_path(config().volume_dir(0), a_.ino), "unreferenced object, reclaimable"}))
      << describe(report);
}

TEST_F(Fsck, StrayObjectIsAReclaimableWarning) {
  populate();
  write_object(1, 999, 4096);
  const FsckReport report = check();
  EXPECT_TRUE(report.clean()) << describe(report);
  EXPECT_TRUE(has_finding(report, Severity::warning,
                          {pdm::pfs::object_path(config().volume_dir(1), 999), "inode 999",
                           "unreferenced object, reclaimable"}))
      << describe(report);
  EXPECT_EQ(report.objects, 5u);
}

TEST_F(Fsck, ObjectOfADirectoryIsAReclaimableWarning) {
  populate();
  write_object(0, d_.ino, 10);
  const FsckReport report = check();
  EXPECT_TRUE(report.clean()) << describe(report);
  EXPECT_TRUE(has_finding(report, Severity::warning, {"/d", "directory", "reclaimable"}))
      << describe(report);
}

TEST_F(Fsck, ObjectLongerThanTheFileNeedsIsAWarning) {
  populate();
  const pdm::pfs::Layout layout(b_.stripe_size, kVolumes, b_.first_volume);
  write_object(b_.first_volume, b_.ino, 5000);
  // An object on a volume the file does not reach yet is beyond its end too.
  write_object((b_.first_volume + 1) % kVolumes, b_.ino, 1);
  const FsckReport report = check();
  EXPECT_TRUE(report.clean()) << describe(report);
  EXPECT_TRUE(has_finding(report, Severity::warning,
                          {"/b", "5000 bytes", "needs 1000", "bytes beyond end of file"}))
      << describe(report);
  EXPECT_TRUE(has_finding(report, Severity::warning, {"/b", "1 bytes", "needs 0"}))
      << describe(report);
  EXPECT_EQ(layout.object_length_for(b_.size, b_.first_volume), 1000u);
}

TEST_F(Fsck, FileNlinkThatDiffersFromItsNamesIsAnError) {
  populate();
  Inode lying = b_;
  lying.nlink = 2;
  RawStore(config().metadata_dir()).put_inode(lying);
  const FsckReport report = check();
  EXPECT_FALSE(report.clean());
  EXPECT_TRUE(has_finding(report, Severity::error, {"/b", "nlink is 2", "1 entries name it"}))
      << describe(report);
}

TEST_F(Fsck, DirectoryNlinkOtherThanTwoPlusSubdirectoriesIsAnError) {
  populate();
  auto store = open_store();
  Inode root = must(store->get(kRootInode));
  store.reset();
  root.nlink = 7;
  RawStore(config().metadata_dir()).put_inode(root);
  const FsckReport report = check();
  EXPECT_FALSE(report.clean());
  EXPECT_TRUE(has_finding(report, Severity::error, {"/ (inode 1)", "nlink is 7", "nlink 3"}))
      << describe(report);
}

TEST_F(Fsck, UnlinkedOrphanIsPendingDestroyNotAnError) {
  populate();
  must(open_store()->unlink(kRootInode, "b"));
  const FsckReport report = check();
  EXPECT_TRUE(report.clean()) << describe(report);
  EXPECT_TRUE(
      has_finding(report, Severity::note, {fmt::format("inode {}", b_.ino), "pending destroy"}))
      << describe(report);
  // Its object is still accounted to it: no warning.
  EXPECT_EQ(report.count(Severity::warning), 0u) << describe(report);
}

TEST_F(Fsck, NlinkZeroOutsideTheOrphanListIsAnError) {
  populate();
  Inode lying = b_;
  lying.nlink = 0;
  RawStore(config().metadata_dir()).put_inode(lying);
  const FsckReport report = check();
  EXPECT_FALSE(report.clean());
  EXPECT_TRUE(has_finding(report, Severity::error, {"/b", "not in the orphan list"}))
      << describe(report);
  EXPECT_TRUE(has_finding(report, Severity::error, {"/b", "nlink is 0 but 1 entries name it"}))
      << describe(report);
}

TEST_F(Fsck, InodeUnreachableFromTheRootIsAnError) {
  populate();
  RawStore(config().metadata_dir()).erase_dentry(kRootInode, "d");
  const FsckReport report = check();
  EXPECT_FALSE(report.clean());
  EXPECT_TRUE(has_finding(report, Severity::error,
                          {fmt::format("inode {} (directory", d_.ino), "not reachable"}))
      << describe(report);
  EXPECT_TRUE(has_finding(report, Severity::error,
                          {fmt::format("inode {} (file", a_.ino), "not reachable"}))
      << describe(report);
  // The root lost its only subdirectory's entry but not its link count.
  EXPECT_TRUE(has_finding(report, Severity::error, {"/ (inode 1)", "nlink is 3"}))
      << describe(report);
}

TEST_F(Fsck, MissingRootIsAnError) {
  populate();
  RawStore(config().metadata_dir()).erase_inode(kRootInode);
  const FsckReport report = check();
  EXPECT_FALSE(report.clean());
  EXPECT_TRUE(has_finding(report, Severity::error, {"root directory", "does not exist"}))
      << describe(report);
}

TEST_F(Fsck, VolumeOfAnotherFileSystemIsAnErrorAndStopsTheCheck) {
  populate();
  write_object(1, 999, 10);  // would be a warning, but the check must not get that far
  const std::string header = config().volume_dir(2) + "/" + pdm::pfs::kVolumeHeaderName;
  fs::remove(header);
  must(pdm::pfs::write_volume_header(config().volume_dir(2),
                                     {pdm::pfs::kVolumeFormat, "0123456789abcdef", 2, kVolumes}));
  const FsckReport report = check();
  EXPECT_FALSE(report.clean());
  ASSERT_EQ(report.findings.size(), 1u) << describe(report);
  EXPECT_TRUE(has_finding(report, Severity::error, {config().volume_dir(2), "0123456789abcdef"}))
      << describe(report);
}

TEST_F(Fsck, FindingsAreReportedNotRepaired) {
  populate();
  write_object(1, 999, 10);
  const std::string stray = pdm::pfs::object_path(config().volume_dir(1), 999);
  EXPECT_EQ(check().count(Severity::warning), 1u);
  EXPECT_TRUE(fs::exists(stray));
  EXPECT_EQ(check().count(Severity::warning), 1u);
}

}  // namespace

// MetaStore: every operation and every errno it documents, on a fresh LMDB
// environment per test.
#include <dlfcn.h>
#include <lmdb.h>
#include <stdlib.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <source_location>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include <fmt/format.h>

#include "pfs/meta/meta_store.h"
#include "tests/unit/unit_support.h"

namespace {

using pdm::test::code_of;
using pdm::test::must;
using pdm::test::TempDir;

namespace fs = std::filesystem;
using pdm::Result;
using pdm::pfs::AttrChange;
using pdm::pfs::DirEntry;
using pdm::pfs::Inode;
using pdm::pfs::InodeNumber;
using pdm::pfs::kRootInode;
using pdm::pfs::MetaStoreOptions;
using Store = pdm::pfs::MetaStore;

// 0 for success, else the errno.
// Everything a store holds except timestamps, for before/after comparisons.
struct Snapshot {
  std::map<InodeNumber, std::tuple<std::uint64_t, std::uint32_t, std::uint32_t, std::uint64_t>>
      inodes;  // generation, mode, nlink, size
  std::set<std::tuple<InodeNumber, std::string, InodeNumber>> dentries;
  std::vector<InodeNumber> orphans;
  std::uint64_t next_ino = 0;
  bool operator==(const Snapshot &) const = default;
};

Snapshot snapshot(Store &store) {
  Snapshot out;
  must(store.for_each_inode([&](const Inode &i) {
    out.inodes[i.ino] = {i.generation, i.mode, i.nlink, i.size};
  }));
  must(store.for_each_dentry([&](InodeNumber parent, std::string_view name, InodeNumber child) {
    out.dentries.emplace(parent, std::string(name), child);
  }));
  out.orphans = must(store.orphans());
  out.next_ino = must(store.stats()).next_ino;
  return out;
}

class MetaStore : public ::testing::Test {
 protected:
  void SetUp() override { store_ = open_store(); }

  MetaStoreOptions options() const {
    MetaStoreOptions o;
    o.dir = dir_.path() + "/meta";
    o.map_size = std::size_t{64} << 20;
    o.default_stripe_size = 65536;
    o.volume_count = 3;
    return o;
  }
  std::unique_ptr<Store> open_store() { return must(Store::open(options())); }
  void reopen() {
    store_.reset();
    store_ = open_store();
  }

  Inode file(InodeNumber parent, std::string_view name) {
    auto created = must(store_->create(parent, name, 0644, 10, 20, true));
    EXPECT_TRUE(created.created);
    return created.inode;
  }
  Inode dir(InodeNumber parent, std::string_view name) {
    return must(store_->mkdir(parent, name, 0755, 10, 20));
  }
  std::uint32_t nlink(InodeNumber ino) { return must(store_->get(ino)).nlink; }
  std::vector<std::string> names(InodeNumber d) {
    std::vector<std::string> out;
    for (const auto &e : must(store_->readdir(d, "", 1000))) out.push_back(e.name);
    return out;
  }
  // Sets a directory's times to 0 so a test can see an operation update them.
  void clear_times(InodeNumber ino) {
    AttrChange change;
    change.mtime = 0;
    must(store_->set_attr(ino, change));
  }

  TempDir dir_;
  std::unique_ptr<Store> store_;
};

// ---- open, root, persistence ------------------------------------------------

TEST_F(MetaStore, NewStoreHasRootDirectory) {
  const Inode root = must(store_->get(kRootInode));
  EXPECT_EQ(root.ino, kRootInode);
  EXPECT_EQ(root.generation, 1u);
  EXPECT_EQ(root.mode, S_IFDIR | 0755u);
  EXPECT_EQ(root.uid, static_cast<std::uint32_t>(getuid()));
  EXPECT_EQ(root.gid, static_cast<std::uint32_t>(getgid()));
  EXPECT_EQ(root.nlink, 2u);
  EXPECT_EQ(root.size, 0u);
  EXPECT_GT(root.ctime, 0);
  EXPECT_TRUE(names(kRootInode).empty());
  const auto stats = must(store_->stats());
  EXPECT_EQ(stats.inodes, 1u);
  EXPECT_EQ(stats.orphans, 0u);
  EXPECT_EQ(stats.next_ino, 2u);
}

TEST_F(MetaStore, OpenCreatesMissingDirectories) {
  MetaStoreOptions o = options();
  o.dir = dir_.path() + "/a/b/c";
  auto store = must(Store::open(o));
  EXPECT_TRUE(must(store->get(kRootInode)).is_dir());
  EXPECT_TRUE(fs::is_directory(o.dir));
}

TEST_F(MetaStore, OpenWithZeroVolumesIsEinval) {
  MetaStoreOptions o = options();
  o.dir = dir_.path() + "/other";
  o.volume_count = 0;
  EXPECT_EQ(code_of(Store::open(o)), EINVAL);
}

TEST_F(MetaStore, OpenOnGarbageIsEio) {
  MetaStoreOptions o = options();
  o.dir = dir_.path() + "/garbage";
  fs::create_directories(o.dir);
  std::ofstream(o.dir + "/data.mdb") << std::string(16384, 'x');
  auto store = Store::open(o);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.error().code, EIO);
  EXPECT_NE(store.error().message.find(o.dir), std::string::npos) << store.error().message;
}

TEST_F(MetaStore, ContentsPersistAcrossReopen) {
  const Inode d = dir(kRootInode, "d");
  const Inode f = file(d.ino, "f");
  must(store_->extend(f.ino, 123, 456));
  must(store_->sync());
  const Snapshot before = snapshot(*store_);
  reopen();
  EXPECT_EQ(snapshot(*store_), before);
  EXPECT_EQ(must(store_->get(kRootInode)).generation, 1u);  // the root was not recreated
  EXPECT_EQ(must(store_->lookup(d.ino, "f")).size, 123u);
}

TEST_F(MetaStore, InoAndGenerationContinueAfterReopen) {
  const Inode a = file(kRootInode, "a");
  must(store_->unlink(kRootInode, "a"));
  must(store_->forget(a.ino));
  reopen();
  const Inode b = file(kRootInode, "b");
  EXPECT_EQ(b.ino, a.ino + 1);
  EXPECT_EQ(b.generation, a.generation + 1);
}

TEST_F(MetaStore, UnknownFormatIsRefusedWithEproto) {
  store_.reset();
  // Rewrite the format record behind the store's back. The test binary does
  // not link liblmdb itself; libpdm has loaded it, so look its entry points up.
  auto env_create =
      reinterpret_cast<decltype(&mdb_env_create)>(dlsym(RTLD_DEFAULT, "mdb_env_create"));
  auto set_maxdbs =
      reinterpret_cast<decltype(&mdb_env_set_maxdbs)>(dlsym(RTLD_DEFAULT, "mdb_env_set_maxdbs"));
  auto env_open = reinterpret_cast<decltype(&mdb_env_open)>(dlsym(RTLD_DEFAULT, "mdb_env_open"));
  auto env_close = reinterpret_cast<decltype(&mdb_env_close)>(dlsym(RTLD_DEFAULT, "mdb_env_close"));
  auto txn_begin = reinterpret_cast<decltype(&mdb_txn_begin)>(dlsym(RTLD_DEFAULT, "mdb_txn_begin"));
  auto txn_commit =
      reinterpret_cast<decltype(&mdb_txn_commit)>(dlsym(RTLD_DEFAULT, "mdb_txn_commit"));
  auto dbi_open = reinterpret_cast<decltype(&mdb_dbi_open)>(dlsym(RTLD_DEFAULT, "mdb_dbi_open"));
  auto put = reinterpret_cast<decltype(&mdb_put)>(dlsym(RTLD_DEFAULT, "mdb_put"));
  ASSERT_TRUE(env_create && set_maxdbs && env_open && env_close && txn_begin && txn_commit &&
              dbi_open && put)
      << "liblmdb is not loaded: " << dlerror();

  MDB_env *env = nullptr;
  ASSERT_EQ(env_create(&env), 0);
  ASSERT_EQ(set_maxdbs(env, 16), 0);
  ASSERT_EQ(env_open(env, options().dir.c_str(), MDB_NOLOCK, 0644), 0);
  MDB_txn *txn = nullptr;
  ASSERT_EQ(txn_begin(env, nullptr, 0, &txn), 0);
  MDB_dbi meta = 0;
  ASSERT_EQ(dbi_open(txn, "meta", 0, &meta), 0);
  std::uint8_t format[4] = {99, 0, 0, 0};  // a little-endian u32
  char key[] = "format";
  MDB_val k{6, key};
  MDB_val v{sizeof format, format};
  ASSERT_EQ(put(txn, meta, &k, &v, 0), 0);
  ASSERT_EQ(txn_commit(txn), 0);
  env_close(env);

  auto store = Store::open(options());
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.error().code, EPROTO);
  EXPECT_NE(store.error().message.find("format 99"), std::string::npos) << store.error().message;
}

TEST_F(MetaStore, MapFullIsEnospcAndLeavesNothingHalfDone) {
  store_.reset();
  MetaStoreOptions o = options();
  o.dir = dir_.path() + "/tiny";
  o.map_size = 256 << 10;
  auto store = must(Store::open(o));
  const std::string padding(200, 'p');
  int failed_at = -1;
  for (int i = 0; i < 100000; ++i) {
    auto created = store->create(kRootInode, fmt::format("{}{}", padding, i), 0644, 0, 0, true);
    if (!created.ok()) {
      EXPECT_EQ(created.error().code, ENOSPC) << created.error().message;
      EXPECT_NE(created.error().message.find(o.dir), std::string::npos);
      failed_at = i;
      break;
    }
  }
  ASSERT_GT(failed_at, 0) << "the map never filled";
  // The failed create left no trace (no entry, no inode, no ino consumed),
  // and the store still answers.
  const Snapshot after = snapshot(*store);
  EXPECT_EQ(after.dentries.size(), static_cast<std::size_t>(failed_at));
  EXPECT_EQ(after.inodes.size(), static_cast<std::size_t>(failed_at) + 1);
  EXPECT_EQ(after.next_ino, static_cast<std::uint64_t>(failed_at) + 2);
  EXPECT_EQ(code_of(store->lookup(kRootInode, fmt::format("{}{}", padding, failed_at))), ENOENT);
  // A larger map makes room for more.
  store.reset();
  o.map_size = 4 << 20;
  store = must(Store::open(o));
  EXPECT_EQ(snapshot(*store), after);
  EXPECT_TRUE(store->create(kRootInode, "more", 0644, 0, 0, true).ok());
}

// ---- create -------------------------------------------------------------------

TEST_F(MetaStore, CreateAssignsNextInoGenerationAndLayout) {
  const Inode a = file(kRootInode, "a");
  const Inode b = file(kRootInode, "b");
  EXPECT_EQ(a.ino, 2u);
  EXPECT_EQ(a.generation, 2u);
  EXPECT_EQ(b.ino, 3u);
  EXPECT_EQ(b.generation, 3u);
  EXPECT_EQ(a.mode, S_IFREG | 0644u);
  EXPECT_EQ(a.uid, 10u);
  EXPECT_EQ(a.gid, 20u);
  EXPECT_EQ(a.nlink, 1u);
  EXPECT_EQ(a.size, 0u);
  EXPECT_EQ(a.stripe_size, 65536u);
  EXPECT_EQ(a.first_volume, 2u % 3u);
  EXPECT_EQ(b.first_volume, 3u % 3u);
  EXPECT_GT(a.mtime, 0);
  EXPECT_EQ(a.atime, a.mtime);
  EXPECT_EQ(a.ctime, a.mtime);
  EXPECT_EQ(must(store_->get(a.ino)), a);
  EXPECT_EQ(must(store_->lookup(kRootInode, "a")), a);
}

TEST_F(MetaStore, CreateKeepsOnlyPermissionBitsOfMode) {
  auto created = must(store_->create(kRootInode, "f", S_IFDIR | 04755, 0, 0, true));
  EXPECT_EQ(created.inode.mode, S_IFREG | 04755u);
  EXPECT_TRUE(created.inode.is_file());
}

TEST_F(MetaStore, CreateExclusiveOfExistingNameIsEexist) {
  file(kRootInode, "f");
  dir(kRootInode, "d");
  EXPECT_EQ(code_of(store_->create(kRootInode, "f", 0644, 0, 0, true)), EEXIST);
  EXPECT_EQ(code_of(store_->create(kRootInode, "d", 0644, 0, 0, true)), EEXIST);
}

TEST_F(MetaStore, CreateNonExclusiveReturnsExistingFileUnchanged) {
  const Inode f = file(kRootInode, "f");
  auto again = must(store_->create(kRootInode, "f", 0600, 1, 1, false));
  EXPECT_FALSE(again.created);
  EXPECT_EQ(again.inode, f);
  // No ino was consumed.
  EXPECT_EQ(file(kRootInode, "g").ino, f.ino + 1);
}

TEST_F(MetaStore, CreateNonExclusiveOfDirectoryIsEisdir) {
  dir(kRootInode, "d");
  EXPECT_EQ(code_of(store_->create(kRootInode, "d", 0644, 0, 0, false)), EISDIR);
}

TEST_F(MetaStore, CreateUpdatesParentTimes) {
  const Inode d = dir(kRootInode, "d");
  clear_times(d.ino);
  const Inode f = file(d.ino, "f");
  const Inode parent = must(store_->get(d.ino));
  EXPECT_EQ(parent.mtime, f.ctime);
  EXPECT_EQ(parent.ctime, f.ctime);
  EXPECT_EQ(parent.nlink, 2u);  // files do not count
}

TEST_F(MetaStore, CreateInMissingDirectoryIsEnoent) {
  EXPECT_EQ(code_of(store_->create(999, "f", 0644, 0, 0, true)), ENOENT);
}

TEST_F(MetaStore, CreateUnderFileIsEnotdir) {
  const Inode f = file(kRootInode, "f");
  EXPECT_EQ(code_of(store_->create(f.ino, "g", 0644, 0, 0, true)), ENOTDIR);
}

// ---- names --------------------------------------------------------------------

TEST_F(MetaStore, InvalidNamesAreRejectedByEveryOperation) {
  file(kRootInode, "ok");
  const std::string longest(pdm::pfs::kMaxNameLength, 'n');
  const std::string too_long(pdm::pfs::kMaxNameLength + 1, 'n');
  const std::vector<std::pair<std::string, int>> cases = {{"", EINVAL},
                                                          {".", EINVAL},
                                                          {"..", EINVAL},
                                                          {"a/b", EINVAL},
                                                          {"/", EINVAL},
                                                          {std::string("a\0b", 3), EINVAL},
                                                          {too_long, ENAMETOOLONG}};
  for (const auto &[name, code] : cases) {
    SCOPED_TRACE(fmt::format("name {:?}", name));
    EXPECT_EQ(code_of(store_->create(kRootInode, name, 0644, 0, 0, true)), code);
    EXPECT_EQ(code_of(store_->create(kRootInode, name, 0644, 0, 0, false)), code);
    EXPECT_EQ(code_of(store_->mkdir(kRootInode, name, 0755, 0, 0)), code);
    EXPECT_EQ(code_of(store_->lookup(kRootInode, name)), code);
    EXPECT_EQ(code_of(store_->unlink(kRootInode, name)), code);
    EXPECT_EQ(code_of(store_->rmdir(kRootInode, name)), code);
    EXPECT_EQ(code_of(store_->rename(kRootInode, name, kRootInode, "x")), code);
    EXPECT_EQ(code_of(store_->rename(kRootInode, "ok", kRootInode, name)), code);
    EXPECT_EQ(code_of(store_->resolve(std::vector<std::string>{name})), code);
  }
  EXPECT_EQ(names(kRootInode), std::vector<std::string>{"ok"});
  EXPECT_TRUE(store_->create(kRootInode, longest, 0644, 0, 0, true).ok());
  EXPECT_TRUE(store_->lookup(kRootInode, longest).ok());
}

TEST_F(MetaStore, NamesAreBinarySafeExceptSlashAndNul) {
  const std::string odd = "sp ace\t\xff\xfe.";
  const Inode f = file(kRootInode, odd);
  EXPECT_EQ(must(store_->lookup(kRootInode, odd)).ino, f.ino);
  EXPECT_EQ(names(kRootInode), std::vector<std::string>{odd});
}

// ---- lookup, resolve ----------------------------------------------------------

TEST_F(MetaStore, LookupFindsChild) {
  const Inode d = dir(kRootInode, "d");
  const Inode f = file(d.ino, "f");
  EXPECT_EQ(must(store_->lookup(kRootInode, "d")), must(store_->get(d.ino)));
  EXPECT_EQ(must(store_->lookup(d.ino, "f")), f);
}

TEST_F(MetaStore, LookupOfMissingNameIsEnoent) {
  auto missing = store_->lookup(kRootInode, "nothing");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ENOENT);
  EXPECT_NE(missing.error().message.find("nothing"), std::string::npos);
}

TEST_F(MetaStore, LookupInMissingDirectoryIsEnoent) {
  EXPECT_EQ(code_of(store_->lookup(999, "x")), ENOENT);
}

TEST_F(MetaStore, LookupInFileIsEnotdir) {
  const Inode f = file(kRootInode, "f");
  EXPECT_EQ(code_of(store_->lookup(f.ino, "x")), ENOTDIR);
}

TEST_F(MetaStore, GetOfMissingInodeIsEnoent) {
  EXPECT_EQ(code_of(store_->get(12345)), ENOENT);
}

TEST_F(MetaStore, ResolveWalksFromTheRoot) {
  const Inode a = dir(kRootInode, "a");
  const Inode b = dir(a.ino, "b");
  const Inode f = file(b.ino, "f");
  EXPECT_EQ(must(store_->resolve(std::vector<std::string>{})).ino, kRootInode);
  EXPECT_EQ(must(store_->resolve(std::vector<std::string>{"a"})).ino, a.ino);
  EXPECT_EQ(must(store_->resolve(std::vector<std::string>{"a", "b", "f"})), f);
}

TEST_F(MetaStore, ResolveOfMissingComponentIsEnoent) {
  dir(kRootInode, "a");
  auto missing = store_->resolve(std::vector<std::string>{"a", "nope", "f"});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ENOENT);
  EXPECT_NE(missing.error().message.find("/a/nope"), std::string::npos) << missing.error().message;
}

TEST_F(MetaStore, ResolveThroughFileIsEnotdir) {
  file(kRootInode, "f");
  EXPECT_EQ(code_of(store_->resolve(std::vector<std::string>{"f", "x"})), ENOTDIR);
}

// ---- mkdir, rmdir ---------------------------------------------------------------

TEST_F(MetaStore, MkdirMakesDirectory) {
  const Inode d = must(store_->mkdir(kRootInode, "d", S_IFREG | 0750, 3, 4));
  EXPECT_EQ(d.ino, 2u);
  EXPECT_EQ(d.generation, 2u);
  EXPECT_EQ(d.mode, S_IFDIR | 0750u);
  EXPECT_EQ(d.nlink, 2u);
  EXPECT_EQ(d.size, 0u);
  EXPECT_EQ(d.uid, 3u);
  EXPECT_EQ(d.gid, 4u);
  EXPECT_TRUE(names(d.ino).empty());
}

TEST_F(MetaStore, DirectoryNlinkCountsSubdirectories) {
  const Inode a = dir(kRootInode, "a");
  dir(kRootInode, "b");
  file(kRootInode, "f");
  EXPECT_EQ(nlink(kRootInode), 4u);
  dir(a.ino, "c");
  EXPECT_EQ(nlink(a.ino), 3u);
  EXPECT_EQ(nlink(kRootInode), 4u);
  must(store_->rmdir(kRootInode, "b"));
  EXPECT_EQ(nlink(kRootInode), 3u);
  must(store_->rmdir(a.ino, "c"));
  EXPECT_EQ(nlink(a.ino), 2u);
}

TEST_F(MetaStore, MkdirUpdatesParentTimes) {
  const Inode a = dir(kRootInode, "a");
  clear_times(a.ino);
  const Inode c = dir(a.ino, "c");
  EXPECT_EQ(must(store_->get(a.ino)).mtime, c.ctime);
}

TEST_F(MetaStore, MkdirOfExistingNameIsEexist) {
  dir(kRootInode, "d");
  file(kRootInode, "f");
  EXPECT_EQ(code_of(store_->mkdir(kRootInode, "d", 0755, 0, 0)), EEXIST);
  EXPECT_EQ(code_of(store_->mkdir(kRootInode, "f", 0755, 0, 0)), EEXIST);
  EXPECT_EQ(nlink(kRootInode), 3u);
}

TEST_F(MetaStore, MkdirInMissingOrNonDirectoryParentFails) {
  const Inode f = file(kRootInode, "f");
  EXPECT_EQ(code_of(store_->mkdir(999, "d", 0755, 0, 0)), ENOENT);
  EXPECT_EQ(code_of(store_->mkdir(f.ino, "d", 0755, 0, 0)), ENOTDIR);
}

TEST_F(MetaStore, RmdirDeletesTheRecordAndUpdatesParent) {
  const Inode a = dir(kRootInode, "a");
  const Inode b = dir(a.ino, "b");
  clear_times(a.ino);
  must(store_->rmdir(a.ino, "b"));
  EXPECT_EQ(code_of(store_->get(b.ino)), ENOENT);
  EXPECT_EQ(code_of(store_->lookup(a.ino, "b")), ENOENT);
  EXPECT_GT(must(store_->get(a.ino)).mtime, 0);
  EXPECT_TRUE(must(store_->orphans()).empty());  // directories are never orphans
  EXPECT_EQ(must(store_->stats()).inodes, 2u);
}

TEST_F(MetaStore, RmdirOfNonEmptyDirectoryIsEnotempty) {
  const Inode a = dir(kRootInode, "a");
  file(a.ino, "f");
  const Snapshot before = snapshot(*store_);
  EXPECT_EQ(code_of(store_->rmdir(kRootInode, "a")), ENOTEMPTY);
  EXPECT_EQ(snapshot(*store_), before);
}

TEST_F(MetaStore, RmdirOfDirectoryWithOnlySubdirectoryIsEnotempty) {
  const Inode a = dir(kRootInode, "a");
  dir(a.ino, "sub");
  EXPECT_EQ(code_of(store_->rmdir(kRootInode, "a")), ENOTEMPTY);
}

TEST_F(MetaStore, RmdirIsNotFooledByNeighbouringDirectory) {
  // Directory a (ino 2) is empty; directory b (ino 3) has entries whose keys
  // sort right after a's prefix.
  const Inode a = dir(kRootInode, "a");
  const Inode b = dir(kRootInode, "b");
  ASSERT_EQ(b.ino, a.ino + 1);
  file(b.ino, "x");
  must(store_->rmdir(kRootInode, "a"));
}

TEST_F(MetaStore, RmdirOfFileIsEnotdir) {
  file(kRootInode, "f");
  EXPECT_EQ(code_of(store_->rmdir(kRootInode, "f")), ENOTDIR);
}

TEST_F(MetaStore, RmdirOfMissingNameIsEnoent) {
  EXPECT_EQ(code_of(store_->rmdir(kRootInode, "nope")), ENOENT);
}

TEST_F(MetaStore, RmdirOfRootIsEinval) {
  // The root has no name; "." and ".." are the only ways to reach it.
  EXPECT_EQ(code_of(store_->rmdir(kRootInode, ".")), EINVAL);
  EXPECT_EQ(code_of(store_->rmdir(kRootInode, "..")), EINVAL);
  EXPECT_TRUE(store_->get(kRootInode).ok());
}

// ---- unlink, orphans, forget ------------------------------------------------------

TEST_F(MetaStore, UnlinkMakesAnOrphan) {
  const Inode d = dir(kRootInode, "d");
  const Inode f = file(d.ino, "f");
  clear_times(d.ino);
  const Inode after = must(store_->unlink(d.ino, "f"));
  EXPECT_EQ(after.ino, f.ino);
  EXPECT_EQ(after.nlink, 0u);
  EXPECT_GE(after.ctime, f.ctime);
  EXPECT_EQ(code_of(store_->lookup(d.ino, "f")), ENOENT);
  EXPECT_TRUE(names(d.ino).empty());
  EXPECT_EQ(must(store_->get(f.ino)), after);  // the record stays until forget()
  EXPECT_EQ(must(store_->orphans()), std::vector<InodeNumber>{f.ino});
  const auto stats = must(store_->stats());
  EXPECT_EQ(stats.orphans, 1u);
  EXPECT_EQ(stats.inodes, 3u);
  EXPECT_EQ(must(store_->get(d.ino)).mtime, after.ctime);
}

TEST_F(MetaStore, UnlinkOfDirectoryIsEisdir) {
  dir(kRootInode, "d");
  EXPECT_EQ(code_of(store_->unlink(kRootInode, "d")), EISDIR);
  EXPECT_TRUE(store_->lookup(kRootInode, "d").ok());
}

TEST_F(MetaStore, UnlinkOfMissingNameIsEnoent) {
  EXPECT_EQ(code_of(store_->unlink(kRootInode, "nope")), ENOENT);
}

TEST_F(MetaStore, UnlinkInFileIsEnotdir) {
  const Inode f = file(kRootInode, "f");
  EXPECT_EQ(code_of(store_->unlink(f.ino, "x")), ENOTDIR);
}

TEST_F(MetaStore, OrphansAreListedInInoOrder) {
  std::vector<InodeNumber> inos;
  for (int i = 0; i < 300; ++i) inos.push_back(file(kRootInode, fmt::format("f{}", i)).ino);
  for (int i = 299; i >= 0; --i) must(store_->unlink(kRootInode, fmt::format("f{}", i)));
  EXPECT_EQ(must(store_->orphans()), inos);  // 256 and up too: keys are big-endian
}

TEST_F(MetaStore, ForgetDeletesAnOrphan) {
  const Inode f = file(kRootInode, "f");
  must(store_->unlink(kRootInode, "f"));
  must(store_->forget(f.ino));
  EXPECT_EQ(code_of(store_->get(f.ino)), ENOENT);
  EXPECT_TRUE(must(store_->orphans()).empty());
  EXPECT_EQ(must(store_->stats()).inodes, 1u);
  EXPECT_EQ(code_of(store_->forget(f.ino)), ENOENT);
}

TEST_F(MetaStore, ForgetOfLinkedInodeIsEbusy) {
  const Inode f = file(kRootInode, "f");
  EXPECT_EQ(code_of(store_->forget(f.ino)), EBUSY);
  EXPECT_EQ(code_of(store_->forget(kRootInode)), EBUSY);
  EXPECT_TRUE(store_->lookup(kRootInode, "f").ok());
}

TEST_F(MetaStore, InoAndGenerationAreNeverReused) {
  const Inode a = file(kRootInode, "a");
  must(store_->unlink(kRootInode, "a"));
  must(store_->forget(a.ino));
  const Inode d = dir(kRootInode, "d");
  must(store_->rmdir(kRootInode, "d"));
  const Inode b = file(kRootInode, "a");
  EXPECT_EQ(d.ino, a.ino + 1);
  EXPECT_EQ(b.ino, d.ino + 1);
  EXPECT_EQ(d.generation, a.generation + 1);
  EXPECT_EQ(b.generation, d.generation + 1);
}

// ---- readdir ------------------------------------------------------------------

TEST_F(MetaStore, ReaddirListsEntriesInByteOrderWithInoAndMode) {
  const Inode d = dir(kRootInode, "d");
  std::map<std::string, Inode> made;
  for (const char *name : {"b", "a", "B", "ab", "a0", "\x7f", "Z"}) made[name] = file(d.ino, name);
  made["sub"] = dir(d.ino, "sub");
  const auto entries = must(store_->readdir(d.ino, "", 100));
  std::vector<std::string> got;
  for (const DirEntry &e : entries) {
    got.push_back(e.name);
    EXPECT_EQ(e.ino, made.at(e.name).ino) << e.name;
    EXPECT_EQ(e.mode, made.at(e.name).mode) << e.name;
  }
  EXPECT_EQ(got, (std::vector<std::string>{"B", "Z", "a", "a0", "ab", "b", "sub", "\x7f"}));
}

TEST_F(MetaStore, ReaddirNeverListsDotEntries) {
  const Inode d = dir(kRootInode, "d");
  dir(d.ino, "e");
  EXPECT_EQ(names(d.ino), std::vector<std::string>{"e"});
  EXPECT_EQ(names(kRootInode), std::vector<std::string>{"d"});
}

TEST_F(MetaStore, ReaddirPagesWithAfterAndMax) {
  std::vector<std::string> all;
  for (int i = 0; i < 10; ++i) {
    all.push_back(fmt::format("f{:02}", i));
    file(kRootInode, all.back());
  }
  std::vector<std::string> paged;
  std::string after;
  for (;;) {
    const auto page = must(store_->readdir(kRootInode, after, 3));
    ASSERT_LE(page.size(), 3u);
    if (page.empty()) break;
    for (const auto &e : page) paged.push_back(e.name);
    after = page.back().name;
  }
  EXPECT_EQ(paged, all);
}

TEST_F(MetaStore, ReaddirAfterIsStrictAndNeedNotExist) {
  for (const char *name : {"a", "c", "e"}) file(kRootInode, name);
  auto names_after = [&](std::string_view after) {
    std::vector<std::string> out;
    for (const auto &e : must(store_->readdir(kRootInode, after, 100))) out.push_back(e.name);
    return out;
  };
  EXPECT_EQ(names_after("a"), (std::vector<std::string>{"c", "e"}));
  EXPECT_EQ(names_after("b"), (std::vector<std::string>{"c", "e"}));
  EXPECT_EQ(names_after("e"), std::vector<std::string>{});
  EXPECT_EQ(names_after("zzz"), std::vector<std::string>{});
  EXPECT_EQ(names_after("A"), (std::vector<std::string>{"a", "c", "e"}));
}

TEST_F(MetaStore, ReaddirWithZeroMaxIsEmpty) {
  file(kRootInode, "f");
  EXPECT_TRUE(must(store_->readdir(kRootInode, "", 0)).empty());
}

TEST_F(MetaStore, ReaddirStaysInsideItsDirectory) {
  const Inode a = dir(kRootInode, "a");
  const Inode b = dir(kRootInode, "b");
  file(a.ino, "in-a");
  file(b.ino, "in-b");
  EXPECT_EQ(names(a.ino), std::vector<std::string>{"in-a"});
  EXPECT_EQ(names(b.ino), std::vector<std::string>{"in-b"});
  EXPECT_EQ(names(kRootInode), (std::vector<std::string>{"a", "b"}));
  const Inode empty = dir(kRootInode, "empty");
  EXPECT_TRUE(names(empty.ino).empty());
}

TEST_F(MetaStore, ReaddirOfFileIsEnotdirAndOfMissingIsEnoent) {
  const Inode f = file(kRootInode, "f");
  EXPECT_EQ(code_of(store_->readdir(f.ino, "", 10)), ENOTDIR);
  EXPECT_EQ(code_of(store_->readdir(999, "", 10)), ENOENT);
}

// ---- rename -------------------------------------------------------------------

TEST_F(MetaStore, RenameFileWithinDirectory) {
  const Inode f = file(kRootInode, "old");
  clear_times(kRootInode);
  const auto outcome = must(store_->rename(kRootInode, "old", kRootInode, "new"));
  EXPECT_EQ(outcome.moved.ino, f.ino);
  EXPECT_GE(outcome.moved.ctime, f.ctime);
  EXPECT_FALSE(outcome.replaced);
  EXPECT_EQ(names(kRootInode), std::vector<std::string>{"new"});
  EXPECT_EQ(must(store_->lookup(kRootInode, "new")), outcome.moved);
  const Inode root = must(store_->get(kRootInode));
  EXPECT_EQ(root.mtime, outcome.moved.ctime);
  EXPECT_EQ(root.ctime, outcome.moved.ctime);
  EXPECT_EQ(root.nlink, 2u);
}

TEST_F(MetaStore, RenameFileAcrossDirectoriesUpdatesBothParents) {
  const Inode a = dir(kRootInode, "a");
  const Inode b = dir(kRootInode, "b");
  const Inode f = file(a.ino, "f");
  clear_times(a.ino);
  clear_times(b.ino);
  const auto outcome = must(store_->rename(a.ino, "f", b.ino, "g"));
  EXPECT_EQ(outcome.moved.ino, f.ino);
  EXPECT_TRUE(names(a.ino).empty());
  EXPECT_EQ(names(b.ino), std::vector<std::string>{"g"});
  EXPECT_EQ(must(store_->get(a.ino)).mtime, outcome.moved.ctime);
  EXPECT_EQ(must(store_->get(b.ino)).mtime, outcome.moved.ctime);
  EXPECT_EQ(nlink(a.ino), 2u);
  EXPECT_EQ(nlink(b.ino), 2u);
  EXPECT_EQ(nlink(f.ino), 1u);
}

TEST_F(MetaStore, RenameReplacingFileMakesItAnOrphan) {
  const Inode src = file(kRootInode, "src");
  const Inode dst = file(kRootInode, "dst");
  const auto outcome = must(store_->rename(kRootInode, "src", kRootInode, "dst"));
  EXPECT_EQ(outcome.moved.ino, src.ino);
  ASSERT_TRUE(outcome.replaced);
  EXPECT_EQ(outcome.replaced->ino, dst.ino);
  EXPECT_EQ(outcome.replaced->nlink, 0u);
  EXPECT_EQ(must(store_->get(dst.ino)), *outcome.replaced);
  EXPECT_EQ(must(store_->orphans()), std::vector<InodeNumber>{dst.ino});
  EXPECT_EQ(names(kRootInode), std::vector<std::string>{"dst"});
  EXPECT_EQ(must(store_->lookup(kRootInode, "dst")).ino, src.ino);
}

TEST_F(MetaStore, RenameDirectoryOverEmptyDirectoryDeletesIt) {
  const Inode a = dir(kRootInode, "a");
  const Inode b = dir(kRootInode, "b");
  const Inode p = dir(kRootInode, "p");
  const Inode target = dir(p.ino, "target");
  file(a.ino, "content");
  EXPECT_EQ(nlink(kRootInode), 5u);
  EXPECT_EQ(nlink(p.ino), 3u);
  // Within one directory: the parent loses the replaced subdirectory.
  const auto within = must(store_->rename(kRootInode, "a", kRootInode, "b"));
  EXPECT_EQ(within.moved.ino, a.ino);
  EXPECT_FALSE(within.replaced);
  EXPECT_EQ(code_of(store_->get(b.ino)), ENOENT);
  EXPECT_EQ(nlink(kRootInode), 4u);
  EXPECT_EQ(names(kRootInode), (std::vector<std::string>{"b", "p"}));
  EXPECT_EQ(names(a.ino), std::vector<std::string>{"content"});
  // Across directories: the source parent loses one, the destination stays.
  must(store_->rename(kRootInode, "b", p.ino, "target"));
  EXPECT_EQ(code_of(store_->get(target.ino)), ENOENT);
  EXPECT_EQ(nlink(kRootInode), 3u);
  EXPECT_EQ(nlink(p.ino), 3u);
  EXPECT_TRUE(must(store_->orphans()).empty());
}

TEST_F(MetaStore, RenameDirectoryOverNonEmptyDirectoryIsEnotempty) {
  dir(kRootInode, "a");
  const Inode b = dir(kRootInode, "b");
  file(b.ino, "f");
  const Snapshot before = snapshot(*store_);
  EXPECT_EQ(code_of(store_->rename(kRootInode, "a", kRootInode, "b")), ENOTEMPTY);
  EXPECT_EQ(snapshot(*store_), before);
}

TEST_F(MetaStore, RenameDirectoryOverItsOwnAncestorIsEnotempty) {
  const Inode a = dir(kRootInode, "a");
  dir(a.ino, "b");
  EXPECT_EQ(code_of(store_->rename(a.ino, "b", kRootInode, "a")), ENOTEMPTY);
}

TEST_F(MetaStore, RenameFileOverDirectoryIsEisdir) {
  file(kRootInode, "f");
  dir(kRootInode, "d");
  const Snapshot before = snapshot(*store_);
  EXPECT_EQ(code_of(store_->rename(kRootInode, "f", kRootInode, "d")), EISDIR);
  EXPECT_EQ(snapshot(*store_), before);
}

TEST_F(MetaStore, RenameDirectoryOverFileIsEnotdir) {
  file(kRootInode, "f");
  dir(kRootInode, "d");
  const Snapshot before = snapshot(*store_);
  EXPECT_EQ(code_of(store_->rename(kRootInode, "d", kRootInode, "f")), ENOTDIR);
  EXPECT_EQ(snapshot(*store_), before);
}

TEST_F(MetaStore, RenameOntoItselfIsANoop) {
  const Inode f = file(kRootInode, "f");
  const Inode d = dir(kRootInode, "d");
  const Inode root = must(store_->get(kRootInode));
  const auto same_file = must(store_->rename(kRootInode, "f", kRootInode, "f"));
  EXPECT_EQ(same_file.moved, f);
  EXPECT_FALSE(same_file.replaced);
  const auto same_dir = must(store_->rename(kRootInode, "d", kRootInode, "d"));
  EXPECT_EQ(same_dir.moved, d);
  EXPECT_EQ(must(store_->get(kRootInode)), root);
  EXPECT_EQ(must(store_->get(f.ino)), f);
  EXPECT_TRUE(must(store_->orphans()).empty());
}

TEST_F(MetaStore, RenameDirectoryIntoOwnSubtreeIsEinval) {
  const Inode a = dir(kRootInode, "a");
  const Inode b = dir(a.ino, "b");
  const Inode c = dir(b.ino, "c");
  const Snapshot before = snapshot(*store_);
  EXPECT_EQ(code_of(store_->rename(kRootInode, "a", a.ino, "x")), EINVAL);
  EXPECT_EQ(code_of(store_->rename(kRootInode, "a", b.ino, "x")), EINVAL);
  EXPECT_EQ(code_of(store_->rename(kRootInode, "a", c.ino, "x")), EINVAL);
  EXPECT_EQ(code_of(store_->rename(a.ino, "b", c.ino, "x")), EINVAL);
  EXPECT_EQ(snapshot(*store_), before);
  // Moving upwards or sideways is fine.
  must(store_->rename(b.ino, "c", kRootInode, "c"));
}

TEST_F(MetaStore, RenameOfDirectoryUpdatesItsParentPointer) {
  const Inode a = dir(kRootInode, "a");
  const Inode b = dir(kRootInode, "b");
  const Inode c = dir(a.ino, "c");
  must(store_->rename(a.ino, "c", b.ino, "c"));
  EXPECT_EQ(nlink(a.ino), 2u);
  EXPECT_EQ(nlink(b.ino), 3u);
  EXPECT_EQ(nlink(kRootInode), 4u);
  // c now lives under b: a may move into c, b may not.
  EXPECT_EQ(code_of(store_->rename(kRootInode, "b", c.ino, "b")), EINVAL);
  must(store_->rename(kRootInode, "a", c.ino, "a"));
  EXPECT_EQ(nlink(c.ino), 3u);
  EXPECT_EQ(nlink(kRootInode), 3u);
  EXPECT_EQ(must(store_->resolve(std::vector<std::string>{"b", "c", "a"})).ino, a.ino);
}

TEST_F(MetaStore, RenameOfRootIsEinval) {
  const Inode d = dir(kRootInode, "d");
  EXPECT_EQ(code_of(store_->rename(kRootInode, ".", d.ino, "root")), EINVAL);
  EXPECT_EQ(code_of(store_->rename(d.ino, "..", d.ino, "root")), EINVAL);
}

TEST_F(MetaStore, RenameOfMissingSourceIsEnoent) {
  EXPECT_EQ(code_of(store_->rename(kRootInode, "nope", kRootInode, "x")), ENOENT);
}

TEST_F(MetaStore, RenameIntoMissingOrNonDirectoryParentFails) {
  const Inode f = file(kRootInode, "f");
  EXPECT_EQ(code_of(store_->rename(kRootInode, "f", 999, "x")), ENOENT);
  EXPECT_EQ(code_of(store_->rename(kRootInode, "f", f.ino, "x")), ENOTDIR);
  EXPECT_EQ(code_of(store_->rename(999, "f", kRootInode, "x")), ENOENT);
}

// ---- set_attr, extend -------------------------------------------------------------

TEST_F(MetaStore, SetAttrChangesOnlyTheGivenFields) {
  const Inode f = file(kRootInode, "f");
  AttrChange change;
  change.uid = 77;
  change.atime = 1234;
  const Inode after = must(store_->set_attr(f.ino, change));
  Inode expected = f;
  expected.uid = 77;
  expected.atime = 1234;
  expected.ctime = after.ctime;
  EXPECT_EQ(after, expected);
  EXPECT_GE(after.ctime, f.ctime);
  EXPECT_EQ(after.mtime, f.mtime);
  EXPECT_EQ(must(store_->get(f.ino)), after);
}

TEST_F(MetaStore, SetAttrModeKeepsFileType) {
  const Inode f = file(kRootInode, "f");
  const Inode d = dir(kRootInode, "d");
  AttrChange change;
  change.mode = S_IFDIR | 0600;
  EXPECT_EQ(must(store_->set_attr(f.ino, change)).mode, S_IFREG | 0600u);
  change.mode = S_IFREG | 0700;
  EXPECT_EQ(must(store_->set_attr(d.ino, change)).mode, S_IFDIR | 0700u);
}

TEST_F(MetaStore, SetAttrSizeChangeUpdatesMtime) {
  const Inode f = file(kRootInode, "f");
  AttrChange clear;
  clear.mtime = 5;
  must(store_->set_attr(f.ino, clear));
  AttrChange change;
  change.size = 4096;
  change.gid = 9;
  const Inode after = must(store_->set_attr(f.ino, change));
  EXPECT_EQ(after.size, 4096u);
  EXPECT_EQ(after.gid, 9u);
  EXPECT_EQ(after.mtime, after.ctime);
  EXPECT_GT(after.mtime, 5);
}

TEST_F(MetaStore, SetAttrExplicitMtimeWins) {
  const Inode f = file(kRootInode, "f");
  AttrChange change;
  change.size = 10;
  change.mtime = 42;
  const Inode after = must(store_->set_attr(f.ino, change));
  EXPECT_EQ(after.size, 10u);
  EXPECT_EQ(after.mtime, 42);
}

TEST_F(MetaStore, SetAttrOfMissingInodeIsEnoent) {
  EXPECT_EQ(code_of(store_->set_attr(999, AttrChange{})), ENOENT);
}

TEST_F(MetaStore, SetAttrSizeOfDirectoryIsEisdir) {
  const Inode d = dir(kRootInode, "d");
  AttrChange change;
  change.size = 1;
  EXPECT_EQ(code_of(store_->set_attr(d.ino, change)), EISDIR);
  EXPECT_EQ(must(store_->get(d.ino)).size, 0u);
}

TEST_F(MetaStore, ExtendGrowsButNeverShrinks) {
  const Inode f = file(kRootInode, "f");
  const auto t = std::max(f.mtime, f.ctime);
  Inode after = must(store_->extend(f.ino, 100, t + 1000));
  EXPECT_EQ(after.size, 100u);
  EXPECT_EQ(after.mtime, t + 1000);
  EXPECT_EQ(after.ctime, t + 1000);
  after = must(store_->extend(f.ino, 50, t + 2000));
  EXPECT_EQ(after.size, 100u);
  EXPECT_EQ(after.mtime, t + 2000);
  EXPECT_EQ(after.ctime, t + 2000);
  EXPECT_EQ(must(store_->get(f.ino)), after);
}

// A write is always a change, even if the clock stepped back (or two writes
// got the same nanosecond): pdm-hsm compares mtimes (docs/HSM.md, B16).
TEST_F(MetaStore, ExtendMovesMtimeForwardEvenWhenTheClockSteppedBackB16) {
  const Inode f = file(kRootInode, "f");
  const auto t = std::max(f.mtime, f.ctime);
  must(store_->extend(f.ino, 100, t + 5000));
  Inode after = must(store_->extend(f.ino, 100, t + 10));
  EXPECT_EQ(after.mtime, t + 5001);
  EXPECT_EQ(after.ctime, t + 5001);
  after = must(store_->extend(f.ino, 100, t + 5001));
  EXPECT_EQ(after.mtime, t + 5002);
}

TEST_F(MetaStore, ExtendOfDirectoryIsEisdirAndOfMissingIsEnoent) {
  const Inode d = dir(kRootInode, "d");
  EXPECT_EQ(code_of(store_->extend(d.ino, 10, 1)), EISDIR);
  EXPECT_EQ(code_of(store_->extend(999, 10, 1)), ENOENT);
}

// ---- scans, stats, sync, threads -------------------------------------------------

TEST_F(MetaStore, ScansVisitEveryInodeAndEntry) {
  const Inode d = dir(kRootInode, "d");
  const Inode f = file(d.ino, "f");
  const Inode g = file(kRootInode, "g");
  must(store_->unlink(kRootInode, "g"));
  std::vector<InodeNumber> inodes;
  must(store_->for_each_inode([&](const Inode &i) { inodes.push_back(i.ino); }));
  EXPECT_EQ(inodes, (std::vector<InodeNumber>{kRootInode, d.ino, f.ino, g.ino}));
  std::vector<std::tuple<InodeNumber, std::string, InodeNumber>> dentries;
  must(store_->for_each_dentry([&](InodeNumber parent, std::string_view name, InodeNumber child) {
    dentries.emplace_back(parent, std::string(name), child);
  }));
  EXPECT_EQ(dentries, (std::vector<std::tuple<InodeNumber, std::string, InodeNumber>>{
                          {kRootInode, "d", d.ino}, {d.ino, "f", f.ino}}));
}

TEST_F(MetaStore, StatsCountInodesOrphansAndNextIno) {
  file(kRootInode, "a");
  file(kRootInode, "b");
  dir(kRootInode, "c");
  must(store_->unlink(kRootInode, "a"));
  const auto stats = must(store_->stats());
  EXPECT_EQ(stats.inodes, 4u);
  EXPECT_EQ(stats.orphans, 1u);
  EXPECT_EQ(stats.next_ino, 5u);
}

TEST_F(MetaStore, SyncSucceeds) {
  file(kRootInode, "f");
  must(store_->sync());
}

TEST_F(MetaStore, ConcurrentCallersAreSerialised) {
  constexpr int kThreads = 4;
  constexpr int kFiles = 100;
  std::vector<std::thread> threads;
  std::vector<int> failures(kThreads, 0);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kFiles; ++i) {
        if (!store_->create(kRootInode, fmt::format("t{}-{}", t, i), 0644, 0, 0, true).ok()) {
          ++failures[t];
        }
        if (!store_->readdir(kRootInode, "", 10).ok()) ++failures[t];
      }
    });
  }
  for (auto &thread : threads) thread.join();
  EXPECT_EQ(failures, std::vector<int>(kThreads, 0));
  const auto entries = must(store_->readdir(kRootInode, "", 10000));
  ASSERT_EQ(entries.size(), static_cast<std::size_t>(kThreads * kFiles));
  std::set<InodeNumber> inos;
  for (const auto &e : entries) inos.insert(e.ino);
  EXPECT_EQ(inos.size(), entries.size());
  EXPECT_EQ(*inos.begin(), 2u);
  EXPECT_EQ(*inos.rbegin(), static_cast<InodeNumber>(kThreads * kFiles + 1));
}

// ---- per-file DM event lists --------------------------------------------------

// The stored list of an inode: persistent, tied to the generation, and gone
// with the inode's record (forget for files, rmdir for directories).
TEST_F(MetaStore, EventListsPersistAndGoWithTheirInode) {
  const Inode d = dir(kRootInode, "d");
  const Inode f = file(kRootInode, "f");
  must(store_->set_eventlist(d.ino, d.generation, 0x20));
  must(store_->set_eventlist(f.ino, f.generation, 0x40));
  must(store_->set_eventlist(f.ino, f.generation, 0x140));  // replaces
  EXPECT_EQ(code_of(store_->set_eventlist(f.ino, f.generation + 1, 1)), ESTALE);
  EXPECT_EQ(code_of(store_->set_eventlist(9999, 1, 1)), ENOENT);
  reopen();
  auto lists = must(store_->eventlists());
  ASSERT_EQ(lists.size(), 2u);
  EXPECT_EQ(lists[0].ino, d.ino);
  EXPECT_EQ(lists[0].generation, d.generation);
  EXPECT_EQ(lists[0].events, 0x20u);
  EXPECT_EQ(lists[1].ino, f.ino);
  EXPECT_EQ(lists[1].events, 0x140u);
  must(store_->rmdir(kRootInode, "d"));
  must(store_->unlink(kRootInode, "f"));
  EXPECT_EQ(must(store_->eventlists()).size(), 1u);  // an orphan keeps its list until forgotten
  must(store_->forget(f.ino));
  EXPECT_TRUE(must(store_->eventlists()).empty());
}

}  // namespace

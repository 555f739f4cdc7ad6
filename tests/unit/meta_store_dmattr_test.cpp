// MetaStore, the DM layer's part: DM attributes (persistent, bounded, gone
// with their inode), the generation check every DM call makes, dm_set_attr,
// directory pages for dm_get_dirattrs and paths for dm_handle_to_path.
#include <stdlib.h>
#include <sys/stat.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <source_location>
#include <stdexcept>
#include <string>
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
using pdm::pfs::DmAttr;
using pdm::pfs::Inode;
using pdm::pfs::InodeNumber;
using pdm::pfs::kMaxDmAttrSpace;
using pdm::pfs::kMaxDmAttrValue;
using pdm::pfs::kRootInode;
using pdm::pfs::MetaStoreOptions;
using Store = pdm::pfs::MetaStore;

class DmStore : public ::testing::Test {
 protected:
  void SetUp() override { store_ = open_store(); }
  std::unique_ptr<Store> open_store() {
    MetaStoreOptions o;
    o.dir = dir_.path() + "/meta";
    o.map_size = std::size_t{64} << 20;
    return must(Store::open(o));
  }
  void reopen() {
    store_.reset();
    store_ = open_store();
  }
  Inode file(InodeNumber parent, std::string_view name) {
    return must(store_->create(parent, name, 0644, 10, 20, true)).inode;
  }
  Inode dir(InodeNumber parent, std::string_view name) {
    return must(store_->mkdir(parent, name, 0755, 10, 20));
  }
  Inode root() { return must(store_->get(kRootInode)); }

  TempDir dir_;
  std::unique_ptr<Store> store_;
};

TEST_F(DmStore, AttributesAreSetReadReplacedAndRemoved) {
  const Inode f = file(kRootInode, "f");
  must(store_->set_dmattr(f.ino, f.generation, "state", "archived", false));
  EXPECT_EQ(must(store_->get_dmattr(f.ino, f.generation, "state")), "archived");
  must(store_->set_dmattr(f.ino, f.generation, "state", "dual", false));
  EXPECT_EQ(must(store_->get_dmattr(f.ino, f.generation, "state")), "dual");
  must(store_->remove_dmattr(f.ino, f.generation, "state", false));
  EXPECT_EQ(code_of(store_->get_dmattr(f.ino, f.generation, "state")), ENOENT);
  EXPECT_EQ(code_of(store_->remove_dmattr(f.ino, f.generation, "state", false)), ENOENT);
}

TEST_F(DmStore, ValuesAreOpaqueBytesAndMayBeEmpty) {
  const Inode f = file(kRootInode, "f");
  const std::string binary("a\0b\xff", 4);
  must(store_->set_dmattr(f.ino, f.generation, "bin", binary, false));
  must(store_->set_dmattr(f.ino, f.generation, "empty", "", false));
  EXPECT_EQ(must(store_->get_dmattr(f.ino, f.generation, "bin")), binary);
  EXPECT_EQ(must(store_->get_dmattr(f.ino, f.generation, "empty")), "");
}

TEST_F(DmStore, ListIsInNameOrderAndPerObject) {
  const Inode f = file(kRootInode, "f");
  const Inode g = file(kRootInode, "g");
  must(store_->set_dmattr(f.ino, f.generation, "b", "2", false));
  must(store_->set_dmattr(f.ino, f.generation, "a", "1", false));
  must(store_->set_dmattr(g.ino, g.generation, "c", "3", false));
  EXPECT_EQ(must(store_->list_dmattrs(f.ino, f.generation)),
            (std::vector<DmAttr>{{"a", "1"}, {"b", "2"}}));
  EXPECT_EQ(must(store_->list_dmattrs(g.ino, g.generation)), (std::vector<DmAttr>{{"c", "3"}}));
  EXPECT_TRUE(must(store_->list_dmattrs(root().ino, root().generation)).empty());
}

TEST_F(DmStore, NamesHaveOneToEightBytesWithoutNul) {
  const Inode f = file(kRootInode, "f");
  EXPECT_EQ(code_of(store_->set_dmattr(f.ino, f.generation, "", "v", false)), EINVAL);
  EXPECT_EQ(code_of(store_->set_dmattr(f.ino, f.generation, "123456789", "v", false)), EINVAL);
  EXPECT_EQ(code_of(store_->set_dmattr(f.ino, f.generation, std::string("a\0b", 3), "v", false)),
            EINVAL);
  EXPECT_EQ(code_of(store_->get_dmattr(f.ino, f.generation, "")), EINVAL);
  must(store_->set_dmattr(f.ino, f.generation, "12345678", "v", false));
}

TEST_F(DmStore, SizeLimitsAreE2big) {
  const Inode f = file(kRootInode, "f");
  EXPECT_EQ(code_of(store_->set_dmattr(f.ino, f.generation, "big",
                                       std::string(kMaxDmAttrValue + 1, 'x'), false)),
            E2BIG);
  must(store_->set_dmattr(f.ino, f.generation, "max", std::string(kMaxDmAttrValue, 'x'), false));
  // The object's total: fill it up to the limit, then one byte more fails,
  // while replacing an attribute with a value of the same size succeeds.
  std::size_t used = 3 + kMaxDmAttrValue;
  int n = 0;
  while (used + 8 + kMaxDmAttrValue <= kMaxDmAttrSpace) {
    must(store_->set_dmattr(f.ino, f.generation, fmt::format("a{:07}", n++),
                            std::string(kMaxDmAttrValue, 'y'), false));
    used += 8 + kMaxDmAttrValue;
  }
  const std::size_t room = kMaxDmAttrSpace - used;
  ASSERT_GT(room, 8u);
  must(store_->set_dmattr(f.ino, f.generation, "lastone1", std::string(room - 8, 'z'), false));
  EXPECT_EQ(code_of(store_->set_dmattr(f.ino, f.generation, "extra", "1", false)), E2BIG);
  must(store_->set_dmattr(f.ino, f.generation, "lastone1", std::string(room - 8, 'w'), false));
}

TEST_F(DmStore, StaleObjectsAreEbadf) {
  const Inode f = file(kRootInode, "f");
  EXPECT_EQ(code_of(store_->set_dmattr(f.ino, f.generation + 1, "a", "1", false)), EBADF);
  EXPECT_EQ(code_of(store_->get_dmattr(999, 1, "a")), EBADF);
  EXPECT_EQ(code_of(store_->remove_dmattr(f.ino, f.generation + 1, "a", false)), EBADF);
  EXPECT_EQ(code_of(store_->list_dmattrs(999, 1)), EBADF);
  EXPECT_EQ(code_of(store_->get_object(f.ino, 0)), EBADF);
  EXPECT_EQ(code_of(store_->dm_set_attr(f.ino, f.generation + 1, AttrChange{}, std::nullopt)),
            EBADF);
  EXPECT_EQ(code_of(store_->dir_attrs(999, 1, 0, 10)), EBADF);
  EXPECT_EQ(code_of(store_->path_of(kRootInode, 1, 999, 1)), EBADF);
}

TEST_F(DmStore, AttributesPersistAcrossReopen) {
  const Inode f = file(kRootInode, "f");
  must(store_->set_dmattr(f.ino, f.generation, "loc", "tape:42", false));
  reopen();
  EXPECT_EQ(must(store_->get_dmattr(f.ino, f.generation, "loc")), "tape:42");
}

TEST_F(DmStore, AttributesGoWithTheInode) {
  const Inode f = file(kRootInode, "f");
  must(store_->set_dmattr(f.ino, f.generation, "a", "1", false));
  const Inode unlinked = must(store_->unlink(kRootInode, "f"));
  EXPECT_EQ(unlinked.nlink, 0u);
  // An orphan (open somewhere) keeps them until it is destroyed.
  EXPECT_EQ(must(store_->get_dmattr(f.ino, f.generation, "a")), "1");
  must(store_->forget(f.ino));
  EXPECT_EQ(code_of(store_->get_dmattr(f.ino, f.generation, "a")), EBADF);
  // rmdir, and a rename that replaces an empty directory.
  const Inode d = dir(kRootInode, "d");
  must(store_->set_dmattr(d.ino, d.generation, "a", "1", false));
  must(store_->rmdir(kRootInode, "d"));
  const Inode e = dir(kRootInode, "e");
  const Inode victim = dir(kRootInode, "victim");
  must(store_->set_dmattr(victim.ino, victim.generation, "a", "1", false));
  must(store_->rename(kRootInode, "e", kRootInode, "victim"));
  // No record is left behind for any of them: only e's attribute survives.
  must(store_->set_dmattr(e.ino, e.generation, "b", "2", false));
  std::size_t records = 0;
  for (InodeNumber ino : {f.ino, d.ino, victim.ino, e.ino}) {
    auto object = store_->get_object(ino, ino == f.ino   ? f.generation
                                          : ino == d.ino ? d.generation
                                          : ino == e.ino ? e.generation
                                                         : victim.generation);
    if (object.ok()) records += must(store_->list_dmattrs(ino, object->first.generation)).size();
  }
  EXPECT_EQ(records, 1u);
  // A new inode never sees an old one's attributes (inode numbers are never reused).
  const Inode g = file(kRootInode, "g");
  EXPECT_TRUE(must(store_->list_dmattrs(g.ino, g.generation)).empty());
}

TEST_F(DmStore, SetDtimeUpdatesCtimeInTheSameTransaction) {
  const Inode f = file(kRootInode, "f");
  must(store_->dm_set_attr(f.ino, f.generation, AttrChange{}, pdm::pfs::TimeNs{5}));
  must(store_->set_dmattr(f.ino, f.generation, "a", "1", false));
  EXPECT_EQ(must(store_->get(f.ino)).ctime, 5);
  must(store_->set_dmattr(f.ino, f.generation, "a", "2", true));
  EXPECT_GT(must(store_->get(f.ino)).ctime, 5);
  must(store_->dm_set_attr(f.ino, f.generation, AttrChange{}, pdm::pfs::TimeNs{5}));
  must(store_->remove_dmattr(f.ino, f.generation, "a", true));
  EXPECT_GT(must(store_->get(f.ino)).ctime, 5);
}

TEST_F(DmStore, GetObjectReportsPersistentAttributes) {
  const Inode f = file(kRootInode, "f");
  EXPECT_FALSE(must(store_->get_object(f.ino, f.generation)).second);
  must(store_->set_dmattr(f.ino, f.generation, "a", "1", false));
  auto [inode, pers] = must(store_->get_object(f.ino, f.generation));
  EXPECT_TRUE(pers);
  EXPECT_EQ(inode.ino, f.ino);
}

TEST_F(DmStore, DmSetAttrSetsExactlyWhatItNames) {
  const Inode f = file(kRootInode, "f");
  AttrChange change;
  change.mode = 0600;
  change.uid = 7;
  change.gid = 8;
  change.atime = 1'000'000'000;
  change.mtime = 2'000'000'000;
  change.size = 4096;
  const Inode after = must(store_->dm_set_attr(f.ino, f.generation, change, 3'000'000'000));
  EXPECT_EQ(after.mode, S_IFREG | 0600u);
  EXPECT_EQ(after.uid, 7u);
  EXPECT_EQ(after.gid, 8u);
  EXPECT_EQ(after.atime, 1'000'000'000);
  EXPECT_EQ(after.mtime, 2'000'000'000);
  EXPECT_EQ(after.ctime, 3'000'000'000);
  EXPECT_EQ(after.size, 4096u);
  EXPECT_EQ(must(store_->get(f.ino)), after);
  // No implicit time change (unlike set_attr).
  AttrChange size_only;
  size_only.size = 10;
  const Inode shrunk = must(store_->dm_set_attr(f.ino, f.generation, size_only, std::nullopt));
  EXPECT_EQ(shrunk.mtime, 2'000'000'000);
  EXPECT_EQ(shrunk.ctime, 3'000'000'000);
  const Inode d = dir(kRootInode, "d");
  EXPECT_EQ(code_of(store_->dm_set_attr(d.ino, d.generation, size_only, std::nullopt)), EISDIR);
}

TEST_F(DmStore, DirAttrsPagesThroughTheDirectory) {
  const Inode d = dir(kRootInode, "d");
  std::vector<std::string> expected;
  for (int i = 0; i < 25; ++i) {
    expected.push_back(fmt::format("n{:02}", i));
    file(d.ino, expected.back());
  }
  const Inode sub = dir(d.ino, "zsub");
  expected.push_back("zsub");
  must(store_->set_dmattr(sub.ino, sub.generation, "a", "1", false));
  std::vector<std::string> seen;
  std::uint64_t position = 0;
  for (;;) {
    auto page = must(store_->dir_attrs(d.ino, d.generation, position, 7));
    ASSERT_LE(page.entries.size(), 7u);
    for (const auto &entry : page.entries) {
      seen.push_back(entry.name);
      EXPECT_EQ(entry.has_dmattrs, entry.name == "zsub");
      EXPECT_EQ(entry.inode, must(store_->lookup(d.ino, entry.name)));
    }
    position += page.entries.size();
    if (!page.more) break;
  }
  EXPECT_EQ(seen, expected);
  EXPECT_TRUE(must(store_->dir_attrs(d.ino, d.generation, 1000, 7)).entries.empty());
  const auto exact = must(store_->dir_attrs(d.ino, d.generation, 0, 26));
  EXPECT_EQ(exact.entries.size(), 26u);
  EXPECT_FALSE(exact.more);
  const Inode f = must(store_->lookup(d.ino, "n00"));
  EXPECT_EQ(code_of(store_->dir_attrs(f.ino, f.generation, 0, 7)), ENOTDIR);
}

TEST_F(DmStore, PathOfFollowsRenames) {
  const Inode a = dir(kRootInode, "a");
  const Inode b = dir(a.ino, "b");
  const Inode f = file(b.ino, "f");
  EXPECT_EQ(must(store_->path_of(b.ino, b.generation, f.ino, f.generation)), "/a/b/f");
  EXPECT_EQ(must(store_->path_of(b.ino, b.generation, b.ino, b.generation)), "/a/b");
  EXPECT_EQ(must(store_->path_of(kRootInode, root().generation, kRootInode, root().generation)),
            "/");
  EXPECT_EQ(must(store_->path_of(kRootInode, root().generation, a.ino, a.generation)), "/a");
  must(store_->rename(kRootInode, "a", kRootInode, "x"));
  must(store_->rename(b.ino, "f", b.ino, "g"));
  EXPECT_EQ(must(store_->path_of(b.ino, b.generation, f.ino, f.generation)), "/x/b/g");
  const Inode c = dir(kRootInode, "c");
  must(store_->rename(a.ino, "b", c.ino, "b2"));
  EXPECT_EQ(must(store_->path_of(b.ino, b.generation, f.ino, f.generation)), "/c/b2/g");
  // Not an entry of that directory; not a directory.
  EXPECT_EQ(code_of(store_->path_of(a.ino, a.generation, f.ino, f.generation)), ENOENT);
  EXPECT_EQ(code_of(store_->path_of(f.ino, f.generation, f.ino, f.generation)), ENOTDIR);
}

}  // namespace

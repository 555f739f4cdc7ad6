// The DMAPI's per-file data state: the range arithmetic of dm_state.h and
// its operations on a real metadata store (regions replaced, released
// ranges marked and cleared, trimmed by a shrink, persistent across a
// reopen, gone with the inode).
#include <stdlib.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <stdexcept>
#include <string>

#include "pfs/meta/dm_state_protocol.h"
#include "pfs/meta/meta_store.h"
#include "tests/unit/unit_support.h"

namespace {

using pdm::test::TempDir;

namespace fs = std::filesystem;
using namespace pdm::pfs;

TEST(DmStateRanges, RegionTouchedByFlagAndOverlap) {
  FileDmState s;
  s.regions = {{100, 50, region_flag::kRead}, {1000, 0, region_flag::kTruncate}};
  EXPECT_TRUE(region_touched(s, region_flag::kRead, 0, 101));
  EXPECT_FALSE(region_touched(s, region_flag::kRead, 0, 100));  // ends where the region starts
  EXPECT_FALSE(region_touched(s, region_flag::kRead, 150, 10));
  EXPECT_FALSE(region_touched(s, region_flag::kWrite, 100, 10));  // other flag
  EXPECT_FALSE(region_touched(s, region_flag::kRead, 120, 0));    // empty range
  // Size 0: to the end of the file and beyond.
  EXPECT_TRUE(region_touched(s, region_flag::kTruncate, 1u << 30, 1));
  EXPECT_TRUE(region_touched(s, region_flag::kTruncate, 0, kToEnd));
  EXPECT_FALSE(region_touched(s, region_flag::kTruncate, 0, 1000));
}

TEST(DmStateRanges, ReleasedRangesMergeAndSplit) {
  std::vector<ByteRange> r;
  add_released(r, 100, 100);
  add_released(r, 300, 100);
  add_released(r, 200, 100);  // touches both: one range
  ASSERT_EQ(r, (std::vector<ByteRange>{{100, 300}}));
  EXPECT_TRUE(clear_released(r, 150, 50));
  ASSERT_EQ(r, (std::vector<ByteRange>{{100, 50}, {200, 200}}));
  EXPECT_FALSE(clear_released(r, 0, 100));  // nothing there
  EXPECT_TRUE(clear_released(r, 0, kToEnd));
  EXPECT_TRUE(r.empty());
  FileDmState s;
  add_released(s.released, 4096, 4096);
  EXPECT_TRUE(released_touched(s, 0, 4097));
  EXPECT_FALSE(released_touched(s, 0, 4096));
  EXPECT_FALSE(released_touched(s, 8192, 10));
}

class DmStateStore : public ::testing::Test {
 protected:
  std::unique_ptr<MetaStore> open() {
    MetaStoreOptions options;
    options.dir = dir_.path();
    options.volume_count = 4;
    auto store = MetaStore::open(options);
    if (!store.ok()) throw std::runtime_error(store.error().message);
    return std::move(store).value();
  }
  Inode make_file(MetaStore &store, std::uint64_t size) {
    auto created = store.create(kRootInode, "f", 0644, 0, 0, true);
    if (!created.ok()) throw std::runtime_error(created.error().message);
    auto grown = store.extend(created->inode.ino, size, 1);
    if (!grown.ok()) throw std::runtime_error(grown.error().message);
    return *grown;
  }
  TempDir dir_;
};

TEST_F(DmStateStore, RegionsReplaceAndPersist) {
  InodeNumber ino = 0;
  {
    auto store = open();
    ino = make_file(*store, 10000).ino;
    auto empty = store->dm_state(ino);
    ASSERT_TRUE(empty.ok());
    EXPECT_TRUE(empty->state.empty());
    auto set = set_regions(*store, {ino, {{0, 4096, region_flag::kRead}}});
    ASSERT_TRUE(set.ok());
    auto replaced = set_regions(*store, {ino, {{8192, 0, region_flag::kWrite}}});
    ASSERT_TRUE(replaced.ok());
    EXPECT_GT(replaced->state.version, set->state.version);
    EXPECT_EQ(replaced->state.regions,
              (std::vector<ManagedRegion>{{8192, 0, region_flag::kWrite}}));
  }
  auto store = open();  // persistent (DM_CONFIG_PERS_MANAGED_REGIONS)
  auto again = store->dm_state(ino);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->state.regions, (std::vector<ManagedRegion>{{8192, 0, region_flag::kWrite}}));
}

TEST_F(DmStateStore, RegionErrnos) {
  auto store = open();
  const InodeNumber ino = make_file(*store, 100).ino;
  std::vector<ManagedRegion> many(kMaxManagedRegions + 1, {0, 1, region_flag::kRead});
  EXPECT_EQ(set_regions(*store, {ino, many}).error().code, E2BIG);
  EXPECT_EQ(set_regions(*store, {ino, {{0, 1, 0x8}}}).error().code, EINVAL);
  EXPECT_EQ(set_regions(*store, {kRootInode, {}}).error().code, EINVAL);  // a directory
  EXPECT_EQ(set_regions(*store, {ino + 100, {}}).error().code, ENOENT);
}

TEST_F(DmStateStore, ReleaseClipsToSizeWriteClearsShrinkTrims) {
  auto store = open();
  const InodeNumber ino = make_file(*store, 10000).ino;
  auto released = release(*store, {ino, 4096, 0});  // to the end
  ASSERT_TRUE(released.ok());
  EXPECT_EQ(released->state.released, (std::vector<ByteRange>{{4096, 10000 - 4096}}));
  auto written = rewritten(*store, {ino, 5000, 1000, false});
  ASSERT_TRUE(written.ok());
  EXPECT_EQ(written->state.released, (std::vector<ByteRange>{{4096, 904}, {6000, 4000}}));
  EXPECT_EQ(written->inode.size, 10000u);
  // Invisible writes may extend the file, and leave the times alone.
  const Inode before = written->inode;
  auto invisible = rewritten(*store, {ino, 9000, 5000, true});
  ASSERT_TRUE(invisible.ok());
  EXPECT_EQ(invisible->inode.size, 14000u);
  EXPECT_EQ(invisible->inode.mtime, before.mtime);
  EXPECT_EQ(invisible->inode.ctime, before.ctime);
  EXPECT_EQ(invisible->state.released, (std::vector<ByteRange>{{4096, 904}, {6000, 3000}}));
  // A shrink forgets the released bytes past the new end.
  AttrChange shrink;
  shrink.size = 4500;
  ASSERT_TRUE(store->set_attr(ino, shrink).ok());
  EXPECT_EQ(store->dm_state(ino)->state.released, (std::vector<ByteRange>{{4096, 404}}));
}

TEST_F(DmStateStore, StateGoesWithTheInode) {
  auto store = open();
  const InodeNumber ino = make_file(*store, 100).ino;
  ASSERT_TRUE(set_regions(*store, {ino, {{0, 0, region_flag::kRead}}}).ok());
  ASSERT_TRUE(store->unlink(kRootInode, "f").ok());
  ASSERT_TRUE(store->forget(ino).ok());
  EXPECT_EQ(store->dm_state(ino).error().code, ENOENT);
  // A new file never inherits the record (inode numbers are not reused).
  const InodeNumber next = make_file(*store, 100).ino;
  EXPECT_NE(next, ino);
  EXPECT_TRUE(store->dm_state(next)->state.empty());
}

}  // namespace

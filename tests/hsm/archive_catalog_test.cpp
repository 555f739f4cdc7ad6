// rebuild-catalog's decisions (issue #6: the catalog can be rebuilt from the
// archive alone; B16: the state an HSM keeps per file).
#include <gtest/gtest.h>

#include "apps/hsm/archive/catalog_rebuild.h"

namespace pdm::hsm {
namespace {

ArchiveRecord copy(std::string locator, std::uint64_t ino, std::uint64_t gen, std::uint64_t size,
                   std::int64_t mtime, std::uint64_t sum = 7) {
  ArchiveRecord r;
  r.location = ArchiveLocation{"a1", std::move(locator)};
  r.file = ArchivedFile{"/p/f", ino, gen, size, mtime, sum};
  return r;
}

TEST(Catalog, GroupsCopiesByInodeAndGeneration) {
  auto groups = group_copies({copy("b", 1, 1, 10, 5), copy("a", 1, 1, 10, 6), copy("c", 1, 2, 3, 1),
                              copy("d", 2, 1, 3, 1)});
  ASSERT_EQ(groups.size(), 3u);
  const auto &first = groups.at({1, 1});
  ASSERT_EQ(first.size(), 2u);
  EXPECT_EQ(first[0].location.locator, "a");  // sorted by location
}

TEST(Catalog, MatchingCopyMakesThePresentFilePremigrated) {
  const auto decision = decide_record({copy("x", 5, 2, 100, 1000, 0xabc)}, {100, 1000, false});
  EXPECT_EQ(decision.outcome, RebuildOutcome::kPremigrated);
  EXPECT_EQ(decision.record.state, FileState::kPremigrated);
  EXPECT_FALSE(decision.record.stale);
  EXPECT_EQ(decision.record.location->encode(), "a1:x");
  EXPECT_EQ(decision.record.checksum, 0xabcu);
  EXPECT_EQ(decision.record.size, 100u);
  EXPECT_EQ(decision.record.mtime_ns, 1000);
  EXPECT_EQ(decision.record.generation, 2u);
}

TEST(Catalog, MatchingCopyOfReleasedDataMakesItMigrated) {
  const auto decision = decide_record({copy("x", 5, 2, 100, 1000)}, {100, 1000, true});
  EXPECT_EQ(decision.outcome, RebuildOutcome::kMigrated);
  EXPECT_EQ(decision.record.state, FileState::kMigrated);
}

TEST(Catalog, TheMatchingCopyWinsOverANewerOne) {
  const auto decision = decide_record({copy("new", 5, 2, 200, 3000), copy("old", 5, 2, 100, 1000)},
                                      {100, 1000, true});
  EXPECT_EQ(decision.outcome, RebuildOutcome::kMigrated);
  EXPECT_EQ(decision.record.location->locator, "old");
}

TEST(Catalog, ChangedFileIsResidentWithTheNewestCopyStale) {
  const auto decision = decide_record(
      {copy("old", 5, 2, 100, 1000), copy("newer", 5, 2, 150, 2000)}, {300, 5000, false});
  EXPECT_EQ(decision.outcome, RebuildOutcome::kStale);
  EXPECT_EQ(decision.record.state, FileState::kResident);
  EXPECT_TRUE(decision.record.stale);
  EXPECT_EQ(decision.record.location->locator, "newer");
}

TEST(Catalog, ReleasedDataWithoutMatchingCopyIsUnrecoverable) {
  const auto decision = decide_record({copy("x", 5, 2, 100, 1000)}, {100, 999, true});
  EXPECT_EQ(decision.outcome, RebuildOutcome::kUnrecoverable);
}

TEST(Catalog, RecordsRoundTripAsText) {
  std::vector<ArchiveRecord> records = {copy("c-r0-000001.h5:/f1.1.0", 1, 1, 10, -5, ~0ull),
                                        copy("00/1.1.abc", 1ull << 60, 3, 0, 1700000000000000000)};
  records[1].file.path = "/odd \"name\"\n";
  auto back = decode_records(encode_records(records));
  ASSERT_TRUE(back.ok()) << back.error().message;
  ASSERT_EQ(back->size(), 2u);
  for (std::size_t i = 0; i < records.size(); ++i) {
    EXPECT_EQ((*back)[i].location.encode(), records[i].location.encode());
    EXPECT_EQ((*back)[i].file.path, records[i].file.path);
    EXPECT_EQ((*back)[i].file.ino, records[i].file.ino);
    EXPECT_EQ((*back)[i].file.generation, records[i].file.generation);
    EXPECT_EQ((*back)[i].file.size, records[i].file.size);
    EXPECT_EQ((*back)[i].file.mtime_ns, records[i].file.mtime_ns);
    EXPECT_EQ((*back)[i].file.checksum, records[i].file.checksum);
  }
  EXPECT_EQ(decode_records("{").error().code, EINVAL);
  EXPECT_EQ(decode_records("[[1]]").error().code, EINVAL);
}

}  // namespace
}  // namespace pdm::hsm

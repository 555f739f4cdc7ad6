// The HSM record a file carries in its DM attribute (B16: the state an HSM
// keeps per file must survive as the file's own metadata).
#include "apps/hsm/hsm_record.h"

#include <gtest/gtest.h>

namespace pdm::hsm {
namespace {

TEST(HsmRecord, RoundTripsEveryField) {
  HsmRecord record;
  record.state = FileState::kMigrated;
  record.location = ArchiveLocation{"tape1", "c-0001.h5:/f/42.3"};
  record.checksum = 0x9f0c00000000abcdULL;
  record.size = 1048577;
  record.mtime_ns = 1700000000123456789LL;
  record.generation = 3;
  auto decoded = HsmRecord::decode(record.encode());
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  EXPECT_EQ(decoded->state, FileState::kMigrated);
  ASSERT_TRUE(decoded->location.has_value());
  EXPECT_EQ(decoded->location->archive_id, "tape1");
  EXPECT_EQ(decoded->location->locator, "c-0001.h5:/f/42.3");  // ':' inside the locator is kept
  EXPECT_FALSE(decoded->stale);
  EXPECT_EQ(decoded->checksum, record.checksum);
  EXPECT_EQ(decoded->size, record.size);
  EXPECT_EQ(decoded->mtime_ns, record.mtime_ns);
  EXPECT_EQ(decoded->generation, 3u);
}

TEST(HsmRecord, ResidentWithStaleCopy) {
  HsmRecord record;
  record.location = ArchiveLocation{"a", "x"};
  record.stale = true;
  auto decoded = HsmRecord::decode(record.encode());
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  EXPECT_EQ(decoded->state, FileState::kResident);
  EXPECT_TRUE(decoded->stale);
}

TEST(HsmRecord, RejectsDamagedText) {
  EXPECT_EQ(HsmRecord::decode("").error().code, EINVAL);
  EXPECT_EQ(HsmRecord::decode("state=frozen").error().code, EINVAL);
  EXPECT_EQ(HsmRecord::decode("state=migrated;sum=00").error().code, EINVAL);  // no location
  EXPECT_EQ(HsmRecord::decode("state=resident;size=12x").error().code, EINVAL);
  EXPECT_EQ(HsmRecord::decode("state=resident;garbage").error().code, EINVAL);
  EXPECT_EQ(HsmRecord::decode("state=premigrated;archive=nocolon").error().code, EINVAL);
}

TEST(HsmRecord, IgnoresKeysOfNewerVersions) {
  auto decoded = HsmRecord::decode("state=resident;future=1");
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->state, FileState::kResident);
}

}  // namespace
}  // namespace pdm::hsm

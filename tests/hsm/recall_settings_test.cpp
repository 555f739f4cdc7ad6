// The bound on concurrent recalls as a runtime setting (issue #6: "concurrent
// recalls are bounded by a setting"): --max-recalls > PDM_HSM_MAX_RECALLS >
// [hsm] max_recalls of the fs config > 4, each value checked.
#include "apps/hsm/agent/recall_settings.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <fstream>

#include "apps/hsm/archive/archive_registry.h"
#include "tests/hsm/archive_test_support.h"

namespace pdm::hsm {
namespace {

TEST(RecallSettings, FlagBeatsEnvironmentBeatsConfigBeatsDefault) {
  MaxRecallsSources sources;
  EXPECT_EQ(*resolve_max_recalls(sources), kDefaultMaxRecalls);
  sources.config = "3";
  EXPECT_EQ(*resolve_max_recalls(sources), 3u);
  sources.env = "5";
  EXPECT_EQ(*resolve_max_recalls(sources), 5u);
  sources.flag = "7";
  EXPECT_EQ(*resolve_max_recalls(sources), 7u);
}

TEST(RecallSettings, BadValuesAreErrorsNamingTheirSourceNotFallbacks) {
  for (const char *bad : {"0", "-1", "abc", "4x", "", " 4", "257", "99999999999"}) {
    MaxRecallsSources sources;
    sources.config = "3";
    sources.env = bad;
    auto resolved = resolve_max_recalls(sources);
    ASSERT_FALSE(resolved.ok()) << "'" << bad << "' was accepted";
    EXPECT_EQ(resolved.error().code, EINVAL);
    EXPECT_NE(resolved.error().message.find("PDM_HSM_MAX_RECALLS"), std::string::npos)
        << resolved.error().message;
    EXPECT_NE(resolved.error().message.find("1 to 256"), std::string::npos);
  }
  MaxRecallsSources flagged;
  flagged.flag = "0";
  flagged.env = "2";
  auto resolved = resolve_max_recalls(flagged);
  ASSERT_FALSE(resolved.ok());
  EXPECT_NE(resolved.error().message.find("--max-recalls"), std::string::npos);
  MaxRecallsSources configured;
  configured.config = "many";
  configured.config_path = "/x/fs.conf";
  resolved = resolve_max_recalls(configured);
  ASSERT_FALSE(resolved.ok());
  EXPECT_NE(resolved.error().message.find("/x/fs.conf"), std::string::npos);
  EXPECT_EQ(*resolve_max_recalls({.flag = "256"}), 256u);
  EXPECT_EQ(*resolve_max_recalls({.flag = "1"}), 1u);
}

class RecallSettingsConfig : public ::testing::Test {
 protected:
  void SetUp() override { ::unsetenv(kMaxRecallsEnv); }
  void TearDown() override { ::unsetenv(kMaxRecallsEnv); }

  // A config with [hsm] max_recalls = `value` and one archive line.
  std::string write_config(const std::string &value) {
    const std::string path = dir_.path() + "/fs.conf";
    std::ofstream(path) << "[fs]\nid = 0123456789abcdef\nstripe_size = 1048576\nvolume = "
                        << dir_.path() << "/v0\n[hsm]\narchive = a1 posix /arch/a1\n"
                        << "max_recalls = " << value << "\n";
    return path;
  }

  test::TempDir dir_;
};

TEST_F(RecallSettingsConfig, TheConfigKeyIsReadAndKeptWhenAnArchiveIsAdded) {
  const std::string path = write_config("6");
  auto config = pfs::FsConfig::load(path);
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->hsm_max_recalls, "6");
  EXPECT_EQ(*resolve_max_recalls(max_recalls_sources(*config)), 6u);
  ::setenv(kMaxRecallsEnv, "2", 1);
  EXPECT_EQ(*resolve_max_recalls(max_recalls_sources(*config)), 2u);
  EXPECT_EQ(*resolve_max_recalls(max_recalls_sources(*config, "9")), 9u);

  // `pdm-hsm archive add` rewrites the config: the key stays.
  ASSERT_TRUE(add_archive(path, ArchiveSpec{"p2", ArchiveType::kPosix, "/arch/p2", {}}).ok());
  auto again = pfs::FsConfig::load(path);
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(again->hsm_max_recalls, "6");
  EXPECT_EQ(again->hsm_archives.size(), 2u);
}

TEST_F(RecallSettingsConfig, ABadConfigValueIsReportedWhenAnAgentWouldStart) {
  auto config = pfs::FsConfig::load(write_config("0"));
  ASSERT_TRUE(config.ok()) << config.error().message;  // opaque to the file system
  auto resolved = resolve_max_recalls(max_recalls_sources(*config));
  ASSERT_FALSE(resolved.ok());
  EXPECT_NE(resolved.error().message.find("fs.conf [hsm]: max_recalls '0'"), std::string::npos)
      << resolved.error().message;
}

}  // namespace
}  // namespace pdm::hsm

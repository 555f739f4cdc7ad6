#include "runtime/base/settings.h"

#include <gtest/gtest.h>

#include <cctype>
#include <cstdlib>
#include <set>
#include <sstream>
#include <vector>

#include <boost/program_options/errors.hpp>
#include <boost/program_options/parsers.hpp>

namespace pdm {
namespace {

namespace po = boost::program_options;
using namespace std::chrono_literals;

// Clears every PDM_* variable of the table around each test, so that the
// environment of whoever runs the tests does not leak in.
class SettingsTest : public ::testing::Test {
 protected:
  void SetUp() override { clear_environment(); }
  void TearDown() override { clear_environment(); }

  static void clear_environment() {
    for (const SettingInfo &info : setting_table()) {
      ::unsetenv(std::string(info.environment).c_str());
    }
  }

  // Parses a command line with every setting flag, as a pdm command does.
  static po::variables_map parse_flags(std::vector<std::string> args) {
    po::options_description options;
    add_setting_flags(options);
    std::vector<const char *> argv = {"pdm"};
    for (const std::string &arg : args) argv.push_back(arg.c_str());
    po::variables_map parsed;
    po::store(po::parse_command_line(static_cast<int>(argv.size()), argv.data(), options), parsed);
    po::notify(parsed);
    return parsed;
  }
};

TEST_F(SettingsTest, DefaultsAreTheDocumentedOnes) {
  const Settings settings = default_settings();
  EXPECT_EQ(settings.log_level, "warn");
  EXPECT_EQ(settings.meta_map_size, kGiB);
  EXPECT_EQ(settings.io_max_request, 8 * kMiB);
  EXPECT_EQ(settings.view_build_timeout, std::chrono::seconds(30));  // README's table
}

TEST_F(SettingsTest, EveryDefaultPassesItsOwnValidator) {
  for (const SettingInfo &info : setting_table()) {
    EXPECT_TRUE(check_setting(info.key, info.default_text).ok()) << info.key;
  }
}

TEST_F(SettingsTest, TableNamesFollowOneConventionAndAreUnique) {
  std::set<std::string_view> keys, environments, flags;
  for (const SettingInfo &info : setting_table()) {
    std::string environment = "PDM_";
    std::string flag;
    for (const char c : info.key) {
      environment +=
          c == '.' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      flag += (c == '.' || c == '_') ? '-' : c;
    }
    EXPECT_EQ(info.environment, environment);
    EXPECT_EQ(info.flag, flag);
    EXPECT_FALSE(info.description.empty());
    EXPECT_FALSE(info.allowed.empty());
    EXPECT_TRUE(keys.insert(info.key).second) << info.key;
    EXPECT_TRUE(environments.insert(info.environment).second) << info.environment;
    EXPECT_TRUE(flags.insert(info.flag).second) << info.flag;
  }
  EXPECT_EQ(keys.size(), 10u);  // log.level, meta.map_size, io.max_request, io.direct,
                                // fault.nospace_writes, cluster.heartbeat_interval,
                                // cluster.heartbeat_timeout, cluster.view_build_timeout,
                                // session.orphan_timeout, cluster.finalize_timeout
}

TEST_F(SettingsTest, HelpListsEverySettingWithItsEnvironmentVariableAndDefault) {
  po::options_description options("settings");
  add_setting_flags(options);
  std::ostringstream help;
  help << options;
  for (const SettingInfo &info : setting_table()) {
    EXPECT_NE(help.str().find(fmt::format("--{}", info.flag)), std::string::npos) << help.str();
    const std::string &text = options.find(std::string(info.flag), false).description();
    EXPECT_NE(text.find(std::string(info.environment)), std::string::npos) << text;
    EXPECT_NE(text.find(std::string(info.key)), std::string::npos) << text;
    EXPECT_NE(text.find(fmt::format("default {}", info.default_text)), std::string::npos) << text;
  }
}

TEST_F(SettingsTest, FlagBeatsEnvironmentBeatsFileBeatsDefault) {
  const SettingValues file = {
      {"log.level", "info"}, {"io.max_request", "1M"}, {"meta.map_size", "2G"}};
  ::setenv("PDM_LOG_LEVEL", "debug", 1);
  ::setenv("PDM_IO_MAX_REQUEST", "2M", 1);
  const po::variables_map flags = parse_flags({"--log-level", "trace"});

  SettingSources sources;
  sources.command_line = &flags;
  sources.config_file = &file;
  sources.config_file_name = "/x/fs.conf";
  auto settings = resolve(sources);
  ASSERT_TRUE(settings.ok()) << settings.error().message;
  EXPECT_EQ(settings->log_level, "trace");        // flag over environment and file
  EXPECT_EQ(settings->io_max_request, 2 * kMiB);  // environment over file
  EXPECT_EQ(settings->meta_map_size, 2 * kGiB);   // file over default

  sources.command_line = nullptr;
  settings = resolve(sources);
  ASSERT_TRUE(settings.ok()) << settings.error().message;
  EXPECT_EQ(settings->log_level, "debug");

  ::unsetenv("PDM_LOG_LEVEL");
  settings = resolve(sources);
  ASSERT_TRUE(settings.ok()) << settings.error().message;
  EXPECT_EQ(settings->log_level, "info");

  sources.config_file = nullptr;
  settings = resolve(sources);
  ASSERT_TRUE(settings.ok()) << settings.error().message;
  EXPECT_EQ(settings->log_level, "warn");
  EXPECT_EQ(settings->meta_map_size, kGiB);
}

TEST_F(SettingsTest, EnvironmentIsIgnoredWhenDisabledOrEmpty) {
  ::setenv("PDM_LOG_LEVEL", "debug", 1);
  SettingSources sources;
  sources.environment = false;
  EXPECT_EQ(resolve(sources)->log_level, "warn");

  ::setenv("PDM_LOG_LEVEL", "", 1);
  sources.environment = true;
  EXPECT_EQ(resolve(sources)->log_level, "warn");
}

TEST_F(SettingsTest, BadFlagIsRejectedNamingTheSettingAndTheFlag) {
  const po::variables_map flags = parse_flags({"--log-level=loud"});
  SettingSources sources;
  sources.command_line = &flags;
  auto settings = resolve(sources);
  ASSERT_FALSE(settings.ok());
  EXPECT_EQ(settings.error().code, EINVAL);
  EXPECT_NE(settings.error().message.find("log.level"), std::string::npos);
  EXPECT_NE(settings.error().message.find("--log-level"), std::string::npos);
  EXPECT_NE(settings.error().message.find("'loud'"), std::string::npos);
  EXPECT_NE(settings.error().message.find("trace|debug|info|warn|error|off"), std::string::npos)
      << settings.error().message;
}

TEST_F(SettingsTest, BadEnvironmentValueIsRejectedNamingTheVariable) {
  ::setenv("PDM_IO_MAX_REQUEST", "lots", 1);
  auto settings = resolve(SettingSources{});
  ASSERT_FALSE(settings.ok());
  EXPECT_EQ(settings.error().code, EINVAL);
  EXPECT_NE(settings.error().message.find("io.max_request"), std::string::npos);
  EXPECT_NE(settings.error().message.find("PDM_IO_MAX_REQUEST"), std::string::npos);
  EXPECT_NE(settings.error().message.find("'lots'"), std::string::npos) << settings.error().message;
}

TEST_F(SettingsTest, BadFileValueIsRejectedNamingTheFile) {
  const SettingValues file = {{"meta.map_size", "1K"}};
  SettingSources sources;
  sources.config_file = &file;
  sources.config_file_name = "/x/fs.conf";
  auto settings = resolve(sources);
  ASSERT_FALSE(settings.ok());
  EXPECT_NE(settings.error().message.find("meta.map_size"), std::string::npos);
  EXPECT_NE(settings.error().message.find("/x/fs.conf"), std::string::npos)
      << settings.error().message;
}

TEST_F(SettingsTest, MaxRequestIsBoundedTo64KiBThrough32MiB) {
  EXPECT_TRUE(check_setting("io.max_request", "64K").ok());
  EXPECT_TRUE(check_setting("io.max_request", "32M").ok());
  for (const char *text : {"63K", "32769K", "64M", "0"}) {
    const Status status = check_setting("io.max_request", text);
    ASSERT_FALSE(status.ok()) << text;
    EXPECT_EQ(status.error().code, EINVAL);
    EXPECT_NE(status.error().message.find("io.max_request"), std::string::npos);
    EXPECT_NE(status.error().message.find("64 KiB..32 MiB"), std::string::npos)
        << status.error().message;
  }
}

TEST_F(SettingsTest, LogLevelAcceptsExactlyItsWords) {
  for (const char *level : {"trace", "debug", "info", "warn", "error", "off"}) {
    EXPECT_TRUE(check_setting("log.level", level).ok()) << level;
  }
  for (const char *level : {"", "WARN", "warning", "inf", "info|debug", "trace|"}) {
    EXPECT_FALSE(check_setting("log.level", level).ok()) << level;
  }
}

TEST_F(SettingsTest, UnknownSettingIsRejected) {
  const Status status = check_setting("log.colour", "on");
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, EINVAL);
  EXPECT_NE(status.error().message.find("log.colour"), std::string::npos);
}

TEST_F(SettingsTest, ConfigFileSectionIsReadAndUnknownKeysRejected) {
  po::options_description options;
  add_setting_keys(options, "settings");
  std::istringstream good("[settings]\nlog.level = info\nio.max_request = 1M\n");
  po::variables_map parsed;
  po::store(po::parse_config_file(good, options), parsed);
  const SettingValues values = setting_values_from(parsed, "settings");
  EXPECT_EQ(values, (SettingValues{{"io.max_request", "1M"}, {"log.level", "info"}}));

  std::istringstream bad("[settings]\nlog.colour = on\n");
  EXPECT_THROW(po::parse_config_file(bad, options), po::unknown_option);
}

TEST(DurationSetting, ParsesUnitsAndChecksTheRange) {
  const setting::DurationIn heartbeat{100ms, 10min};
  EXPECT_EQ(*heartbeat.parse("250ms"), 250ms);
  EXPECT_EQ(*heartbeat.parse("2s"), 2000ms);
  EXPECT_EQ(*heartbeat.parse("1m"), 60000ms);
  EXPECT_EQ(*heartbeat.parse("1min"), 60000ms);
  for (const char *text :
       {"", "2", "s", "2 s", "1.5s", "99ms", "11m", "1h", "-1s", "99999999999999999999h"}) {
    auto value = heartbeat.parse(text);
    ASSERT_FALSE(value.ok()) << text;
    EXPECT_EQ(value.error().code, EINVAL);
    EXPECT_NE(value.error().message.find(fmt::format("'{}'", text)), std::string::npos)
        << value.error().message;
  }
  EXPECT_EQ(heartbeat.describe(), "a duration in 100ms..10m");
}

}  // namespace
}  // namespace pdm

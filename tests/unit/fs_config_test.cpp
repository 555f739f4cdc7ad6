#include "pfs/config/fs_config.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace pdm::pfs {
namespace {

class FsConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "pdm-fs-config-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string file(const std::string &name) const { return dir_ + "/" + name; }

  std::string write(const std::string &name, const std::string &content) const {
    std::ofstream(file(name)) << content;
    return file(name);
  }

  static std::string read(const std::string &path) {
    std::ifstream in(path);
    std::stringstream content;
    content << in.rdbuf();
    return content.str();
  }

  // Loads text as a config and expects EINVAL whose message names all of `names`.
  void expect_invalid(const std::string &text, std::initializer_list<std::string> names) {
    const std::string path = write("bad.conf", text);
    auto config = FsConfig::load(path);
    ASSERT_FALSE(config.ok()) << text;
    EXPECT_EQ(config.error().code, EINVAL) << config.error().message;
    EXPECT_NE(config.error().message.find(path), std::string::npos) << config.error().message;
    for (const std::string &name : names) {
      EXPECT_NE(config.error().message.find(name), std::string::npos)
          << "'" << name << "' not in: " << config.error().message;
    }
  }

  static FsConfig sample() {
    FsConfig config;
    config.fs_id = "0123456789abcdef";
    config.stripe_size = 1 << 20;
    config.volumes = {"/scratch/v0", "/scratch/v1", "/other disk/v2"};
    config.settings = {{"log.level", "info"}, {"io.max_request", "4M"}};
    return config;
  }

  std::string dir_;
};

constexpr const char *kGoodFs =
    "[fs]\nid = 0123456789abcdef\nstripe_size = 65536\nvolume = /v0\nvolume = /v1\n";

TEST_F(FsConfigTest, SaveThenLoadRoundTrips) {
  const FsConfig config = sample();
  const std::string path = file("fs.conf");
  ASSERT_TRUE(config.save_new(path).ok());
  auto loaded = FsConfig::load(path);
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  EXPECT_EQ(loaded->path, path);
  EXPECT_EQ(loaded->fs_id, config.fs_id);
  EXPECT_EQ(loaded->stripe_size, config.stripe_size);
  EXPECT_EQ(loaded->volumes, config.volumes);
  EXPECT_EQ(loaded->settings, config.settings);
  EXPECT_EQ(loaded->metadata_dir(), "/scratch/v0/meta");
  EXPECT_EQ(loaded->volume_dir(2), "/other disk/v2");
}

TEST_F(FsConfigTest, SaveLeavesOnlyTheConfigFile) {
  ASSERT_TRUE(sample().save_new(file("fs.conf")).ok());
  std::vector<std::string> names;
  for (const auto &entry : std::filesystem::directory_iterator(dir_)) {
    names.push_back(entry.path().filename().string());
  }
  EXPECT_EQ(names, std::vector<std::string>{"fs.conf"});
}

TEST_F(FsConfigTest, SaveRefusesAnExistingFileAndLeavesItAlone) {
  const std::string path = write("fs.conf", "precious\n");
  const Status status = sample().save_new(path);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, EEXIST);
  EXPECT_NE(status.error().message.find(path), std::string::npos);
  EXPECT_EQ(read(path), "precious\n");
}

TEST_F(FsConfigTest, SaveThatCannotWriteItsTempFileCreatesNothing) {
  const std::string path = file("fs.conf");
  ASSERT_EQ(::mkdir(fmt::format("{}.tmp.{}", path, ::getpid()).c_str(), 0700), 0);
  EXPECT_FALSE(sample().save_new(path).ok());
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST_F(FsConfigTest, SaveRefusesWhatLoadCouldNotReadBack) {
  FsConfig config = sample();
  config.volumes[1] = "/v#1";
  EXPECT_EQ(config.save_new(file("a.conf")).error().code, EINVAL);
  config = sample();
  config.volumes[1] = "relative/v1";
  EXPECT_EQ(config.save_new(file("b.conf")).error().code, EINVAL);
  config = sample();
  config.settings["log.level"] = "loud";
  EXPECT_EQ(config.save_new(file("c.conf")).error().code, EINVAL);
  config = sample();
  config.stripe_size = 1000;
  EXPECT_EQ(config.save_new(file("d.conf")).error().code, EINVAL);
  EXPECT_FALSE(std::filesystem::exists(file("a.conf")));
  EXPECT_FALSE(std::filesystem::exists(file("d.conf")));
}

TEST_F(FsConfigTest, MissingFileSaysToRunMkfs) {
  const std::string path = file("absent.conf");
  auto config = FsConfig::load(path);
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.error().code, ENOENT);
  EXPECT_EQ(
      config.error().message,
      fmt::format("pdm: file system config {}: no such file; create one with 'pdm mkfs'", path));
}

TEST_F(FsConfigTest, DirectoryIsNotAConfig) {
  EXPECT_EQ(FsConfig::load(dir_).error().code, EISDIR);
}

TEST_F(FsConfigTest, HandWrittenConfigWithSizeUnitsAndCommentsLoads) {
  const std::string path = write("fs.conf",
                                 "# comment\n[fs]\nid = 0123456789ABCDEF\nstripe_size = 4M  # "
                                 "units are fine\nvolume = /v0\n\n[settings]\nlog.level = debug\n");
  auto config = FsConfig::load(path);
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->stripe_size, 4u << 20);
  EXPECT_EQ(config->volumes, std::vector<std::string>{"/v0"});
  EXPECT_EQ(config->settings.at("log.level"), "debug");
}

TEST_F(FsConfigTest, UnknownKeysAreNamed) {
  expect_invalid(std::string(kGoodFs) + "stripes = 2\n", {"fs.stripes"});
  expect_invalid(std::string(kGoodFs) + "[settings]\nlog.colour = red\n", {"settings.log.colour"});
  expect_invalid(std::string("id = 1\n") + kGoodFs, {"'id'"});
  expect_invalid(std::string(kGoodFs) + "[data]\nvolume = /v2\n", {"data.volume"});
}

TEST_F(FsConfigTest, BadValuesNameTheirKey) {
  expect_invalid(std::string(kGoodFs) + "[settings]\nlog.level = loud\n", {"log.level", "loud"});
  expect_invalid(std::string(kGoodFs) + "[settings]\nio.max_request = 1G\n", {"io.max_request"});
  expect_invalid("[fs]\nid = 0123456789abcdef\nstripe_size = 1000\nvolume = /v0\n",
                 {"fs.stripe_size"});
  expect_invalid("[fs]\nid = 0123456789abcdef\nstripe_size = 2G\nvolume = /v0\n",
                 {"fs.stripe_size"});
  expect_invalid("[fs]\nid = 0123456789abcdef\nstripe_size = big\nvolume = /v0\n",
                 {"fs.stripe_size", "big"});
  expect_invalid("[fs]\nid = xyz\nstripe_size = 4096\nvolume = /v0\n", {"fs.id", "xyz"});
  expect_invalid("[fs]\nid = 0123456789abcdef\nstripe_size = 4096\nvolume = v0\n", {"v0"});
  expect_invalid("[fs]\nid = 0123456789abcdef\nstripe_size = 4096\nvolume = /v0\nvolume = /v0\n",
                 {"/v0", "twice"});
}

TEST_F(FsConfigTest, MissingAndRepeatedKeysAreErrors) {
  expect_invalid("[fs]\nstripe_size = 4096\nvolume = /v0\n", {"fs.id"});
  expect_invalid("[fs]\nid = 0123456789abcdef\nvolume = /v0\n", {"fs.stripe_size"});
  expect_invalid("[fs]\nid = 0123456789abcdef\nstripe_size = 4096\n", {"fs.volume"});
  expect_invalid(std::string(kGoodFs) + "id = 0123456789abcdef\n", {"fs.id"});
  expect_invalid("[fs]\nthis is not a key value line\n", {});
}

TEST_F(FsConfigTest, HsmArchiveLinesRoundTripInOrder) {
  FsConfig config = sample();
  config.hsm_archives = {"a1 hdf5 /archive/a1 deflate=4", "p posix /archive/p"};
  const std::string path = file("fs.conf");
  ASSERT_TRUE(config.save_new(path).ok());
  auto loaded = FsConfig::load(path);
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  EXPECT_EQ(loaded->hsm_archives, config.hsm_archives);
  // A config without [hsm] (every config mkfs writes) has no archives.
  ASSERT_TRUE(sample().save_new(file("plain.conf")).ok());
  EXPECT_TRUE(FsConfig::load(file("plain.conf"))->hsm_archives.empty());
  EXPECT_EQ(read(file("plain.conf")).find("[hsm]"), std::string::npos);
}

TEST_F(FsConfigTest, ReplaceDurablySwapsTheFileAndLeavesNoTemp) {
  const std::string path = file("fs.conf");
  ASSERT_TRUE(sample().save_new(path).ok());
  FsConfig config = *FsConfig::load(path);
  config.hsm_archives.push_back("a1 posix /archive/a1");
  ASSERT_TRUE(config.replace_durably(path).ok());
  EXPECT_EQ(FsConfig::load(path)->hsm_archives, config.hsm_archives);
  std::vector<std::string> names;
  for (const auto &entry : std::filesystem::directory_iterator(dir_)) {
    names.push_back(entry.path().filename().string());
  }
  EXPECT_EQ(names, std::vector<std::string>{"fs.conf"});
}

TEST_F(FsConfigTest, ReplaceDurablyNeedsAnExistingValidConfig) {
  EXPECT_EQ(sample().replace_durably(file("absent.conf")).error().code, ENOENT);
  EXPECT_FALSE(std::filesystem::exists(file("absent.conf")));
  const std::string path = file("fs.conf");
  ASSERT_TRUE(sample().save_new(path).ok());
  const std::string before = read(path);
  FsConfig config = sample();
  config.hsm_archives = {"a1 posix /x # comment"};
  EXPECT_EQ(config.replace_durably(path).error().code, EINVAL);
  EXPECT_EQ(read(path), before);
}

TEST(StripeSize, MustBeAPageMultipleBetween4KiBAnd1GiB) {
  EXPECT_TRUE(check_stripe_size(4096).ok());
  EXPECT_TRUE(check_stripe_size(1u << 30).ok());
  EXPECT_TRUE(check_stripe_size(12288).ok());
  for (std::uint64_t bad : {0ull, 512ull, 4095ull, 6144ull, (1ull << 30) + 4096, 1ull << 40}) {
    EXPECT_EQ(check_stripe_size(bad).error().code, EINVAL) << bad;
  }
}

}  // namespace
}  // namespace pdm::pfs

// The archive registry in the fs config (issue #6: archives are registered
// with `pdm-hsm archive add`, the first one is the default).
#include "apps/hsm/archive/archive_registry.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "tests/hsm/archive_test_support.h"

namespace pdm::hsm {
namespace {

class ArchiveRegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pfs::FsConfig config;
    config.fs_id = "0123456789abcdef";
    config.stripe_size = 1 << 20;
    config.volumes = {dir_.path() + "/v0"};
    config_path_ = dir_.path() + "/fs.conf";
    ASSERT_TRUE(config.save_new(config_path_).ok());
  }

  static ArchiveSpec spec(std::string id, ArchiveType type, std::string path,
                          std::map<std::string, std::string> options = {}) {
    return ArchiveSpec{std::move(id), type, std::move(path), std::move(options)};
  }

  test::TempDir dir_;
  std::string config_path_;
};

TEST_F(ArchiveRegistryTest, NoArchiveYetSaysHowToAddOne) {
  auto registry = ArchiveRegistry::load(config_path_);
  ASSERT_TRUE(registry.ok()) << registry.error().message;
  EXPECT_TRUE(registry->archives().empty());
  auto selected = registry->select();
  ASSERT_FALSE(selected.ok());
  EXPECT_EQ(selected.error().code, ENOENT);
  EXPECT_NE(selected.error().message.find("pdm-hsm archive add"), std::string::npos);
}

TEST_F(ArchiveRegistryTest, FirstAddedIsTheDefaultAndOthersAreSelectedById) {
  ASSERT_TRUE(
      add_archive(config_path_, spec("a1", ArchiveType::kHdf5, "/arch/a1", {{"deflate", "4"}}))
          .ok());
  ASSERT_TRUE(add_archive(config_path_, spec("p", ArchiveType::kPosix, "/arch/p")).ok());
  auto registry = ArchiveRegistry::load(config_path_);
  ASSERT_TRUE(registry.ok()) << registry.error().message;
  ASSERT_EQ(registry->archives().size(), 2u);
  EXPECT_EQ((*registry->select())->id, "a1");
  EXPECT_EQ((*registry->select("p"))->path, "/arch/p");
  EXPECT_EQ((*registry->select("a1"))->options.at("deflate"), "4");
  EXPECT_EQ((*registry->select("a1"))->type, ArchiveType::kHdf5);
  auto missing = registry->select("zz");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ENOENT);
  EXPECT_NE(missing.error().message.find("a1, p"), std::string::npos) << missing.error().message;
  // The rest of the config is untouched by adding archives.
  auto config = pfs::FsConfig::load(config_path_);
  ASSERT_TRUE(config.ok());
  EXPECT_EQ(config->volumes, std::vector<std::string>{dir_.path() + "/v0"});
  EXPECT_EQ(config->hsm_archives,
            (std::vector<std::string>{"a1 hdf5 /arch/a1 deflate=4", "p posix /arch/p"}));
}

TEST_F(ArchiveRegistryTest, AddingAnIdTwiceIsEexist) {
  ASSERT_TRUE(add_archive(config_path_, spec("a1", ArchiveType::kPosix, "/x")).ok());
  const Status again = add_archive(config_path_, spec("a1", ArchiveType::kPosix, "/y"));
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, EEXIST);
  EXPECT_EQ(ArchiveRegistry::load(config_path_)->archives().size(), 1u);
}

TEST_F(ArchiveRegistryTest, ConcurrentAddsAreAllKept) {
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([this, i] {
      EXPECT_TRUE(add_archive(config_path_, spec(fmt::format("a{}", i), ArchiveType::kPosix,
                                                 fmt::format("/x/{}", i)))
                      .ok());
    });
  }
  for (auto &thread : threads) thread.join();
  auto registry = ArchiveRegistry::load(config_path_);
  ASSERT_TRUE(registry.ok());
  std::set<std::string> ids;
  for (const auto &archive : registry->archives()) ids.insert(archive.id);
  EXPECT_EQ(ids.size(), 8u);
}

TEST(ArchiveSpec, ParsesAndEncodesLines) {
  auto spec = ArchiveSpec::parse("  t2  hdf5 /a/b   deflate=9 chunk=4M container_files=100 ");
  ASSERT_TRUE(spec.ok()) << spec.error().message;
  EXPECT_EQ(spec->id, "t2");
  EXPECT_EQ(spec->type, ArchiveType::kHdf5);
  EXPECT_EQ(spec->path, "/a/b");
  EXPECT_EQ(spec->options.size(), 3u);
  EXPECT_EQ(spec->encode(), "t2 hdf5 /a/b chunk=4M container_files=100 deflate=9");
  EXPECT_EQ(ArchiveSpec::parse(spec->encode())->encode(), spec->encode());
}

TEST(ArchiveSpec, BadLinesAreEinvalNamingTheProblem) {
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"a1 hdf5", "expected"},
      {"a1 tape /x", "unknown type 'tape'"},
      {"a:1 posix /x", "archive id"},
      {"a1 posix rel/x", "not absolute"},
      {"a1 posix /x deflate=3", "unknown posix option"},
      {"a1 hdf5 /x deflate=10", "deflate"},
      {"a1 hdf5 /x level=3", "unknown hdf5 option 'level'"},
      {"a1 hdf5 /x chunk=0", "chunk"},
      {"a1 hdf5 /x deflate", "not key=value"},
      {"a1 hdf5 /x deflate=1 deflate=2", "twice"},
  };
  for (const auto &[line, expected] : bad) {
    auto spec = ArchiveSpec::parse(line);
    ASSERT_FALSE(spec.ok()) << line;
    EXPECT_EQ(spec.error().code, EINVAL) << line;
    EXPECT_NE(spec.error().message.find(expected), std::string::npos)
        << line << ": " << spec.error().message;
  }
}

TEST_F(ArchiveRegistryTest, BadLineInTheConfigNamesTheFile) {
  pfs::FsConfig config = *pfs::FsConfig::load(config_path_);
  config.hsm_archives = {"a1 posix /x", "a1 posix /y"};
  ASSERT_TRUE(config.replace_durably(config_path_).ok());
  auto registry = ArchiveRegistry::load(config_path_);
  ASSERT_FALSE(registry.ok());
  EXPECT_EQ(registry.error().code, EINVAL);
  EXPECT_NE(registry.error().message.find(config_path_), std::string::npos);
  EXPECT_NE(registry.error().message.find("twice"), std::string::npos);
}

TEST_F(ArchiveRegistryTest, OpenArchiveCreatesAPosixArchiveOnlyWhenAsked) {
  const ArchiveSpec posix = spec("p", ArchiveType::kPosix, dir_.path() + "/arch");
  EXPECT_EQ(open_archive(posix).error().code, ENOENT);
  auto created = open_archive(posix, {.create = true});
  ASSERT_TRUE(created.ok()) << created.error().message;
  EXPECT_EQ((*created)->id(), "p");
  EXPECT_TRUE(open_archive(posix).ok());
}

// A spec made in code, not parsed from a line, is checked all the same:
// open_archive and add_archive refuse bad HDF5 options with EINVAL naming
// them (open_archive then reads the options without checking them again),
// and nothing is created or added.
TEST_F(ArchiveRegistryTest, BadHdf5OptionsOfASpecMadeInCodeAreEinval) {
  const std::vector<std::pair<std::map<std::string, std::string>, std::string>> bad = {
      {{{"deflate", "x"}}, "deflate=x"},
      {{{"deflate", "12"}}, "deflate=12"},
      {{{"chunk", "0"}}, "chunk=0"},
      {{{"chunk", "4Q"}}, "chunk=4Q"},
      {{{"container_files", "-1"}}, "container_files=-1"},
      {{{"container_bytes", "0"}}, "container_bytes=0"},
      {{{"compress", "1"}}, "unknown hdf5 option 'compress'"},
      {{{"chunk", "1 M"}}, "bad option"},
  };
  for (const auto &[options, expected] : bad) {
    const ArchiveSpec h = spec("h", ArchiveType::kHdf5, dir_.path() + "/h5", options);
    auto opened = open_archive(h, {.create = true});
    ASSERT_FALSE(opened.ok()) << expected;
    EXPECT_EQ(opened.error().code, EINVAL) << expected;
    EXPECT_NE(opened.error().message.find(expected), std::string::npos)
        << expected << ": " << opened.error().message;
    auto added = add_archive(config_path_, h);
    ASSERT_FALSE(added.ok()) << expected;
    EXPECT_EQ(added.error().code, EINVAL) << expected;
  }
  EXPECT_FALSE(std::filesystem::exists(dir_.path() + "/h5"));
  auto registry = ArchiveRegistry::load(config_path_);
  ASSERT_TRUE(registry.ok()) << registry.error().message;
  EXPECT_TRUE(registry->archives().empty());
}

}  // namespace
}  // namespace pdm::hsm

#include "pfs/config/mkfs.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>

#include "pfs/config/volume.h"

namespace pdm::pfs {
namespace {

namespace fs = std::filesystem;

class MkfsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // mkfs fsyncs every file and directory it creates; on a busy disk that
    // takes seconds per test. These tests pin behaviour, not durability, so
    // they run on tmpfs when there is one.
    const fs::path base = fs::is_directory("/dev/shm") && ::access("/dev/shm", W_OK) == 0
                              ? fs::path("/dev/shm")
                              : fs::temp_directory_path();
    std::string pattern = (base / "pdm-mkfs-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    if (!saved_cwd_.empty()) fs::current_path(saved_cwd_);
    fs::remove_all(dir_);
  }

  std::string path(const std::string &name) const { return dir_ + "/" + name; }

  MkfsOptions options(std::vector<std::string> volumes) const {
    MkfsOptions options;
    options.config_path = path("fs.conf");
    for (const std::string &volume : volumes) options.volumes.push_back(path(volume));
    return options;
  }

  // Every path under the test directory, to show that a refusal created nothing.
  std::set<std::string> tree() const {
    std::set<std::string> paths;
    for (const auto &entry : fs::recursive_directory_iterator(dir_)) {
      paths.insert(entry.path().string());
    }
    return paths;
  }

  // Runs mkfs, expects it to fail with code, a message containing every
  // string of `names`, and no change to the tree.
  void expect_refused(const MkfsOptions &options, int code,
                      std::initializer_list<std::string> names) {
    const std::set<std::string> before = tree();
    auto config = make_file_system(options);
    ASSERT_FALSE(config.ok());
    EXPECT_EQ(config.error().code, code) << config.error().message;
    for (const std::string &name : names) {
      EXPECT_NE(config.error().message.find(name), std::string::npos)
          << "'" << name << "' not in: " << config.error().message;
    }
    EXPECT_EQ(tree(), before);
  }

  void chdir_to_test_dir() {
    saved_cwd_ = fs::current_path();
    fs::current_path(dir_);
  }

  std::string dir_;
  fs::path saved_cwd_;
};

TEST_F(MkfsTest, CreatesVolumesHeadersObjectsMetadataAndConfig) {
  auto config = make_file_system(options({"v0", "v1", "v2"}));
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->path, path("fs.conf"));
  EXPECT_TRUE(check_fs_id(config->fs_id).ok()) << config->fs_id;
  EXPECT_EQ(config->stripe_size, 1u << 20);
  EXPECT_EQ(config->volumes, (std::vector<std::string>{path("v0"), path("v1"), path("v2")}));

  for (std::uint32_t i = 0; i < 3; ++i) {
    auto header = read_volume_header(config->volume_dir(i));
    ASSERT_TRUE(header.ok()) << header.error().message;
    EXPECT_EQ(*header, (VolumeHeader{kVolumeFormat, config->fs_id, i, 3}));
    EXPECT_TRUE(fs::is_directory(object_root(config->volume_dir(i)) + "/00"));
    EXPECT_TRUE(fs::is_directory(object_root(config->volume_dir(i)) + "/ff"));
    EXPECT_EQ(fs::is_directory(config->volume_dir(i) + "/meta"), i == 0);
  }
  EXPECT_TRUE(fs::is_directory(fs::path(object_path(config->volume_dir(1), 0x1234)).parent_path()));

  auto loaded = FsConfig::load(path("fs.conf"));
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  EXPECT_EQ(loaded->fs_id, config->fs_id);
  EXPECT_EQ(loaded->volumes, config->volumes);
  EXPECT_EQ(loaded->stripe_size, config->stripe_size);
  const Status checked = check_volumes(*loaded);
  EXPECT_TRUE(checked.ok()) << checked.error().message;
}

TEST_F(MkfsTest, UsesExistingEmptyDirectories) {
  fs::create_directory(path("v0"));
  MkfsOptions opts = options({"v0"});
  opts.stripe_size = 64 * 1024;
  auto config = make_file_system(opts);
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->stripe_size, 64u * 1024);
  EXPECT_TRUE(read_volume_header(path("v0")).ok());
}

TEST_F(MkfsTest, RelativePathsAreMadeAbsoluteAndNormal) {
  chdir_to_test_dir();
  fs::create_directory(path("sub"));
  MkfsOptions opts;
  opts.config_path = "sub/../fs.conf";
  opts.volumes = {"v0/", "./sub/../v1", "sub//v2"};
  auto config = make_file_system(opts);
  ASSERT_TRUE(config.ok()) << config.error().message;
  const std::string real = fs::canonical(dir_).string();  // the working directory, through links
  EXPECT_EQ(config->path, real + "/fs.conf");
  EXPECT_EQ(config->volumes,
            (std::vector<std::string>{real + "/v0", real + "/v1", real + "/sub/v2"}));
  EXPECT_TRUE(FsConfig::load(real + "/fs.conf").ok());
}

TEST_F(MkfsTest, EveryFileSystemGetsItsOwnId) {
  auto first = make_file_system(options({"a0"}));
  MkfsOptions second_options = options({"b0"});
  second_options.config_path = path("other.conf");
  auto second = make_file_system(second_options);
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_NE(first->fs_id, second->fs_id);
}

TEST_F(MkfsTest, RefusesNoVolumes) {
  expect_refused(options({}), EINVAL, {"no volumes"});
}

TEST_F(MkfsTest, RefusesBadStripeSizes) {
  for (std::uint32_t stripe : {0u, 512u, 4095u, 6144u, (1u << 30) + 4096u, 1u << 31}) {
    MkfsOptions opts = options({"v0"});
    opts.stripe_size = stripe;
    expect_refused(opts, EINVAL, {"stripe size", std::to_string(stripe)});
  }
}

TEST_F(MkfsTest, RefusesAnExistingConfigFile) {
  std::ofstream(path("fs.conf")) << "mine\n";
  expect_refused(options({"v0"}), EEXIST, {path("fs.conf")});
}

TEST_F(MkfsTest, RefusesAConfigInAMissingDirectory) {
  MkfsOptions opts = options({"v0"});
  opts.config_path = path("absent/fs.conf");
  expect_refused(opts, ENOENT, {path("absent")});
}

TEST_F(MkfsTest, RefusesTheSameVolumeTwice) {
  expect_refused(options({"v0", "v1", "v0"}), EINVAL, {path("v0"), "same directory"});
  expect_refused(options({"v0", "v1/../v0/"}), EINVAL, {path("v0"), "same directory"});
}

TEST_F(MkfsTest, RefusesTheSameVolumeThroughASymlink) {
  fs::create_directory(path("real"));
  fs::create_directory_symlink(path("real"), path("alias"));
  expect_refused(options({"real", "alias"}), EINVAL, {path("real"), path("alias")});
  // A volume that does not exist yet, under a symlinked parent.
  fs::create_directory(path("real/p"));
  expect_refused(options({"real/p/new", "alias/p/new"}), EINVAL,
                 {path("real/p/new"), path("alias/p/new")});
}

TEST_F(MkfsTest, RefusesNestedVolumes) {
  fs::create_directory(path("outer"));
  expect_refused(options({"outer", "outer/inner"}), EINVAL, {"nested"});
  expect_refused(options({"outer/inner", "outer"}), EINVAL, {"nested"});
}

TEST_F(MkfsTest, RefusesTheConfigAsAVolume) {
  expect_refused(options({"v0", "fs.conf"}), EINVAL, {path("fs.conf")});
}

TEST_F(MkfsTest, RefusesAVolumeOfAnotherFileSystem) {
  auto existing = make_file_system(options({"v0", "v1"}));
  ASSERT_TRUE(existing.ok()) << existing.error().message;
  MkfsOptions again = options({"w0", "v1"});
  again.config_path = path("again.conf");
  expect_refused(again, EEXIST,
                 {path("v1"), "already a pdm volume", "belongs to file system " + existing->fs_id});
}

TEST_F(MkfsTest, RefusesAVolumeWithAnUnreadableHeader) {
  fs::create_directory(path("v0"));
  std::ofstream(path("v0/pdm-volume")) << "garbage\n";
  expect_refused(options({"v0"}), EEXIST, {path("v0"), "already a pdm volume"});
}

TEST_F(MkfsTest, RefusesANonEmptyDirectory) {
  fs::create_directory(path("v1"));
  std::ofstream(path("v1/data.bin")) << "user data\n";
  expect_refused(options({"v0", "v1"}), ENOTEMPTY, {path("v1")});
}

TEST_F(MkfsTest, RefusesAVolumeThatIsAFile) {
  std::ofstream(path("file")) << "x";
  expect_refused(options({"file"}), ENOTDIR, {path("file")});
}

TEST_F(MkfsTest, RefusesAVolumeWhoseParentIsMissing) {
  expect_refused(options({"v0", "missing/v1"}), ENOENT, {path("missing/v1"), path("missing")});
}

TEST_F(MkfsTest, RefusesPathsAConfigFileCannotHold) {
  expect_refused(options({"v#0"}), EINVAL, {"v#0"});
  expect_refused(options({"v\n0"}), EINVAL, {});
}

TEST_F(MkfsTest, FailureHalfwayRemovesWhatItCreatedButNothingElse) {
  fs::create_directory(path("existing"));
  const MkfsOptions opts = options({"existing", "new0", "new1"});
  // Saving the config, the last step, fails: its temp name is taken.
  const std::string blocker = fmt::format("{}.tmp.{}", opts.config_path, ::getpid());
  fs::create_directory(blocker);
  const std::set<std::string> before = tree();

  auto config = make_file_system(opts);
  ASSERT_FALSE(config.ok());
  EXPECT_NE(config.error().message.find(blocker), std::string::npos) << config.error().message;
  EXPECT_EQ(tree(), before);
  EXPECT_TRUE(fs::is_directory(path("existing")));
  EXPECT_TRUE(fs::is_empty(path("existing")));
  EXPECT_FALSE(fs::exists(path("new0")));

  fs::remove(blocker);
  auto retried = make_file_system(opts);
  EXPECT_TRUE(retried.ok()) << retried.error().message;
}

}  // namespace
}  // namespace pdm::pfs

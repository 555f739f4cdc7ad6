#include "pfs/config/volume.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace pdm::pfs {
namespace {

class VolumeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "pdm-volume-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // A volume directory laid out as mkfs leaves it, with header (index of count).
  std::string make_volume(const std::string &name, const std::string &fs_id, std::uint32_t index,
                          std::uint32_t count) {
    const std::string volume = dir_ + "/" + name;
    std::filesystem::create_directories(volume + "/objects");
    if (index == 0) std::filesystem::create_directories(volume + "/meta");
    EXPECT_TRUE(write_volume_header(volume, VolumeHeader{kVolumeFormat, fs_id, index, count}).ok());
    return volume;
  }

  FsConfig config_of(std::vector<std::string> volumes) const {
    FsConfig config;
    config.path = dir_ + "/fs.conf";
    config.fs_id = kId;
    config.stripe_size = 1 << 20;
    config.volumes = std::move(volumes);
    return config;
  }

  void write_header_text(const std::string &volume, const std::string &text) const {
    std::filesystem::create_directories(volume);
    std::ofstream(volume + "/" + kVolumeHeaderName) << text;
  }

  static constexpr const char *kId = "00000000deadbeef";
  std::string dir_;
};

TEST_F(VolumeTest, HeaderRoundTrips) {
  const VolumeHeader header{kVolumeFormat, kId, 2, 5};
  ASSERT_TRUE(write_volume_header(dir_, header).ok());
  auto read = read_volume_header(dir_);
  ASSERT_TRUE(read.ok()) << read.error().message;
  EXPECT_EQ(*read, header);
}

TEST_F(VolumeTest, HeaderIsNeverOverwritten) {
  ASSERT_TRUE(write_volume_header(dir_, VolumeHeader{kVolumeFormat, kId, 0, 1}).ok());
  const Status again =
      write_volume_header(dir_, VolumeHeader{kVolumeFormat, "1111111111111111", 0, 1});
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, EEXIST);
  EXPECT_EQ(read_volume_header(dir_)->fs_id, kId);
}

TEST_F(VolumeTest, DirectoryWithoutHeaderIsNotAVolume) {
  auto read = read_volume_header(dir_);
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.error().code, ENOENT);
  EXPECT_EQ(
      read.error().message,
      fmt::format("pdm: volume {}: not a pdm volume (no header); run 'pdm mkfs' first", dir_));
}

TEST_F(VolumeTest, MissingDirectoryIsENOENT) {
  auto read = read_volume_header(dir_ + "/absent");
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.error().code, ENOENT);
  EXPECT_NE(read.error().message.find("no such directory"), std::string::npos);
}

TEST_F(VolumeTest, MalformedHeadersAreEINVAL) {
  const std::vector<std::string> texts = {
      "",
      "format=1\nfs_id=00000000deadbeef\nindex=0\n",
      "format=1\nfs_id=00000000deadbeef\nindex=x\ncount=1\n",
      "format=1\nfs_id=00000000deadbeef\nindex=1\ncount=1\n",
      "format=1\nfs_id=00000000deadbeef\nindex=0\ncount=0\n",
      "format=1\njunk\n",
  };
  for (std::size_t i = 0; i < texts.size(); ++i) {
    const std::string volume = dir_ + "/v" + std::to_string(i);
    write_header_text(volume, texts[i]);
    auto read = read_volume_header(volume);
    ASSERT_FALSE(read.ok()) << texts[i];
    EXPECT_EQ(read.error().code, EINVAL) << texts[i];
    EXPECT_NE(read.error().message.find(volume), std::string::npos) << read.error().message;
  }
}

TEST_F(VolumeTest, NewerFormatIsRefused) {
  write_header_text(dir_, "format=2\nfs_id=00000000deadbeef\nindex=0\ncount=1\n");
  auto read = read_volume_header(dir_);
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.error().code, EINVAL);
  EXPECT_NE(read.error().message.find("format 2"), std::string::npos) << read.error().message;
}

TEST_F(VolumeTest, UnknownHeaderKeysAreIgnored) {
  write_header_text(dir_, "format=1\nfs_id=00000000deadbeef\nindex=0\ncount=1\ncreated=now\n");
  EXPECT_TRUE(read_volume_header(dir_).ok());
}

TEST_F(VolumeTest, CheckVolumesAcceptsWhatMatchesTheConfig) {
  const FsConfig config = config_of(
      {make_volume("v0", kId, 0, 3), make_volume("v1", kId, 1, 3), make_volume("v2", kId, 2, 3)});
  const Status status = check_volumes(config);
  EXPECT_TRUE(status.ok()) << status.error().message;
}

TEST_F(VolumeTest, CheckVolumesNamesAVolumeOfAnotherFileSystem) {
  const std::string foreign = make_volume("v1", "1111111111111111", 1, 2);
  const Status status = check_volumes(config_of({make_volume("v0", kId, 0, 2), foreign}));
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, EINVAL);
  EXPECT_NE(status.error().message.find(foreign), std::string::npos);
  EXPECT_NE(status.error().message.find("belongs to file system 1111111111111111"),
            std::string::npos)
      << status.error().message;
}

TEST_F(VolumeTest, CheckVolumesCatchesReorderedVolumes) {
  const std::string v0 = make_volume("v0", kId, 0, 2);
  const std::string v1 = make_volume("v1", kId, 1, 2);
  const Status status = check_volumes(config_of({v1, v0}));
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.error().message.find(v1), std::string::npos);
  EXPECT_NE(status.error().message.find("says volume 1"), std::string::npos);
  EXPECT_NE(status.error().message.find("as volume 0"), std::string::npos)
      << status.error().message;
}

TEST_F(VolumeTest, CheckVolumesCatchesAMissingVolume) {
  const std::string v0 = make_volume("v0", kId, 0, 2);
  const Status status = check_volumes(config_of({v0}));
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.error().message.find("has 2 volumes"), std::string::npos)
      << status.error().message;

  const Status absent = check_volumes(config_of({v0, dir_ + "/gone"}));
  ASSERT_FALSE(absent.ok());
  EXPECT_EQ(absent.error().code, ENOENT);
  EXPECT_NE(absent.error().message.find(dir_ + "/gone"), std::string::npos);
}

TEST_F(VolumeTest, CheckVolumesWantsObjectsAndMetadataDirectories) {
  const std::string v0 = make_volume("v0", kId, 0, 1);
  std::filesystem::remove(v0 + "/meta");
  Status status = check_volumes(config_of({v0}));
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.error().message.find(v0 + "/meta"), std::string::npos) << status.error().message;

  std::filesystem::create_directory(v0 + "/meta");
  std::filesystem::remove(v0 + "/objects");
  status = check_volumes(config_of({v0}));
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.error().message.find(v0 + "/objects"), std::string::npos)
      << status.error().message;
}

TEST(ObjectPath, FansOutByTheLowByteOfTheInode) {
  EXPECT_EQ(object_root("/v0"), "/v0/objects");
  EXPECT_EQ(object_path("/v0", 1), "/v0/objects/01/0000000000000001");
  EXPECT_EQ(object_path("/v0", 0x1234abcd), "/v0/objects/cd/000000001234abcd");
  EXPECT_EQ(object_path("/data/v3", 0xffffffffffffff00ull), "/data/v3/objects/00/ffffffffffffff00");
  EXPECT_EQ(object_path("/v", 255), "/v/objects/ff/00000000000000ff");
  EXPECT_EQ(object_path("/v", 256), "/v/objects/00/0000000000000100");
}

}  // namespace
}  // namespace pdm::pfs

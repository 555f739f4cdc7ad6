// The fetch strategy of a recall agent hosted by the MPI-IO shim: HDF5
// archives are read by the helper process pdm-hsm-fetch (fetch_helper.h),
// POSIX archives in-process (fs_archives.h, FetchPath::kHdf5InHelper). The
// shim relies on the helper's failures reaching the agent as EIO, never as
// a hang, so that the application's call fails with MPI_ERR_IO.
#include "apps/hsm/agent/fetch_helper.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <fstream>

#include "apps/hsm/agent/fs_archives.h"
#include "apps/hsm/archive/archive_registry.h"
#include "tests/hsm/archive_test_support.h"

namespace pdm::hsm {
namespace {

class FetchHelperTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::unsetenv("PDM_HSM_FETCH");
    pfs::FsConfig config;
    config.fs_id = "0123456789abcdef";
    config.stripe_size = 1 << 20;
    config.volumes = {dir_.path() + "/v0"};
    config_path_ = dir_.path() + "/fs.conf";
    ASSERT_TRUE(config.save_new(config_path_).ok());
  }

  // Registers archive `id` of `type` and stores data as one copy in it.
  StoredCopy store(const std::string &id, ArchiveType type, const std::vector<std::byte> &data) {
    const ArchiveSpec spec{id, type, dir_.path() + "/" + id, {}};
    EXPECT_TRUE(add_archive(config_path_, spec).ok());
    auto archive = open_archive(spec, {.create = true});
    EXPECT_TRUE(archive.ok());
    auto stored =
        (*archive)->store(test::file_facts("/f", 42, 3, data.size()), test::reader_of(data));
    EXPECT_TRUE(stored.ok()) << stored.error().message;
    return *stored;
  }

  // A script standing in for pdm-hsm-fetch.
  std::string script(const std::string &name, const std::string &body) {
    const std::string path = dir_.path() + "/" + name;
    std::ofstream(path) << "#!/bin/sh\n" << body << "\n";
    ::chmod(path.c_str(), 0755);
    return path;
  }

  test::TempDir dir_;
  std::string config_path_;
};

TEST_F(FetchHelperTest, TheHelperIsFoundNextToTheLibrary) {
  auto path = fetch_helper_path();
  ASSERT_TRUE(path.ok()) << path.error().message;
  EXPECT_TRUE(path->ends_with("/pdm-hsm-fetch"));
  ::setenv("PDM_HSM_FETCH", (dir_.path() + "/none").c_str(), 1);
  auto missing = fetch_helper_path();
  ::unsetenv("PDM_HSM_FETCH");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ENOENT);
  EXPECT_NE(missing.error().message.find("PDM_HSM_FETCH"), std::string::npos);
}

TEST_F(FetchHelperTest, Hdf5CopiesComeThroughTheHelperInOrder) {
  const auto data = test::pattern_bytes(2 * 1048576 + 12345, 7);
  const StoredCopy copy = store("a1", ArchiveType::kHdf5, data);
  auto archives = archives_of(config_path_, FetchPath::kHdf5InHelper);
  ASSERT_TRUE(archives.ok()) << archives.error().message;
  auto archive = (*archives)->get("a1");
  ASSERT_TRUE(archive.ok());
  // The helper's archive only fetches: no HDF5 call in this process.
  auto listed = (*archive)->list();
  ASSERT_FALSE(listed.ok());
  EXPECT_EQ(listed.error().code, ENOTSUP);

  std::vector<std::byte> got;
  std::uint64_t next = 0;
  std::size_t pieces = 0;
  const Status fetched = (*archive)->fetch(
      copy.location, [&](std::uint64_t offset, std::span<const std::byte> piece) -> Status {
        EXPECT_EQ(offset, next);
        EXPECT_LE(piece.size(), std::size_t{1} << 20);
        next += piece.size();
        ++pieces;
        return test::collector(got)(offset, piece);
      });
  ASSERT_TRUE(fetched.ok()) << fetched.error().message;
  EXPECT_EQ(got, data);
  EXPECT_GE(pieces, 3u);
}

TEST_F(FetchHelperTest, PosixArchivesAreReadInProcess) {
  const auto data = test::pattern_bytes(5000, 3);
  const StoredCopy copy = store("p1", ArchiveType::kPosix, data);
  auto archives = archives_of(config_path_, FetchPath::kHdf5InHelper);
  ASSERT_TRUE(archives.ok());
  auto archive = (*archives)->get("p1");
  ASSERT_TRUE(archive.ok());
  auto listed = (*archive)->list();  // the real backend
  ASSERT_TRUE(listed.ok()) << listed.error().message;
  EXPECT_EQ(listed->size(), 1u);
  std::vector<std::byte> got;
  ASSERT_TRUE((*archive)->fetch(copy.location, test::collector(got)).ok());
  EXPECT_EQ(got, data);
}

TEST_F(FetchHelperTest, ACorruptCopyIsEioWithTheHelpersReason) {
  const auto data = test::pattern_bytes(300000, 11);
  const StoredCopy copy = store("a1", ArchiveType::kHdf5, data);
  // Flip one byte of the data inside the container (stored uncompressed).
  const std::string container =
      dir_.path() + "/a1/" + copy.location.locator.substr(0, copy.location.locator.find(':'));
  std::fstream file(container, std::ios::in | std::ios::out | std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  const std::string needle(reinterpret_cast<const char *>(data.data()) + 150000, 32);
  const std::size_t at = bytes.find(needle);
  ASSERT_NE(at, std::string::npos);
  file.seekp(static_cast<std::streamoff>(at + 5));
  file.put(static_cast<char>(bytes[at + 5] ^ 0x10));
  file.close();

  const std::string helper = *fetch_helper_path();
  std::vector<std::byte> got;
  const Status fetched =
      fetch_through_helper(helper, config_path_, copy.location, test::collector(got));
  ASSERT_FALSE(fetched.ok());
  EXPECT_EQ(fetched.error().code, EIO);
  EXPECT_NE(fetched.error().message.find("corrupt"), std::string::npos) << fetched.error().message;
  EXPECT_NE(fetched.error().message.find("exit code 1"), std::string::npos);
}

TEST_F(FetchHelperTest, AMissingCopyIsEio) {
  store("a1", ArchiveType::kHdf5, test::pattern_bytes(100, 1));
  const std::string helper = *fetch_helper_path();
  std::vector<std::byte> got;
  const Status fetched = fetch_through_helper(helper, config_path_,
                                              ArchiveLocation{"a1", "c-nobody-000001.h5:/f1.1.0"},
                                              test::collector(got));
  ASSERT_FALSE(fetched.ok());
  EXPECT_EQ(fetched.error().code, EIO);
  EXPECT_TRUE(got.empty());
}

TEST_F(FetchHelperTest, AHelperThatDiesIsEio) {
  const std::string helper = script("dies", "printf 'some bytes'\nkill -9 $$");
  std::vector<std::byte> got;
  const Status fetched =
      fetch_through_helper(helper, config_path_, ArchiveLocation{"a1", "x"}, test::collector(got));
  ASSERT_FALSE(fetched.ok());
  EXPECT_EQ(fetched.error().code, EIO);
  EXPECT_NE(fetched.error().message.find("killed by signal 9"), std::string::npos)
      << fetched.error().message;
}

TEST_F(FetchHelperTest, AHelperThatCannotStartIsAnError) {
  std::vector<std::byte> got;
  const Status fetched = fetch_through_helper(dir_.path() + "/absent", config_path_,
                                              ArchiveLocation{"a1", "x"}, test::collector(got));
  ASSERT_FALSE(fetched.ok());
  EXPECT_EQ(fetched.error().code, ENOENT);
}

// A sink that fails (the file system is full, say) stops the helper, even
// one that would write forever: no hang.
TEST_F(FetchHelperTest, ASinkErrorStopsTheHelper) {
  const std::string helper = script("endless", "exec cat /dev/zero");
  const Status fetched =
      fetch_through_helper(helper, config_path_, ArchiveLocation{"a1", "x"},
                           [](std::uint64_t, std::span<const std::byte>) -> Status {
                             return make_error(ENOSPC, "full");
                           });
  ASSERT_FALSE(fetched.ok());
  EXPECT_EQ(fetched.error().code, ENOSPC);
}

// The helper's own command line: a usage error is 2, --help is 0.
TEST_F(FetchHelperTest, TheHelperSaysHowToUseIt) {
  const std::string helper = *fetch_helper_path();
  EXPECT_EQ(std::system((helper + " --help > /dev/null").c_str()), 0);
  const int status = std::system((helper + " > /dev/null 2>&1").c_str());
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 2);
}

}  // namespace
}  // namespace pdm::hsm

#include "tests/mpi/fs_fixture.h"

#include <cstdlib>
#include <filesystem>

#include "pfs/config/mkfs.h"

namespace pdm::test {
namespace {
std::string g_root;
std::string g_config;
}  // namespace

const std::string &FileSystemEnvironment::root() {
  return g_root;
}
const std::string &FileSystemEnvironment::config_path() {
  return g_config;
}

std::vector<std::string> FileSystemEnvironment::volume_dirs() {
  std::vector<std::string> dirs;
  for (int v = 0; v < kVolumes; ++v) dirs.push_back(g_root + "/vol" + std::to_string(v));
  return dirs;
}

void FileSystemEnvironment::SetUp() {
  char buffer[256] = {};
  if (rank() == 0) {
    std::string tmpl = (std::filesystem::temp_directory_path() / "pdm-test-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) std::abort();
    std::snprintf(buffer, sizeof buffer, "%s", tmpl.c_str());
  }
  MPI_Bcast(buffer, sizeof buffer, MPI_CHAR, 0, MPI_COMM_WORLD);
  g_root = buffer;
  g_config = g_root + "/fs.conf";
  int made = 1;
  if (rank() == 0) {
    pfs::MkfsOptions options;
    options.config_path = g_config;
    options.volumes = volume_dirs();
    options.stripe_size = stripe_;
    auto fs = pfs::make_file_system(options);
    if (!fs.ok()) {
      std::fprintf(stderr, "mkfs failed: %s\n", fs.error().message.c_str());
      made = 0;
    }
  }
  MPI_Bcast(&made, 1, MPI_INT, 0, MPI_COMM_WORLD);
  ASSERT_EQ(made, 1);
  ASSERT_EQ(pdm_start(MPI_COMM_WORLD, g_config.c_str()), 0) << pdm_last_error();
}

void FileSystemEnvironment::TearDown() {
  EXPECT_EQ(pdm_stop(), 0) << pdm_last_error();
  MPI_Barrier(MPI_COMM_WORLD);
  if (rank() == 0) std::filesystem::remove_all(g_root);
}

}  // namespace pdm::test

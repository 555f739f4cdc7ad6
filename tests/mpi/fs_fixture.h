// A pdm file system for an MPI test binary: rank 0 makes a fresh file system
// of kVolumes volumes under a temporary directory, every rank mounts it with
// pdm_start for the whole binary, and it is removed at the end.
#pragma once

#include <gtest/gtest.h>
#include <mpi.h>
#include <pdm/pdm.h>

#include <string>
#include <vector>

#include "tests/jobs/job_util.h"

namespace pdm::test {

inline constexpr int kVolumes = 4;

class FileSystemEnvironment : public ::testing::Environment {
 public:
  // stripe_size in bytes; small stripes make every test cross volumes.
  explicit FileSystemEnvironment(std::uint32_t stripe_size = 64 * 1024) : stripe_(stripe_size) {}
  void SetUp() override;
  void TearDown() override;

  static const std::string &root();         // the temporary directory
  static const std::string &config_path();  // the fs config file
  static std::vector<std::string> volume_dirs();

 private:
  std::uint32_t stripe_;
};

// rank(), size(), all(ok) (a collective) and pattern(id, offset, length),
// the deterministic test bytes, are those of the job programs.
using jobs::all;
using jobs::pattern;
using jobs::rank;
using jobs::size;

}  // namespace pdm::test

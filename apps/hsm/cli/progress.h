// JobProgress: the progress of a long pdm-hsm job on rank 0, from counts
// summed over the ranks: files and bytes done of the total, rate and ETA.
// On a terminal (stderr) one live line, rewritten at most 4 times a second;
// otherwise (a batch job's log) one line every `interval` seconds. The
// final summary is the command's, on stdout.
#pragma once

#include <cstdint>
#include <string>

namespace pdm::cli {

class JobProgress {
 public:
  // enabled: this is rank 0 (others never print); interval 0: no periodic lines.
  JobProgress(bool enabled, std::string verb, std::uint64_t total_files, std::uint64_t total_bytes,
              double interval);
  // Totals done so far over all ranks.
  void update(std::uint64_t files, std::uint64_t bytes);
  // Clears the live line (a terminal) or prints the last periodic one.
  void finish();

  // "1.2 GiB/4.0 GiB 30% 120/400 files 85.0 MiB/s ETA 0:42" (for tests and logs).
  static std::string line(std::uint64_t files, std::uint64_t total_files, std::uint64_t bytes,
                          std::uint64_t total_bytes, double seconds);

 private:
  void print(bool final);

  bool enabled_ = false;
  bool terminal_ = false;
  std::string verb_;
  std::uint64_t total_files_ = 0;
  std::uint64_t total_bytes_ = 0;
  double interval_ = 0;
  double start_ = 0;
  double last_print_ = 0;
  std::uint64_t files_ = 0;
  std::uint64_t bytes_ = 0;
  bool printed_ = false;
};

}  // namespace pdm::cli

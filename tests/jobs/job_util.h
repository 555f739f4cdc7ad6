// Helpers for the multi-job test programs in tests/jobs: each program is one
// MPI job of a scenario that a driver script (tests/jobs/<scenario>.sh) runs
// several times. The programs and the driver talk through plain files in a
// work directory outside pdm: pid files, ready/go files, manifests and
// journals. A program reports failures on stderr ("[rank r] ...") and exits
// non-zero, so that the driver fails.
#pragma once

#include <mpi.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>

namespace pdm::jobs {

// MPI_Init_thread with MPI_THREAD_MULTIPLE (pdm_start needs it); aborts without it.
void init_mpi(int &argc, char **&argv);
int rank();
int size();
// True on every rank iff ok is true on every rank (collective).
bool all(bool ok);

// The whole main of a job program run as `program MODE FS_CONFIG`: MPI up,
// pdm mounted from FS_CONFIG, the function of MODE (true: passed on every
// rank it must), pdm unmounted, MPI down. Exit code 0 passed, 1 failed, 2
// usage (an unknown MODE or a wrong argument count).
int run_mounted_job(int argc, char **argv, std::string_view program,
                    const std::vector<std::pair<std::string, std::function<bool()>>> &modes);

// Prints "[rank r] <message>" on stderr.
void report(std::string_view message);
template <typename... Args>
void report(fmt::format_string<Args...> format, Args &&...args) {
  report(std::string_view(fmt::format(format, std::forward<Args>(args)...)));
}

// Deterministic test bytes: byte i of the content identified by seed is a
// hash of (seed, offset + i), so any range can be regenerated on its own.
std::vector<std::byte> pattern(std::uint64_t seed, std::uint64_t offset, std::size_t length);
std::uint64_t checksum(std::span<const std::byte> data);  // XXH64, seed 0

// Local files (outside pdm), for the driver protocol.
// Writes path atomically (temp file, fsync, rename), so a reader never sees it half written.
bool write_local_file(const std::string &path, std::string_view content);
std::optional<std::string> read_local_file(const std::string &path);
bool local_file_exists(const std::string &path);
// Polls for path every 10 ms until it exists (true) or timeout_s passed (false).
bool wait_for_local_file(const std::string &path, double timeout_s);

// pdm I/O that loops over short transfers; false (reported) on error or, for
// reads, on a short file.
bool pdm_write_all(int fd, std::span<const std::byte> data, std::uint64_t offset,
                   std::string_view path);
bool pdm_read_all(int fd, std::span<std::byte> buffer, std::uint64_t offset, std::string_view path);
// The whole content of a pdm file, or nullopt (reported).
std::optional<std::vector<std::byte>> pdm_read_file(const std::string &path);
// The size pdm_stat gives, or nullopt with errno set (not reported).
std::optional<std::uint64_t> pdm_file_size(const std::string &path);

}  // namespace pdm::jobs

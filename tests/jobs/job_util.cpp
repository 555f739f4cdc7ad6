#include "tests/jobs/job_util.h"

#include <fcntl.h>
#include <pdm/pdm.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>

namespace pdm::jobs {

void init_mpi(int &argc, char **&argv) {
  int provided = 0;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided);
  if (provided < MPI_THREAD_MULTIPLE) {
    std::fprintf(stderr, "MPI lacks MPI_THREAD_MULTIPLE\n");
    MPI_Abort(MPI_COMM_WORLD, 2);
  }
}

int rank() {
  int r = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &r);
  return r;
}

int size() {
  int s = 0;
  MPI_Comm_size(MPI_COMM_WORLD, &s);
  return s;
}

bool all(bool ok) {
  int mine = ok ? 1 : 0;
  int every = 0;
  MPI_Allreduce(&mine, &every, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
  return every == 1;
}

int run_mounted_job(int argc, char **argv, std::string_view program,
                    const std::vector<std::pair<std::string, std::function<bool()>>> &modes) {
  init_mpi(argc, argv);
  const std::string mode = argc == 3 ? argv[1] : "";
  const auto it = std::find_if(modes.begin(), modes.end(),
                               [&](const auto &entry) { return entry.first == mode; });
  int code = 2;
  if (it == modes.end()) {
    if (rank() == 0) {
      std::string names;
      for (const auto &entry : modes) names += (names.empty() ? "" : "|") + entry.first;
      std::fprintf(stderr, "usage: %.*s %s FS_CONFIG\n", static_cast<int>(program.size()),
                   program.data(), names.c_str());
    }
  } else if (pdm_start(MPI_COMM_WORLD, argv[2]) != 0) {
    report("pdm_start: {}", pdm_last_error());
    code = 1;
  } else {
    const bool ok = it->second();
    const bool stopped = pdm_stop() == 0;
    code = ok && stopped ? 0 : 1;
  }
  MPI_Finalize();
  return code;
}

void report(std::string_view message) {
  std::fprintf(stderr, "[rank %d] %.*s\n", rank(), static_cast<int>(message.size()),
               message.data());
  std::fflush(stderr);
}

std::vector<std::byte> pattern(std::uint64_t seed, std::uint64_t offset, std::size_t length) {
  std::vector<std::byte> out(length);
  const std::uint64_t salt = (seed + 1) * 0xC2B2AE3D27D4EB4Full;
  for (std::size_t i = 0; i < length; ++i) {
    std::uint64_t x = (offset + i) * 0x9E3779B97F4A7C15ull ^ salt;
    x ^= x >> 29;
    x *= 0xBF58476D1CE4E5B9ull;
    x ^= x >> 32;
    out[i] = static_cast<std::byte>(x & 0xff);
  }
  return out;
}

std::uint64_t checksum(std::span<const std::byte> data) {
  return XXH64(data.data(), data.size(), 0);
}

bool write_local_file(const std::string &path, std::string_view content) {
  const std::string temp = fmt::format("{}.tmp.{}", path, ::getpid());
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    report("cannot create {}: {}", temp, std::strerror(errno));
    return false;
  }
  std::size_t done = 0;
  while (done < content.size()) {
    const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      report("cannot write {}: {}", temp, std::strerror(errno));
      ::close(fd);
      return false;
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0 || ::rename(temp.c_str(), path.c_str()) != 0) {
    report("cannot save {}: {}", path, std::strerror(errno));
    return false;
  }
  return true;
}

std::optional<std::string> read_local_file(const std::string &path) {
  std::FILE *file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) return std::nullopt;
  std::string content;
  char buffer[4096];
  std::size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof buffer, file)) > 0) content.append(buffer, n);
  std::fclose(file);
  return content;
}

bool local_file_exists(const std::string &path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

bool wait_for_local_file(const std::string &path, double timeout_s) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  while (!local_file_exists(path)) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

bool pdm_write_all(int fd, std::span<const std::byte> data, std::uint64_t offset,
                   std::string_view path) {
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t n =
        ::pdm_pwrite(fd, data.data() + done, data.size() - done, static_cast<off_t>(offset + done));
    if (n <= 0) {
      report("pdm_pwrite {} at {}: {} ({})", path, offset + done, std::strerror(errno),
             pdm_last_error());
      return false;
    }
    done += static_cast<std::size_t>(n);
  }
  return true;
}

bool pdm_read_all(int fd, std::span<std::byte> buffer, std::uint64_t offset,
                  std::string_view path) {
  std::size_t done = 0;
  while (done < buffer.size()) {
    const ssize_t n = ::pdm_pread(fd, buffer.data() + done, buffer.size() - done,
                                  static_cast<off_t>(offset + done));
    if (n < 0) {
      report("pdm_pread {} at {}: {} ({})", path, offset + done, std::strerror(errno),
             pdm_last_error());
      return false;
    }
    if (n == 0) {
      report("pdm_pread {}: end of file at {}, expected {} bytes from {}", path, offset + done,
             buffer.size(), offset);
      return false;
    }
    done += static_cast<std::size_t>(n);
  }
  return true;
}

std::optional<std::vector<std::byte>> pdm_read_file(const std::string &path) {
  const int fd = ::pdm_open(path.c_str(), O_RDONLY, 0);
  if (fd < 0) {
    report("pdm_open {}: {} ({})", path, std::strerror(errno), pdm_last_error());
    return std::nullopt;
  }
  struct stat st {};
  std::optional<std::vector<std::byte>> content;
  if (::pdm_fstat(fd, &st) != 0) {
    report("pdm_fstat {}: {} ({})", path, std::strerror(errno), pdm_last_error());
  } else {
    std::vector<std::byte> buffer(static_cast<std::size_t>(st.st_size));
    if (pdm_read_all(fd, buffer, 0, path)) {
      // The file must end where its size says.
      std::byte extra{};
      const ssize_t beyond = ::pdm_pread(fd, &extra, 1, st.st_size);
      if (beyond != 0) {
        report("pdm_pread {} at its size {} returned {}, expected 0 (end of file)", path,
               static_cast<long long>(st.st_size), beyond);
      } else {
        content = std::move(buffer);
      }
    }
  }
  if (::pdm_close(fd) != 0) {
    report("pdm_close {}: {} ({})", path, std::strerror(errno), pdm_last_error());
    return std::nullopt;
  }
  return content;
}

std::optional<std::uint64_t> pdm_file_size(const std::string &path) {
  struct stat st {};
  if (::pdm_stat(path.c_str(), &st) != 0) return std::nullopt;
  return static_cast<std::uint64_t>(st.st_size);
}

}  // namespace pdm::jobs

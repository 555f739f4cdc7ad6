// Small POSIX helpers the archive backends share: errors as values naming
// the file, EINTR retried, short writes completed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "runtime/base/result.h"

namespace pdm::hsm::io {

// An owned file descriptor (closed on destruction, errors ignored there:
// call close() to see them).
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd &&other) noexcept : fd_(other.release()) {}
  Fd &operator=(Fd &&other) noexcept;
  Fd(const Fd &) = delete;
  Fd &operator=(const Fd &) = delete;
  ~Fd();

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int release() {
    const int fd = fd_;
    fd_ = -1;
    return fd;
  }
  Status close(const std::string &path);

 private:
  int fd_ = -1;
};

Result<Fd> open_file(const std::string &path, int flags, unsigned mode = 0644);
Status write_all(int fd, std::span<const std::byte> data, std::uint64_t offset,
                 const std::string &path);
// Reads up to out.size() bytes at offset (fewer only at the end of file).
Result<std::size_t> read_full(int fd, std::span<std::byte> out, std::uint64_t offset,
                              const std::string &path);
Status fsync_fd(int fd, const std::string &path);
Result<std::string> read_text(const std::string &path);
// Creates dir (and missing parents) with mode 0755, fsyncing each parent
// that got a new entry. Existing directories are fine.
Status make_dirs_durably(const std::string &dir);
Status unlink_file(const std::string &path);

// EINVAL naming what unless text is a 64-bit value in 16 hex digits.
Result<std::uint64_t> parse_hex64(std::string_view text, std::string_view what);
std::string hex64(std::uint64_t value);

}  // namespace pdm::hsm::io

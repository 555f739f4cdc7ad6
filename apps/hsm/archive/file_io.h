// Small POSIX helpers the archive backends share: errors as values naming
// the file, EINTR retried, short writes completed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "runtime/base/result.h"

struct XXH64_state_s;  // <xxhash.h>: XXH64_state_t

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

// The archive directory of archive `id` for a backend of type `type`
// ("posix", "hdf5"): fine if it holds the backend's marker file `marker`.
// Otherwise, without create: ENOENT if dir does not exist, EINVAL if it is
// not such an archive; with create: dir is made (with missing parents) and,
// if it is empty, claimed by writing the marker (text `marker_text`)
// durably; EINVAL for a directory that holds other things. Two processes
// claiming one new directory at once both succeed.
Status claim_archive_dir(const std::string &id, const std::string &dir, std::string_view type,
                         std::string_view marker, std::string_view marker_text, bool create);

// xxHash64 (seed 0) over data given in pieces, the checksum of every copy:
// what the backends compute while storing and fetching, and what the recall
// compares with the file's record.
class Xxh64 {
 public:
  Xxh64();  // std::bad_alloc if xxHash has no memory for its state
  Xxh64(const Xxh64 &) = delete;
  Xxh64 &operator=(const Xxh64 &) = delete;
  ~Xxh64();
  void update(std::span<const std::byte> data);
  std::uint64_t digest() const;  // of everything so far; update may go on

 private:
  XXH64_state_s *state_;
};

// EINVAL naming what unless text is a 64-bit value in 16 hex digits.
Result<std::uint64_t> parse_hex64(std::string_view text, std::string_view what);
std::string hex64(std::uint64_t value);

}  // namespace pdm::hsm::io

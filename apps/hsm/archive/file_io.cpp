#include "apps/hsm/archive/file_io.h"

#include <xxhash.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <new>

#include "pfs/config/fs_config.h"

namespace pdm::hsm::io {

Fd &Fd::operator=(Fd &&other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.release();
  }
  return *this;
}

Fd::~Fd() {
  if (fd_ >= 0) ::close(fd_);
}

Status Fd::close(const std::string &path) {
  const int fd = release();
  if (fd >= 0 && ::close(fd) != 0) {
    const int err = errno;
    return make_error(err, "cannot close {}: {}", path, std::strerror(err));
  }
  return ok_status();
}

Result<Fd> open_file(const std::string &path, int flags, unsigned mode) {
  const int fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
  if (fd < 0) {
    const int err = errno;
    return make_error(err, "cannot open {}: {}", path, std::strerror(err));
  }
  return Fd(fd);
}

Status write_all(int fd, std::span<const std::byte> data, std::uint64_t offset,
                 const std::string &path) {
  while (!data.empty()) {
    const ssize_t n = ::pwrite(fd, data.data(), data.size(), static_cast<off_t>(offset));
    if (n < 0) {
      const int err = errno;
      if (err == EINTR) continue;
      return make_error(err, "cannot write {}: {}", path, std::strerror(err));
    }
    data = data.subspan(static_cast<std::size_t>(n));
    offset += static_cast<std::uint64_t>(n);
  }
  return ok_status();
}

Result<std::size_t> read_full(int fd, std::span<std::byte> out, std::uint64_t offset,
                              const std::string &path) {
  std::size_t done = 0;
  while (done < out.size()) {
    const ssize_t n =
        ::pread(fd, out.data() + done, out.size() - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      const int err = errno;
      if (err == EINTR) continue;
      return make_error(err, "cannot read {}: {}", path, std::strerror(err));
    }
    if (n == 0) break;
    done += static_cast<std::size_t>(n);
  }
  return done;
}

Status fsync_fd(int fd, const std::string &path) {
  if (::fsync(fd) != 0) {
    const int err = errno;
    return make_error(err, "cannot fsync {}: {}", path, std::strerror(err));
  }
  return ok_status();
}

Result<std::string> read_text(const std::string &path) {
  PDM_ASSIGN_OR_RETURN(Fd fd, open_file(path, O_RDONLY));
  std::string text;
  std::uint64_t offset = 0;
  for (;;) {
    text.resize(offset + 4096);
    PDM_ASSIGN_OR_RETURN(
        const std::size_t n,
        read_full(fd.get(), std::as_writable_bytes(std::span(text.data() + offset, 4096)), offset,
                  path));
    offset += n;
    if (n < 4096) break;
  }
  text.resize(offset);
  return text;
}

Status make_dirs_durably(const std::string &dir) {
  std::error_code ec;
  if (std::filesystem::is_directory(dir, ec)) return ok_status();
  const std::string parent = std::filesystem::path(dir).parent_path().string();
  if (!parent.empty() && parent != dir) PDM_TRY(make_dirs_durably(parent));
  if (::mkdir(dir.c_str(), 0755) != 0) {
    const int err = errno;
    if (err == EEXIST && std::filesystem::is_directory(dir, ec)) return ok_status();
    return make_error(err, "cannot create directory {}: {}", dir, std::strerror(err));
  }
  return pfs::fsync_directory(parent.empty() ? std::string(".") : parent);
}

Status unlink_file(const std::string &path) {
  if (::unlink(path.c_str()) != 0) {
    const int err = errno;
    return make_error(err, "cannot remove {}: {}", path, std::strerror(err));
  }
  return ok_status();
}

Result<std::uint64_t> parse_hex64(std::string_view text, std::string_view what) {
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value, 16);
  if (text.size() != 16 || ec != std::errc() || end != text.data() + text.size()) {
    return make_error(EINVAL, "{} '{}' is not 16 hex digits", what, text);
  }
  return value;
}

std::string hex64(std::uint64_t value) {
  return fmt::format("{:016x}", value);
}

Status claim_archive_dir(const std::string &id, const std::string &dir, std::string_view type,
                         std::string_view marker, std::string_view marker_text, bool create) {
  const std::string marker_path = dir + "/" + std::string(marker);
  struct stat st {};
  if (::stat(marker_path.c_str(), &st) == 0) return {};
  std::error_code ec;
  if (!create) {
    if (!std::filesystem::exists(dir, ec)) {
      return make_error(ENOENT, "archive {}: directory {} does not exist", id, dir);
    }
    return make_error(EINVAL, "archive {}: {} is not a pdm-hsm {} archive (no {} file)", id, dir,
                      type, marker);
  }
  if (auto made = make_dirs_durably(dir); !made.ok()) {
    return make_error(made.error().code, "archive {}: {}", id, made.error().message);
  }
  if (!std::filesystem::is_empty(dir, ec)) {
    return make_error(EINVAL,
                      "archive {}: {} is not empty and not a pdm-hsm archive; use an empty or "
                      "new directory",
                      id, dir);
  }
  const Status marked = pfs::write_new_file_durably(marker_path, marker_text);
  if (!marked.ok() && marked.error().code != EEXIST) {
    return make_error(marked.error().code, "archive {}: {}", id, marked.error().message);
  }
  return {};
}

Xxh64::Xxh64() : state_(XXH64_createState()) {
  if (state_ == nullptr) throw std::bad_alloc();
  XXH64_reset(state_, 0);
}

Xxh64::~Xxh64() {
  XXH64_freeState(state_);
}

void Xxh64::update(std::span<const std::byte> data) {
  XXH64_update(state_, data.data(), data.size());
}

std::uint64_t Xxh64::digest() const {
  return static_cast<std::uint64_t>(XXH64_digest(state_));
}

}  // namespace pdm::hsm::io

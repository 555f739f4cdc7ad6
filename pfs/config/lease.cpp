#include "pfs/config/lease.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cctype>
#include <charconv>
#include <climits>
#include <cstring>
#include <ctime>
#include <utility>

namespace pdm::pfs {
namespace {

std::string lease_path(const std::string &dir) {
  return dir + "/" + kMountLeaseName;
}

std::string encode(const LeaseHolder &holder) {
  return fmt::format("host={}\npid={}\nsince={}\nfs_id={}\n", holder.host, holder.pid, holder.since,
                     holder.fs_id);
}

std::optional<std::int64_t> parse_int(std::string_view text) {
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

// A holder needs at least a pid; anything else (an empty, released file, or
// a torn write) names nobody.
std::optional<LeaseHolder> decode(std::string_view content) {
  LeaseHolder holder;
  bool has_pid = false;
  while (!content.empty()) {
    const std::size_t newline = content.find('\n');
    const std::string_view line = content.substr(0, newline);
    content.remove_prefix(newline == std::string_view::npos ? content.size() : newline + 1);
    const std::size_t equals = line.find('=');
    if (equals == std::string_view::npos) continue;
    const std::string_view key = line.substr(0, equals);
    const std::string_view value = line.substr(equals + 1);
    if (key == "host") {
      holder.host = std::string(value);
    } else if (key == "fs_id") {
      holder.fs_id = std::string(value);
    } else if (key == "pid") {
      const auto pid = parse_int(value);
      if (pid && *pid > 0) {
        holder.pid = *pid;
        has_pid = true;
      }
    } else if (key == "since") {
      holder.since = parse_int(value).value_or(0);
    }
  }
  if (!has_pid) return std::nullopt;
  return holder;
}

Result<std::string> read_all(int fd, const std::string &path) {
  std::string content;
  char buffer[512];
  off_t offset = 0;
  for (;;) {
    const ssize_t got = ::pread(fd, buffer, sizeof buffer, offset);
    if (got < 0) {
      const int err = errno;
      if (err == EINTR) continue;
      return make_error(err, "pdm: cannot read mount lease {}: {}", path, std::strerror(err));
    }
    if (got == 0) return content;
    content.append(buffer, static_cast<std::size_t>(got));
    offset += got;
  }
}

std::string host_name() {
  char name[HOST_NAME_MAX + 1] = {};
  if (::gethostname(name, sizeof name - 1) != 0) return "unknown";
  return name;
}

int flock_retrying(int fd, int operation) {
  int rc = 0;
  do {
    rc = ::flock(fd, operation);
  } while (rc != 0 && errno == EINTR);
  return rc;
}

}  // namespace

std::string LeaseHolder::since_text() const {
  const std::time_t seconds = static_cast<std::time_t>(since);
  std::tm utc{};
  if (::gmtime_r(&seconds, &utc) == nullptr) return fmt::format("{} s after the epoch", since);
  char text[64];
  if (std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S UTC", &utc) == 0) return "?";
  return text;
}

Result<MountLease> MountLease::acquire(const std::string &volume0_dir, std::string_view fs_id) {
  MountLease lease;
  lease.path_ = lease_path(volume0_dir);
  const int fd = ::open(lease.path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    const int err = errno;
    return make_error(err, "pdm: file system {}: cannot open mount lease {}: {}", fs_id,
                      lease.path_, std::strerror(err));
  }
  lease.fd_ = fd;  // from here on, the destructor closes it

  if (flock_retrying(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    const int fd_to_close = std::exchange(lease.fd_, -1);
    if (err != EWOULDBLOCK) {
      ::close(fd_to_close);
      return make_error(err, "pdm: file system {}: cannot lock mount lease {}: {}", fs_id,
                        lease.path_, std::strerror(err));
    }
    auto content = read_all(fd_to_close, lease.path_);
    ::close(fd_to_close);
    const auto other = content.ok() ? decode(*content) : std::nullopt;
    if (!other) {
      // The holder has locked but not yet written its name.
      return make_error(EBUSY,
                        "pdm: file system {} is already mounted by another process (lease {}); "
                        "unmount it first (or wait for that job to end)",
                        fs_id, lease.path_);
    }
    return make_error(EBUSY,
                      "pdm: file system {} is already mounted by pid {} on host {} since {}; "
                      "unmount it first (or wait for that job to end)",
                      fs_id, other->pid, other->host, other->since_text());
  }

  PDM_ASSIGN_OR_RETURN(const std::string previous, read_all(fd, lease.path_));
  lease.recovered_ = decode(previous);

  lease.holder_ = LeaseHolder{host_name(), static_cast<std::int64_t>(::getpid()),
                              static_cast<std::int64_t>(std::time(nullptr)), std::string(fs_id)};
  const std::string content = encode(lease.holder_);
  // Overwrite, then cut: the file never passes through empty while we hold it.
  int err = 0;
  const ssize_t written = ::pwrite(fd, content.data(), content.size(), 0);
  if (written < 0) {
    err = errno;
  } else if (static_cast<std::size_t>(written) != content.size()) {
    err = EIO;
  } else if (::ftruncate(fd, static_cast<off_t>(content.size())) != 0 || ::fdatasync(fd) != 0) {
    err = errno;
  }
  if (err != 0) {
    return make_error(err, "pdm: file system {}: cannot write mount lease {}: {}", fs_id,
                      lease.path_, std::strerror(err));
  }
  return lease;
}

Result<std::optional<LeaseHolder>> MountLease::read_holder(const std::string &volume0_dir) {
  const std::string path = lease_path(volume0_dir);
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    if (err == ENOENT) return std::optional<LeaseHolder>();
    return make_error(err, "pdm: cannot open mount lease {}: {}", path, std::strerror(err));
  }
  auto content = read_all(fd, path);
  ::close(fd);
  if (!content.ok()) return std::move(content).error();
  return decode(*content);
}

MountLease::MountLease(MountLease &&other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      path_(std::move(other.path_)),
      holder_(std::move(other.holder_)),
      recovered_(std::move(other.recovered_)) {}

MountLease &MountLease::operator=(MountLease &&other) noexcept {
  if (this != &other) {
    (void)release();
    fd_ = std::exchange(other.fd_, -1);
    path_ = std::move(other.path_);
    holder_ = std::move(other.holder_);
    recovered_ = std::move(other.recovered_);
  }
  return *this;
}

MountLease::~MountLease() {
  (void)release();
}

Status MountLease::release() {
  if (fd_ < 0) return ok_status();
  const int fd = std::exchange(fd_, -1);
  Status status;
  // Empty first, so that the next holder does not take us for a dead one.
  if (::ftruncate(fd, 0) != 0 || ::fdatasync(fd) != 0) {
    const int err = errno;
    status = make_error(err, "pdm: cannot clear mount lease {}: {}", path_, std::strerror(err));
  }
  if (flock_retrying(fd, LOCK_UN) != 0 && status.ok()) {
    const int err = errno;
    status = make_error(err, "pdm: cannot unlock mount lease {}: {}", path_, std::strerror(err));
  }
  ::close(fd);
  return status;
}

}  // namespace pdm::pfs

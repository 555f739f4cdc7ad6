#include "pfs/data/object_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <vector>

#include "pfs/config/volume.h"

namespace pdm::pfs {

struct ObjectStore::Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

namespace {

Error sys_error(int code, std::string_view what, const std::string &path) {
  return make_error(code, "{} {}: {}", what, path, std::strerror(code));
}

}  // namespace

ObjectStore::ObjectStore(std::vector<std::string> volume_dirs, std::size_t max_open)
    : dirs_(std::move(volume_dirs)), max_open_(std::max<std::size_t>(max_open, 1)) {}

ObjectStore::~ObjectStore() = default;

Status ObjectStore::check_volume(std::uint32_t volume) const {
  if (volume >= dirs_.size()) {
    return make_error(EINVAL, "volume {} does not exist (the file system has {})", volume,
                      dirs_.size());
  }
  return {};
}

Result<std::shared_ptr<ObjectStore::Fd>> ObjectStore::open(std::uint32_t volume, InodeNumber ino,
                                                           bool create) {
  PDM_TRY(check_volume(volume));
  const Key key{volume, ino};
  {
    std::lock_guard lock(mutex_);
    if (auto it = open_.find(key); it != open_.end()) {
      lru_.splice(lru_.begin(), lru_, it->second.lru);
      return it->second.fd;
    }
  }
  const std::string path = object_path(dirs_[volume], ino);
  auto fd = std::make_shared<Fd>();
  fd->fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd->fd < 0 && errno == ENOENT && create) {
    std::error_code ec;
    std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
    if (ec) return make_error(ec.value(), "cannot create {}: {}", path, ec.message());
    fd->fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  }
  if (fd->fd < 0) return sys_error(errno, "cannot open object", path);

  std::lock_guard lock(mutex_);
  if (auto it = open_.find(key); it != open_.end()) return it->second.fd;  // lost a race
  lru_.push_front(key);
  open_.emplace(key, Entry{fd, lru_.begin()});
  while (open_.size() > max_open_) {
    // Evicting drops the cache's reference; a thread still using the
    // descriptor keeps it open through its own shared_ptr.
    open_.erase(lru_.back());
    lru_.pop_back();
  }
  return fd;
}

void ObjectStore::forget(const Key &key) {
  std::lock_guard lock(mutex_);
  if (auto it = open_.find(key); it != open_.end()) {
    lru_.erase(it->second.lru);
    open_.erase(it);
  }
}

Status ObjectStore::write(std::uint32_t volume, InodeNumber ino, std::uint64_t offset,
                          std::span<const std::byte> data) {
  PDM_ASSIGN_OR_RETURN(auto fd, open(volume, ino, true));
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t n =
        ::pwrite(fd->fd, data.data() + done, data.size() - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return sys_error(errno, "write to object", object_path(dirs_[volume], ino));
    }
    done += static_cast<std::size_t>(n);
  }
  return {};
}

namespace {

// pread until `data` is full or the file ends; the bytes read, or the errno.
Result<std::size_t> pread_full(int fd, std::span<std::byte> data, std::uint64_t offset) {
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t n =
        ::pread(fd, data.data() + done, data.size() - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error{errno, ""};
    }
    if (n == 0) break;
    done += static_cast<std::size_t>(n);
  }
  return done;
}

}  // namespace

Result<std::size_t> ObjectStore::read(std::uint32_t volume, InodeNumber ino, std::uint64_t offset,
                                      std::span<std::byte> data) {
  auto fd = open(volume, ino, false);
  if (!fd.ok()) {
    if (fd.error().code == ENOENT) return std::size_t{0};  // never written: a hole
    return std::move(fd).error();
  }
  auto n = pread_full((*fd)->fd, data, offset);
  if (!n.ok())
    return sys_error(n.error().code, "read from object", object_path(dirs_[volume], ino));
  return n;
}

Status ObjectStore::read_pieces(std::uint32_t volume, InodeNumber ino,
                                std::span<ReadPiece> pieces) {
  auto fd = open(volume, ino, false);
  if (!fd.ok()) {
    if (fd.error().code != ENOENT) return std::move(fd).error();
    for (ReadPiece &p : pieces) {  // never written: a hole
      std::memset(p.dest, 0, p.length);
      p.got = 0;
    }
    return {};
  }
  auto end = [&](std::size_t k) { return pieces[k].offset + pieces[k].length; };
  auto failed = [&](const Error &e) -> Status {
    return sys_error(e.code, "read from object", object_path(dirs_[volume], ino));
  };
  // Kept for the thread's next hull: a fresh buffer costs a page fault a page.
  static thread_local std::vector<std::byte> hull;
  for (std::size_t i = 0; i < pieces.size();) {
    std::size_t j = i + 1;
    while (j < pieces.size() && pieces[j].offset >= end(j - 1) &&
           pieces[j].offset - end(j - 1) < kSieveGap && end(j) - pieces[i].offset <= kSieveSpan) {
      ++j;
    }
    if (j == i + 1) {
      ReadPiece &p = pieces[i];
      auto n = pread_full((*fd)->fd, {p.dest, p.length}, p.offset);
      if (!n.ok()) return failed(n.error());
      p.got = *n;
      std::memset(p.dest + p.got, 0, p.length - p.got);
    } else {
      const std::uint64_t start = pieces[i].offset;
      hull.resize(std::max<std::size_t>(hull.size(), end(j - 1) - start));
      auto n = pread_full((*fd)->fd, std::span(hull).first(end(j - 1) - start), start);
      if (!n.ok()) return failed(n.error());
      const std::size_t got = *n;
      for (std::size_t k = i; k < j; ++k) {
        ReadPiece &p = pieces[k];
        const std::uint64_t at = p.offset - start;
        p.got = at >= got ? 0 : std::min<std::uint64_t>(p.length, got - at);
        std::memcpy(p.dest, hull.data() + at, p.got);
        std::memset(p.dest + p.got, 0, p.length - p.got);
      }
    }
    i = j;
  }
  return {};
}

Status ObjectStore::truncate(std::uint32_t volume, InodeNumber ino, std::uint64_t length) {
  auto fd = open(volume, ino, false);
  if (!fd.ok()) return fd.error().code == ENOENT ? Status{} : Status(std::move(fd).error());
  struct stat st {};
  if (::fstat((*fd)->fd, &st) != 0) {
    return sys_error(errno, "stat of object", object_path(dirs_[volume], ino));
  }
  if (static_cast<std::uint64_t>(st.st_size) <= length) return {};
  if (::ftruncate((*fd)->fd, static_cast<off_t>(length)) != 0) {
    return sys_error(errno, "truncate of object", object_path(dirs_[volume], ino));
  }
  return {};
}

Status ObjectStore::remove(std::uint32_t volume, InodeNumber ino) {
  PDM_TRY(check_volume(volume));
  forget({volume, ino});
  const std::string path = object_path(dirs_[volume], ino);
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    return sys_error(errno, "cannot remove object", path);
  }
  return {};
}

Status ObjectStore::sync(std::uint32_t volume, InodeNumber ino) {
  auto fd = open(volume, ino, false);
  if (!fd.ok()) return fd.error().code == ENOENT ? Status{} : Status(std::move(fd).error());
  if (::fsync((*fd)->fd) != 0) {
    return sys_error(errno, "fsync of object", object_path(dirs_[volume], ino));
  }
  return {};
}

Status ObjectStore::punch(std::uint32_t volume, InodeNumber ino, std::uint64_t offset,
                          std::uint64_t length) {
  auto fd = open(volume, ino, false);
  if (!fd.ok()) return fd.error().code == ENOENT ? Status{} : Status(std::move(fd).error());
  if (length == 0) return {};
  if (::fallocate((*fd)->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, static_cast<off_t>(offset),
                  static_cast<off_t>(length)) == 0) {
    return {};
  }
  if (errno != EOPNOTSUPP && errno != ENOSYS) {
    return sys_error(errno, "punching a hole in object", object_path(dirs_[volume], ino));
  }
  // No hole punching here: zeros read the same (the space stays allocated).
  struct stat st {};
  if (::fstat((*fd)->fd, &st) != 0) {
    return sys_error(errno, "stat of object", object_path(dirs_[volume], ino));
  }
  const std::uint64_t end = std::min<std::uint64_t>(offset + length, st.st_size);
  const std::vector<std::byte> zeros(std::min<std::uint64_t>(1u << 20, length));
  for (std::uint64_t at = offset; at < end;) {
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(zeros.size(), end - at));
    PDM_TRY(write(volume, ino, at, std::span<const std::byte>(zeros).first(n)));
    at += n;
  }
  return {};
}

Result<std::vector<ByteRange>> ObjectStore::data_ranges(std::uint32_t volume, InodeNumber ino) {
  std::vector<ByteRange> out;
  auto fd = open(volume, ino, false);
  if (!fd.ok()) {
    if (fd.error().code == ENOENT) return out;
    return std::move(fd).error();
  }
  off_t at = 0;
  for (;;) {
    const off_t data = ::lseek((*fd)->fd, at, SEEK_DATA);
    if (data < 0) {
      if (errno == ENXIO) break;  // no data after `at`
      return sys_error(errno, "SEEK_DATA in object", object_path(dirs_[volume], ino));
    }
    const off_t hole = ::lseek((*fd)->fd, data, SEEK_HOLE);
    if (hole < 0) return sys_error(errno, "SEEK_HOLE in object", object_path(dirs_[volume], ino));
    out.push_back({static_cast<std::uint64_t>(data), static_cast<std::uint64_t>(hole - data)});
    at = hole;
  }
  return out;
}

Result<VolumeUsage> ObjectStore::usage(std::uint32_t volume) {
  PDM_TRY(check_volume(volume));
  VolumeUsage usage;
  usage.volume = volume;
  struct statvfs vfs {};
  if (::statvfs(dirs_[volume].c_str(), &vfs) != 0) {
    return sys_error(errno, "statvfs of volume", dirs_[volume]);
  }
  usage.device_total = static_cast<std::uint64_t>(vfs.f_blocks) * vfs.f_frsize;
  usage.device_free = static_cast<std::uint64_t>(vfs.f_bavail) * vfs.f_frsize;
  std::error_code ec;
  const auto root = object_root(dirs_[volume]);
  for (auto it = std::filesystem::recursive_directory_iterator(root, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    struct stat st {};
    if (it->is_regular_file(ec) && ::stat(it->path().c_str(), &st) == 0) {
      usage.object_bytes += static_cast<std::uint64_t>(st.st_blocks) * 512;
      ++usage.objects;
    }
  }
  if (ec && ec != std::errc::no_such_file_or_directory) {
    return make_error(ec.value(), "cannot scan objects of volume {}: {}", dirs_[volume],
                      ec.message());
  }
  return usage;
}

}  // namespace pdm::pfs

#include "pfs/config/mkfs.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <climits>
#include <cstring>
#include <filesystem>
#include <random>

#include "pfs/config/volume.h"

namespace pdm::pfs {
namespace {

constexpr mode_t kDirMode = 0700;

// Absolute (against the working directory) and lexically normal, without a
// trailing slash: "v0/" -> "/home/me/v0".
Result<std::string> normalise(const std::string &path) {
  if (path.empty()) return make_error(EINVAL, "pdm mkfs: empty path");
  std::error_code error;
  std::filesystem::path absolute = std::filesystem::absolute(path, error);
  if (error) {
    return make_error(error.value(), "pdm mkfs: cannot make '{}' absolute: {}", path,
                      error.message());
  }
  std::string normal = absolute.lexically_normal().string();
  while (normal.size() > 1 && normal.back() == '/') normal.pop_back();
  return normal;
}

std::string parent_of(const std::string &path) {
  const std::string parent = std::filesystem::path(path).parent_path().string();
  return parent.empty() ? std::string("/") : parent;
}

std::string realpath_of(const std::string &path) {
  char resolved[PATH_MAX];
  if (::realpath(path.c_str(), resolved) == nullptr) return path;
  return resolved;
}

// The directory an existing or future path names, through symlinks: the
// realpath of the path, or of its parent plus its name when it does not exist.
std::string identity_of(const std::string &path, bool exists) {
  if (exists) return realpath_of(path);
  std::string parent = realpath_of(parent_of(path));
  if (parent != "/") parent += '/';
  return parent + std::filesystem::path(path).filename().string();
}

bool is_inside(const std::string &inner, const std::string &outer) {
  if (outer == "/") return inner != "/";
  return inner.size() > outer.size() && inner.compare(0, outer.size(), outer) == 0 &&
         inner[outer.size()] == '/';
}

Result<bool> is_empty_directory(const std::string &dir) {
  DIR *stream = ::opendir(dir.c_str());
  if (stream == nullptr) {
    const int err = errno;
    return make_error(err, "pdm: volume {}: cannot list: {}", dir, std::strerror(err));
  }
  bool empty = true;
  while (const dirent *entry = ::readdir(stream)) {
    const std::string_view name = entry->d_name;
    if (name != "." && name != "..") {
      empty = false;
      break;
    }
  }
  ::closedir(stream);
  return empty;
}

struct PlannedVolume {
  std::string given;     // as the caller wrote it
  std::string dir;       // normalised
  std::string identity;  // realpath-based, for duplicate detection
  bool exists = false;
};

// Refuses a volume directory mkfs must not use; says whether it exists.
Result<bool> check_new_volume(const std::string &dir) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) {
    const int err = errno;
    if (err != ENOENT) return make_error(err, "pdm: volume {}: {}", dir, std::strerror(err));
    const std::string parent = parent_of(dir);
    if (::stat(parent.c_str(), &st) != 0) {
      return make_error(ENOENT, "pdm: volume {}: parent directory {} does not exist", dir, parent);
    }
    if (!S_ISDIR(st.st_mode)) {
      return make_error(ENOTDIR, "pdm: volume {}: parent {} is not a directory", dir, parent);
    }
    return false;
  }
  if (!S_ISDIR(st.st_mode)) return make_error(ENOTDIR, "pdm: volume {}: not a directory", dir);
  const std::string header = dir + "/" + kVolumeHeaderName;
  if (::lstat(header.c_str(), &st) == 0) {
    auto existing = read_volume_header(dir);
    if (!existing.ok()) {
      return make_error(EEXIST, "pdm: volume {}: already a pdm volume (unreadable header: {})", dir,
                        existing.error().message);
    }
    return make_error(EEXIST,
                      "pdm: volume {}: already a pdm volume (volume {} of {}); it belongs to "
                      "file system {}",
                      dir, existing->index, existing->count, existing->fs_id);
  }
  PDM_ASSIGN_OR_RETURN(const bool empty, is_empty_directory(dir));
  if (!empty) {
    return make_error(ENOTEMPTY, "pdm: volume {}: directory is not empty; mkfs needs an empty one",
                      dir);
  }
  return true;
}

Status check_config_safe(const std::string &path, std::string_view what) {
  if (path.find_first_of("#\n\r") != std::string::npos) {
    return make_error(EINVAL, "pdm mkfs: {} '{}': a path with '#' or a line break cannot be used",
                      what, path);
  }
  return ok_status();
}

std::string new_fs_id() {
  std::random_device random;
  const std::uint64_t high = random();
  const std::uint64_t low = random();
  return fmt::format("{:016x}", (high << 32) ^ low);
}

// Removes, in reverse order, what a failed mkfs created.
class Undo {
 public:
  Undo() = default;
  Undo(const Undo &) = delete;
  Undo &operator=(const Undo &) = delete;
  ~Undo() {
    for (auto it = created_.rbegin(); it != created_.rend(); ++it) {
      if (it->is_dir) {
        ::rmdir(it->path.c_str());
      } else {
        ::unlink(it->path.c_str());
      }
    }
  }
  void created_file(std::string path) { created_.push_back({std::move(path), false}); }
  void created_dir(std::string path) { created_.push_back({std::move(path), true}); }
  void commit() { created_.clear(); }

 private:
  struct Entry {
    std::string path;
    bool is_dir;
  };
  std::vector<Entry> created_;
};

Status make_dir(const std::string &path, Undo &undo) {
  if (::mkdir(path.c_str(), kDirMode) != 0) {
    const int err = errno;
    return make_error(err, "pdm mkfs: cannot create directory {}: {}", path, std::strerror(err));
  }
  undo.created_dir(path);
  return ok_status();
}

Status create_volume(const PlannedVolume &volume, const VolumeHeader &header, Undo &undo) {
  if (!volume.exists) PDM_TRY(make_dir(volume.dir, undo));
  const std::string objects = object_root(volume.dir);
  PDM_TRY(make_dir(objects, undo));
  // All 256 fan-out directories now, so the data path never creates directories.
  for (unsigned fan = 0; fan < 256; ++fan) {
    PDM_TRY(make_dir(fmt::format("{}/{:02x}", objects, fan), undo));
  }
  PDM_TRY(fsync_directory(objects));
  if (header.index == 0) PDM_TRY(make_dir(volume.dir + "/meta", undo));
  // Also makes the entries of the volume directory durable (it fsyncs it).
  PDM_TRY(write_volume_header(volume.dir, header));
  undo.created_file(volume.dir + "/" + kVolumeHeaderName);
  if (!volume.exists) PDM_TRY(fsync_directory(parent_of(volume.dir)));
  return ok_status();
}

}  // namespace

Result<FsConfig> make_file_system(const MkfsOptions &options) {
  // Validate everything first.
  if (options.volumes.empty()) {
    return make_error(EINVAL, "pdm mkfs: no volumes given; a file system needs at least one");
  }
  PDM_TRY(check_stripe_size(options.stripe_size));

  PDM_ASSIGN_OR_RETURN(const std::string config_path, normalise(options.config_path));
  PDM_TRY(check_config_safe(config_path, "config file"));
  struct stat st {};
  if (::lstat(config_path.c_str(), &st) == 0) {
    return make_error(EEXIST, "pdm mkfs: file system config {} already exists", config_path);
  }
  const std::string config_parent = parent_of(config_path);
  if (::stat(config_parent.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return make_error(ENOENT, "pdm mkfs: config {}: directory {} does not exist", config_path,
                      config_parent);
  }
  const std::string config_identity = identity_of(config_path, false);

  std::vector<PlannedVolume> planned;
  for (const std::string &given : options.volumes) {
    PlannedVolume volume;
    volume.given = given;
    PDM_ASSIGN_OR_RETURN(volume.dir, normalise(given));
    PDM_TRY(check_config_safe(volume.dir, "volume"));
    volume.identity = identity_of(volume.dir, ::stat(volume.dir.c_str(), &st) == 0);
    if (volume.identity == config_identity) {
      return make_error(EINVAL, "pdm mkfs: volume {} is the config file {}", volume.dir,
                        config_path);
    }
    for (const PlannedVolume &other : planned) {
      if (other.identity == volume.identity) {
        return make_error(EINVAL, "pdm mkfs: volumes {} and {} are the same directory ({})",
                          other.given, volume.given, volume.identity);
      }
      if (is_inside(volume.identity, other.identity) ||
          is_inside(other.identity, volume.identity)) {
        return make_error(EINVAL, "pdm mkfs: volumes {} and {} are nested; volumes must be apart",
                          other.given, volume.given);
      }
    }
    planned.push_back(std::move(volume));
  }
  for (PlannedVolume &volume : planned) {
    PDM_ASSIGN_OR_RETURN(volume.exists, check_new_volume(volume.dir));
  }

  FsConfig config;
  config.fs_id = new_fs_id();
  config.stripe_size = options.stripe_size;
  for (const PlannedVolume &volume : planned) config.volumes.push_back(volume.dir);
  PDM_TRY(config.validate());

  // Create; from here on a failure removes what was created.
  Undo undo;
  const auto count = static_cast<std::uint32_t>(planned.size());
  for (std::uint32_t i = 0; i < count; ++i) {
    PDM_TRY(create_volume(planned[i], VolumeHeader{kVolumeFormat, config.fs_id, i, count}, undo));
  }
  PDM_TRY(config.save_new(config_path));
  undo.commit();
  config.path = config_path;
  return config;
}

}  // namespace pdm::pfs

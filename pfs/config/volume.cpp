#include "pfs/config/volume.h"

#include <sys/stat.h>

#include <cctype>
#include <charconv>
#include <cstring>
#include <fstream>
#include <optional>

namespace pdm::pfs {
namespace {

std::string header_path(const std::string &dir) {
  return dir + "/" + kVolumeHeaderName;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) {
    text.remove_prefix(1);
  }
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) {
    text.remove_suffix(1);
  }
  return text;
}

std::optional<std::uint32_t> parse_u32(std::string_view text) {
  std::uint32_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

// ENOENT/ENOTDIR unless path is a directory; what names it in the message.
Status check_directory(const std::string &path, std::string_view what) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    const int err = errno;
    if (err == ENOENT) return make_error(ENOENT, "pdm: {} {}: no such directory", what, path);
    return make_error(err, "pdm: {} {}: {}", what, path, std::strerror(err));
  }
  if (!S_ISDIR(st.st_mode)) return make_error(ENOTDIR, "pdm: {} {}: not a directory", what, path);
  return ok_status();
}

}  // namespace

Status write_volume_header(const std::string &dir, const VolumeHeader &header) {
  return write_new_file_durably(
      header_path(dir), fmt::format("format={}\nfs_id={}\nindex={}\ncount={}\n", header.format,
                                    header.fs_id, header.index, header.count));
}

Result<VolumeHeader> read_volume_header(const std::string &dir) {
  PDM_TRY(check_directory(dir, "volume"));
  const std::string path = header_path(dir);
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    const int err = errno;
    if (err == ENOENT) {
      return make_error(ENOENT,
                        "pdm: volume {}: not a pdm volume (no header); run 'pdm mkfs' first", dir);
    }
    return make_error(err, "pdm: volume {}: header {}: {}", dir, path, std::strerror(err));
  }
  std::ifstream in(path);
  if (!in) {
    const int err = errno != 0 ? errno : EIO;
    return make_error(err, "pdm: volume {}: cannot read header {}: {}", dir, path,
                      std::strerror(err));
  }

  const auto malformed = [&](std::string_view why) {
    return make_error(EINVAL, "pdm: volume {}: malformed header {}: {}", dir, path, why);
  };
  std::optional<std::uint32_t> format;
  std::optional<std::uint32_t> index;
  std::optional<std::uint32_t> count;
  std::optional<std::string> fs_id;
  std::string line;
  while (std::getline(in, line)) {
    const std::string_view text = trim(line);
    if (text.empty() || text.front() == '#') continue;
    const std::size_t equals = text.find('=');
    if (equals == std::string_view::npos)
      return malformed(fmt::format("line '{}' has no '='", text));
    const std::string_view key = trim(text.substr(0, equals));
    const std::string_view value = trim(text.substr(equals + 1));
    std::optional<std::uint32_t> *number = nullptr;
    if (key == "format") {
      number = &format;
    } else if (key == "index") {
      number = &index;
    } else if (key == "count") {
      number = &count;
    } else if (key == "fs_id") {
      fs_id = std::string(value);
    }
    // Other keys are ignored: a later writer may add information without
    // changing the format, which only changes when old readers must refuse.
    if (number != nullptr) {
      *number = parse_u32(value);
      if (!*number) return malformed(fmt::format("{} '{}' is not a number", key, value));
    }
  }
  if (!format) return malformed("no format");
  if (*format != kVolumeFormat) {
    return make_error(EINVAL,
                      "pdm: volume {}: header format {} is not supported (this pdm reads {})", dir,
                      *format, kVolumeFormat);
  }
  if (!fs_id) return malformed("no fs_id");
  if (!index) return malformed("no index");
  if (!count) return malformed("no count");
  if (*count == 0 || *index >= *count) {
    return malformed(fmt::format("index {} is not below count {}", *index, *count));
  }
  return VolumeHeader{*format, std::move(*fs_id), *index, *count};
}

Status check_volumes(const FsConfig &config) {
  const auto count = static_cast<std::uint32_t>(config.volumes.size());
  for (std::uint32_t i = 0; i < count; ++i) {
    const std::string &dir = config.volumes[i];
    PDM_ASSIGN_OR_RETURN(const VolumeHeader header, read_volume_header(dir));
    if (header.fs_id != config.fs_id) {
      return make_error(
          EINVAL, "pdm: volume {}: belongs to file system {}, but config {} is file system {}", dir,
          header.fs_id, config.path, config.fs_id);
    }
    if (header.index != i) {
      return make_error(EINVAL,
                        "pdm: volume {}: its header says volume {}, but config {} lists it as "
                        "volume {}; volume order must not change",
                        dir, header.index, config.path, i);
    }
    if (header.count != count) {
      return make_error(EINVAL,
                        "pdm: volume {}: its header says the file system has {} volumes, but "
                        "config {} lists {}",
                        dir, header.count, config.path, count);
    }
    PDM_TRY(check_directory(object_root(dir), fmt::format("volume {}: objects directory", dir)));
  }
  if (count > 0) {
    PDM_TRY(check_directory(config.metadata_dir(),
                            fmt::format("volume {}: metadata directory", config.volumes[0])));
  }
  return ok_status();
}

std::string object_root(const std::string &volume_dir) {
  return volume_dir + "/objects";
}

std::string object_path(const std::string &volume_dir, std::uint64_t ino) {
  return fmt::format("{}/objects/{:02x}/{:016x}", volume_dir, ino % 256, ino);
}

}  // namespace pdm::pfs

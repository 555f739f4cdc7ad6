#include "apps/hsm/archive/archive_registry.h"

#include <fcntl.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include <cctype>
#include <cstring>
#include <filesystem>
#include <set>

#include "apps/hsm/archive/file_io.h"
#include "apps/hsm/archive/hdf5_archive.h"
#include "apps/hsm/archive/posix_archive.h"
#include "runtime/base/size.h"

namespace pdm::hsm {
namespace {

bool valid_id(std::string_view id) {
  if (id.empty() || id.size() > 32) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
  });
}

bool has_blank_or_hash(std::string_view text) {
  return std::any_of(text.begin(), text.end(), [](char c) {
    return c == '#' || std::isspace(static_cast<unsigned char>(c));
  });
}

std::vector<std::string_view> split_blanks(std::string_view line) {
  std::vector<std::string_view> words;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && std::isspace(static_cast<unsigned char>(line[i]))) ++i;
    const std::size_t start = i;
    while (i < line.size() && !std::isspace(static_cast<unsigned char>(line[i]))) ++i;
    if (i > start) words.push_back(line.substr(start, i - start));
  }
  return words;
}

Status check_option(const ArchiveSpec &spec, const std::string &key, const std::string &value) {
  if (spec.type == ArchiveType::kHdf5) {
    if (key == "deflate") {
      if (value.size() != 1 || value[0] < '0' || value[0] > '9') {
        return make_error(EINVAL, "archive {}: deflate={}: expected a level 0..9", spec.id, value);
      }
      return ok_status();
    }
    if (key == "chunk" || key == "container_bytes" || key == "container_files") {
      auto size = parse_size(value);
      if (!size.ok() || *size == 0) {
        return make_error(EINVAL, "archive {}: {}={}: expected a positive size or count", spec.id,
                          key, value);
      }
      return ok_status();
    }
    return make_error(EINVAL,
                      "archive {}: unknown hdf5 option '{}' (deflate, chunk, container_files, "
                      "container_bytes)",
                      spec.id, key);
  }
  return make_error(EINVAL, "archive {}: unknown posix option '{}' (a posix archive has none)",
                    spec.id, key);
}

}  // namespace

std::string_view name(ArchiveType type) {
  return type == ArchiveType::kHdf5 ? "hdf5" : "posix";
}

std::optional<ArchiveType> parse_archive_type(std::string_view text) {
  if (text == "hdf5") return ArchiveType::kHdf5;
  if (text == "posix") return ArchiveType::kPosix;
  return std::nullopt;
}

std::string ArchiveSpec::encode() const {
  std::string line = fmt::format("{} {} {}", id, name(type), path);
  for (const auto &[key, value] : options) line += fmt::format(" {}={}", key, value);
  return line;
}

Status ArchiveSpec::validate() const {
  if (!valid_id(id)) {
    return make_error(EINVAL,
                      "archive id '{}': use 1 to 32 letters, digits, '_', '-' or '.' (no ':')", id);
  }
  if (path.empty() || path.front() != '/') {
    return make_error(EINVAL, "archive {}: path '{}' is not absolute", id, path);
  }
  if (has_blank_or_hash(path)) {
    return make_error(
        EINVAL, "archive {}: path '{}' has a blank or '#', which the config cannot hold", id, path);
  }
  for (const auto &[key, value] : options) {
    if (key.empty() || value.empty() || has_blank_or_hash(key) || has_blank_or_hash(value) ||
        key.find('=') != std::string::npos) {
      return make_error(EINVAL, "archive {}: bad option '{}={}'", id, key, value);
    }
    PDM_TRY(check_option(*this, key, value));
  }
  return ok_status();
}

Result<ArchiveSpec> ArchiveSpec::parse(std::string_view line) {
  const auto words = split_blanks(line);
  if (words.size() < 3) {
    return make_error(EINVAL, "archive line '{}': expected 'ID TYPE PATH [key=value...]'", line);
  }
  ArchiveSpec spec;
  spec.id = std::string(words[0]);
  const auto type = parse_archive_type(words[1]);
  if (!type) {
    return make_error(EINVAL, "archive line '{}': unknown type '{}' (hdf5 or posix)", line,
                      words[1]);
  }
  spec.type = *type;
  spec.path = std::string(words[2]);
  for (std::size_t i = 3; i < words.size(); ++i) {
    const auto eq = words[i].find('=');
    if (eq == std::string_view::npos || eq == 0) {
      return make_error(EINVAL, "archive line '{}': '{}' is not key=value", line, words[i]);
    }
    const std::string key(words[i].substr(0, eq));
    if (!spec.options.emplace(key, std::string(words[i].substr(eq + 1))).second) {
      return make_error(EINVAL, "archive line '{}': option '{}' given twice", line, key);
    }
  }
  PDM_TRY(spec.validate());
  return spec;
}

Result<ArchiveRegistry> ArchiveRegistry::from_config(const pfs::FsConfig &config) {
  ArchiveRegistry registry;
  std::set<std::string> ids;
  for (const std::string &line : config.hsm_archives) {
    auto spec = ArchiveSpec::parse(line);
    if (!spec.ok()) {
      return make_error(EINVAL, "file system config {}: [hsm] {}", config.path,
                        spec.error().message);
    }
    if (!ids.insert(spec->id).second) {
      return make_error(EINVAL, "file system config {}: [hsm] archive '{}' is listed twice",
                        config.path, spec->id);
    }
    registry.archives_.push_back(std::move(*spec));
  }
  return registry;
}

Result<ArchiveRegistry> ArchiveRegistry::load(const std::string &config_path) {
  PDM_ASSIGN_OR_RETURN(const pfs::FsConfig config, pfs::FsConfig::load(config_path));
  return from_config(config);
}

const ArchiveSpec *ArchiveRegistry::find(std::string_view id) const {
  for (const ArchiveSpec &spec : archives_) {
    if (spec.id == id) return &spec;
  }
  return nullptr;
}

Result<const ArchiveSpec *> ArchiveRegistry::select(std::optional<std::string_view> id) const {
  if (!id) {
    if (archives_.empty()) {
      return make_error(ENOENT,
                        "the file system has no archive; add one with 'pdm-hsm archive add ID "
                        "--type hdf5|posix --path DIR'");
    }
    return &archives_.front();
  }
  if (const ArchiveSpec *spec = find(*id)) return spec;
  std::string known;
  for (const ArchiveSpec &spec : archives_) {
    if (!known.empty()) known += ", ";
    known += spec.id;
  }
  return make_error(ENOENT, "no archive '{}' (the file system has: {})", *id,
                    known.empty() ? std::string("none") : known);
}

Status add_archive(const std::string &config_path, const ArchiveSpec &spec) {
  PDM_TRY(spec.validate());
  // The lock is on the directory, not the config: the config is replaced by
  // rename, and a lock on the old inode would not exclude a newcomer that
  // opens the new one.
  const std::string parent = std::filesystem::path(config_path).parent_path().string();
  const std::string dir = parent.empty() ? std::string(".") : parent;
  PDM_ASSIGN_OR_RETURN(io::Fd lock, io::open_file(dir, O_RDONLY | O_DIRECTORY));
  while (::flock(lock.get(), LOCK_EX) != 0) {
    const int err = errno;
    if (err != EINTR) return make_error(err, "cannot lock {}: {}", dir, std::strerror(err));
  }
  PDM_ASSIGN_OR_RETURN(pfs::FsConfig config, pfs::FsConfig::load(config_path));
  PDM_ASSIGN_OR_RETURN(const ArchiveRegistry registry, ArchiveRegistry::from_config(config));
  if (registry.find(spec.id) != nullptr) {
    return make_error(EEXIST, "archive '{}' already exists in {}", spec.id, config_path);
  }
  config.hsm_archives.push_back(spec.encode());
  return config.replace_durably(config_path);
}

Result<std::unique_ptr<Archive>> open_archive(const ArchiveSpec &spec,
                                              const OpenArchiveOptions &options) {
  PDM_TRY(spec.validate());
  if (spec.type == ArchiveType::kPosix) {
    PDM_ASSIGN_OR_RETURN(auto archive, PosixArchive::open(spec.id, spec.path, options.create));
    return std::unique_ptr<Archive>(std::move(archive));
  }
  Hdf5Options hdf5;
  hdf5.writer = options.writer.empty() ? default_writer_name() : options.writer;
  // validate() checked every option's syntax.
  if (const auto it = spec.options.find("deflate"); it != spec.options.end()) {
    hdf5.deflate = it->second[0] - '0';
  }
  if (const auto it = spec.options.find("chunk"); it != spec.options.end()) {
    hdf5.chunk_bytes = *parse_size(it->second);
  }
  if (const auto it = spec.options.find("container_files"); it != spec.options.end()) {
    hdf5.container_files = *parse_size(it->second);
  }
  if (const auto it = spec.options.find("container_bytes"); it != spec.options.end()) {
    hdf5.container_bytes = *parse_size(it->second);
  }
  PDM_ASSIGN_OR_RETURN(auto archive, Hdf5Archive::open(spec.id, spec.path, hdf5, options.create));
  return std::unique_ptr<Archive>(std::move(archive));
}

std::string default_writer_name() {
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  std::string name;
  for (const char c : std::string_view(host)) {
    name += std::isalnum(static_cast<unsigned char>(c)) || c == '-' ? c : '_';
  }
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return fmt::format("{}-{}-{:x}", name.empty() ? "host" : name, ::getpid(),
                     static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000u +
                         static_cast<std::uint64_t>(ts.tv_nsec));
}

}  // namespace pdm::hsm

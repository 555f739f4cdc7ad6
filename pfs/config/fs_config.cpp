#include "pfs/config/fs_config.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>

#include <boost/program_options/errors.hpp>
#include <boost/program_options/parsers.hpp>
#include <boost/program_options/value_semantic.hpp>

#include "runtime/base/size.h"

namespace pdm::pfs {
namespace {

namespace po = boost::program_options;

constexpr std::string_view kSettingsSection = "settings";
constexpr std::string_view kHsmSection = "hsm";

// Characters that would not survive a round trip through parse_config_file:
// '#' starts a comment, a line break ends the value, and surrounding blanks
// are trimmed.
bool is_config_safe(std::string_view value) {
  if (value.find_first_of("#\n\r") != std::string_view::npos) return false;
  if (!value.empty() && (std::isspace(static_cast<unsigned char>(value.front())) ||
                         std::isspace(static_cast<unsigned char>(value.back())))) {
    return false;
  }
  return true;
}

po::options_description config_options() {
  po::options_description options;
  options.add_options()("fs.id", po::value<std::string>())("fs.stripe_size",
                                                           po::value<std::string>())(
      "fs.volume", po::value<std::vector<std::string>>()->composing())(
      "hsm.archive", po::value<std::vector<std::string>>()->composing())("hsm.max_recalls",
                                                                         po::value<std::string>());
  add_setting_keys(options, kSettingsSection);
  return options;
}

std::string parent_dir_of(const std::string &path) {
  const std::string parent = std::filesystem::path(path).parent_path().string();
  return parent.empty() ? std::string(".") : parent;
}

// Names the config file in an error from a check that did not know it.
Error in_config(const std::string &path, std::string_view key, const Error &error) {
  std::string_view message = error.message;
  if (message.substr(0, 5) == "pdm: ") message.remove_prefix(5);
  if (key.empty()) return make_error(error.code, "pdm: file system config {}: {}", path, message);
  return make_error(error.code, "pdm: file system config {}: key '{}': {}", path, key, message);
}

Status write_all(int fd, std::string_view content, const std::string &path) {
  while (!content.empty()) {
    const ssize_t written = ::write(fd, content.data(), content.size());
    if (written < 0) {
      const int err = errno;
      if (err == EINTR) continue;
      return make_error(err, "pdm: cannot write {}: {}", path, std::strerror(err));
    }
    content.remove_prefix(static_cast<std::size_t>(written));
  }
  return ok_status();
}

}  // namespace

Status check_stripe_size(std::uint64_t stripe_size) {
  if (stripe_size < kMinStripeSize || stripe_size > kMaxStripeSize ||
      stripe_size % kMinStripeSize != 0) {
    return make_error(EINVAL,
                      "pdm: stripe size {} ({}) must be a multiple of 4 KiB between 4 KiB "
                      "and 1 GiB",
                      stripe_size, format_size(stripe_size));
  }
  return ok_status();
}

Status check_fs_id(std::string_view fs_id) {
  const bool hex = fs_id.size() == 16 &&
                   fs_id.find_first_not_of("0123456789abcdefABCDEF") == std::string_view::npos;
  if (!hex) return make_error(EINVAL, "pdm: file system id '{}' is not 16 hex digits", fs_id);
  return ok_status();
}

Status FsConfig::validate() const {
  PDM_TRY(check_fs_id(fs_id));
  PDM_TRY(check_stripe_size(stripe_size));
  if (volumes.empty()) return make_error(EINVAL, "pdm: a file system needs at least one volume");
  std::set<std::string_view> seen;
  for (const std::string &volume : volumes) {
    if (volume.empty() || volume.front() != '/') {
      return make_error(EINVAL, "pdm: volume '{}': not an absolute path", volume);
    }
    if (!is_config_safe(volume)) {
      return make_error(EINVAL,
                        "pdm: volume '{}': a path with '#', a line break or surrounding blanks "
                        "cannot be stored in a config file",
                        volume);
    }
    if (!seen.insert(volume).second) {
      return make_error(EINVAL, "pdm: volume '{}' is listed twice", volume);
    }
  }
  if (!is_config_safe(hsm_max_recalls)) {
    return make_error(EINVAL, "pdm: hsm max_recalls '{}' cannot be stored in a config file",
                      hsm_max_recalls);
  }
  for (const std::string &line : hsm_archives) {
    if (line.empty() || !is_config_safe(line)) {
      return make_error(EINVAL,
                        "pdm: hsm archive '{}': an empty line, '#', a line break or surrounding "
                        "blanks cannot be stored in a config file",
                        line);
    }
  }
  for (const auto &[key, text] : settings) {
    PDM_TRY(check_setting(key, text));
    if (!is_config_safe(text)) {
      return make_error(EINVAL, "pdm: setting {} = '{}' cannot be stored in a config file", key,
                        text);
    }
  }
  return ok_status();
}

Result<FsConfig> FsConfig::load(const std::string &path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    const int err = errno;
    if (err == ENOENT) {
      return make_error(
          ENOENT, "pdm: file system config {}: no such file; create one with 'pdm mkfs'", path);
    }
    return make_error(err, "pdm: file system config {}: {}", path, std::strerror(err));
  }
  if (S_ISDIR(st.st_mode)) {
    return make_error(EISDIR, "pdm: file system config {}: is a directory", path);
  }
  std::ifstream in(path);
  if (!in) {
    const int err = errno != 0 ? errno : EIO;
    return make_error(err, "pdm: file system config {}: cannot open: {}", path, std::strerror(err));
  }

  po::variables_map parsed;
  try {
    po::store(po::parse_config_file(in, config_options(), /*allow_unregistered=*/false), parsed);
  } catch (const po::unknown_option &e) {
    return make_error(EINVAL, "pdm: file system config {}: unknown key '{}'", path,
                      e.get_option_name());
  } catch (const po::error &e) {
    return make_error(EINVAL, "pdm: file system config {}: {}", path, e.what());
  }

  FsConfig config;
  config.path = path;
  const auto text_of = [&](const char *key) -> Result<std::string> {
    const auto it = parsed.find(key);
    if (it == parsed.end() || it->second.empty()) {
      return make_error(EINVAL, "pdm: file system config {}: missing key '{}'", path, key);
    }
    return it->second.as<std::string>();
  };
  PDM_ASSIGN_OR_RETURN(config.fs_id, text_of("fs.id"));
  if (auto status = check_fs_id(config.fs_id); !status.ok()) {
    return in_config(path, "fs.id", status.error());
  }
  PDM_ASSIGN_OR_RETURN(const std::string stripe_text, text_of("fs.stripe_size"));
  auto stripe_size = parse_size(stripe_text);
  if (stripe_size.ok()) {
    if (auto status = check_stripe_size(*stripe_size); !status.ok()) stripe_size = status.error();
  }
  if (!stripe_size.ok()) return in_config(path, "fs.stripe_size", stripe_size.error());
  config.stripe_size = static_cast<std::uint32_t>(*stripe_size);
  if (const auto it = parsed.find("fs.volume"); it != parsed.end() && !it->second.empty()) {
    config.volumes = it->second.as<std::vector<std::string>>();
  } else {
    return make_error(EINVAL, "pdm: file system config {}: missing key 'fs.volume'", path);
  }
  config.settings = setting_values_from(parsed, kSettingsSection);
  if (const auto it = parsed.find("hsm.archive"); it != parsed.end() && !it->second.empty()) {
    config.hsm_archives = it->second.as<std::vector<std::string>>();
  }
  if (const auto it = parsed.find("hsm.max_recalls"); it != parsed.end() && !it->second.empty()) {
    config.hsm_max_recalls = it->second.as<std::string>();
  }

  // What is left to check are volumes and settings; the message names which.
  if (auto status = config.validate(); !status.ok()) return in_config(path, "", status.error());
  return config;
}

Status FsConfig::save_new(const std::string &path) const {
  PDM_TRY(validate());
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    return make_error(EEXIST, "pdm: file system config {} already exists; pdm never overwrites one",
                      path);
  }
  return write_new_file_durably(path, render());
}

std::string FsConfig::render() const {
  std::string content =
      "# pdm file system configuration, written by 'pdm mkfs'.\n"
      "# Volume i is the i-th 'volume' line: never reorder, insert or remove them.\n"
      "[fs]\n";
  content += fmt::format("id = {}\nstripe_size = {}\n", fs_id, stripe_size);
  for (const std::string &volume : volumes) content += fmt::format("volume = {}\n", volume);
  content += fmt::format("\n[{}]\n", kSettingsSection);
  for (const auto &[key, text] : settings) content += fmt::format("{} = {}\n", key, text);
  if (!hsm_archives.empty() || !hsm_max_recalls.empty()) {
    content += fmt::format(
        "\n# pdm-hsm archives ('pdm-hsm archive add'); the first is the default.\n[{}]\n",
        kHsmSection);
    for (const std::string &line : hsm_archives) content += fmt::format("archive = {}\n", line);
    if (!hsm_max_recalls.empty()) content += fmt::format("max_recalls = {}\n", hsm_max_recalls);
  }
  return content;
}

Status FsConfig::replace_durably(const std::string &path) const {
  PDM_TRY(validate());
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    const int err = errno;
    return make_error(err, "pdm: file system config {}: {}", path, std::strerror(err));
  }
  return replace_file_durably(path, render());
}

namespace {

// "<path>.tmp.<pid>" with content, fsynced and closed: the first step of
// both ways of putting a file in place durably. Returns the temp name.
Result<std::string> write_temp_durably(const std::string &path, std::string_view content) {
  std::string temp = fmt::format("{}.tmp.{}", path, ::getpid());
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) {
    const int err = errno;
    return make_error(err, "pdm: cannot create {}: {}", temp, std::strerror(err));
  }
  Status status = write_all(fd, content, temp);
  if (status.ok() && ::fsync(fd) != 0) {
    const int err = errno;
    status = make_error(err, "pdm: cannot fsync {}: {}", temp, std::strerror(err));
  }
  if (::close(fd) != 0 && status.ok()) {
    const int err = errno;
    status = make_error(err, "pdm: cannot close {}: {}", temp, std::strerror(err));
  }
  if (!status.ok()) {
    ::unlink(temp.c_str());
    return status.error();
  }
  return temp;
}

}  // namespace

Status write_new_file_durably(const std::string &path, std::string_view content) {
  PDM_ASSIGN_OR_RETURN(const std::string temp, write_temp_durably(path, content));
  // link() fails with EEXIST instead of replacing path, unlike rename().
  Status status;
  if (::link(temp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    status = err == EEXIST ? make_error(EEXIST, "pdm: {} already exists", path)
                           : make_error(err, "pdm: cannot create {}: {}", path, std::strerror(err));
  }
  ::unlink(temp.c_str());
  PDM_TRY(status);
  return fsync_directory(parent_dir_of(path));
}

Status replace_file_durably(const std::string &path, std::string_view content) {
  PDM_ASSIGN_OR_RETURN(const std::string temp, write_temp_durably(path, content));
  // rename() replaces path atomically: readers see the old or the new file.
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(temp.c_str());
    return make_error(err, "pdm: cannot replace {}: {}", path, std::strerror(err));
  }
  return fsync_directory(parent_dir_of(path));
}

Status fsync_directory(const std::string &dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    return make_error(err, "pdm: cannot open directory {}: {}", dir, std::strerror(err));
  }
  Status status;
  if (::fsync(fd) != 0) {
    const int err = errno;
    status = make_error(err, "pdm: cannot fsync directory {}: {}", dir, std::strerror(err));
  }
  ::close(fd);
  return status;
}

}  // namespace pdm::pfs

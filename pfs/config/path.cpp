#include "pfs/config/path.h"

#include "pfs/meta/inode.h"

namespace pdm::pfs {
namespace {

// A path as shown in a message: NUL bytes visible, very long paths shortened.
std::string printable(std::string_view path) {
  constexpr std::size_t kShown = 80;
  std::string out;
  for (const char c : path.substr(0, kShown)) {
    if (c == '\0') {
      out += "\\0";
    } else {
      out += c;
    }
  }
  if (path.size() > kShown) out += fmt::format("... ({} bytes)", path.size());
  return out;
}

}  // namespace

Result<std::vector<std::string>> split_path(std::string_view path) {
  if (path.empty()) return make_error(ENOENT, "pdm: empty path");
  if (path.find('\0') != std::string_view::npos) {
    return make_error(EINVAL, "pdm: path '{}': contains a NUL byte", printable(path));
  }
  if (path.size() >= kMaxPathLength) {
    return make_error(ENAMETOOLONG, "pdm: path '{}': longer than {} bytes", printable(path),
                      kMaxPathLength - 1);
  }
  if (path.front() != '/') {
    return make_error(EINVAL, "pdm paths are absolute within the file system: '{}'",
                      printable(path));
  }
  std::vector<std::string> components;
  std::size_t start = 0;
  while (start < path.size()) {
    if (path[start] == '/') {
      ++start;
      continue;
    }
    std::size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    const std::string_view name = path.substr(start, end - start);
    if (name == "." || name == "..") {
      return make_error(EINVAL, "pdm: path '{}': pdm does not resolve '{}' components",
                        printable(path), name);
    }
    if (name.size() > kMaxNameLength) {
      return make_error(ENAMETOOLONG, "pdm: path '{}': name '{}' is longer than {} bytes",
                        printable(path), printable(name), kMaxNameLength);
    }
    components.emplace_back(name);
    start = end;
  }
  return components;
}

std::string join_path(std::span<const std::string> components) {
  if (components.empty()) return "/";
  std::string path;
  for (const std::string &name : components) {
    path += '/';
    path += name;
  }
  return path;
}

Result<ParentAndName> parent_and_name(std::string_view path) {
  PDM_ASSIGN_OR_RETURN(std::vector<std::string> components, split_path(path));
  if (components.empty()) {
    return make_error(EBUSY, "pdm: path '{}': the root directory", printable(path));
  }
  ParentAndName result;
  result.name = std::move(components.back());
  components.pop_back();
  result.parent = std::move(components);
  return result;
}

}  // namespace pdm::pfs

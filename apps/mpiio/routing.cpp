#include "apps/mpiio/routing.h"

#include <cstdlib>

namespace pdm::mpiio {
namespace {

std::string absolute(std::string_view rest) {
  std::string path(rest);
  if (path.empty() || path.front() != '/') path.insert(path.begin(), '/');
  return path;
}

}  // namespace

std::optional<std::string> route(std::string_view name, std::string_view mount) {
  constexpr std::string_view kScheme = "pdm:";
  if (name.starts_with(kScheme)) return absolute(name.substr(kScheme.size()));
  while (mount.size() > 1 && mount.back() == '/') mount.remove_suffix(1);
  if (mount.empty() || !name.starts_with(mount)) return std::nullopt;
  const std::string_view rest = name.substr(mount.size());
  // "/pdm" and "/pdm/x" are under /pdm; "/pdmx" is not.
  if (mount != "/" && !rest.empty() && rest.front() != '/') return std::nullopt;
  return absolute(rest);
}

std::optional<std::string> route(const char *name) {
  if (name == nullptr) return std::nullopt;
  static const std::string mount = [] {
    const char *m = std::getenv("PDM_MOUNT");
    return std::string(m != nullptr && *m != '\0' ? m : "/pdm");
  }();
  return route(std::string_view(name), mount);
}

}  // namespace pdm::mpiio

#include "apps/hsm/archive/archive.h"

namespace pdm::hsm {

Result<ArchiveLocation> ArchiveLocation::decode(const std::string &text) {
  const auto colon = text.find(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size()) {
    return make_error(EINVAL, "archive location '{}': expected <archive id>:<locator>", text);
  }
  return ArchiveLocation{text.substr(0, colon), text.substr(colon + 1)};
}

}  // namespace pdm::hsm

#include "apps/hsm/agent/recall_settings.h"

#include <cstdlib>

#include <fmt/format.h>

namespace pdm::hsm {
namespace {

// A whole number in [1, kMaxMaxRecalls], or EINVAL naming `source`.
Result<unsigned> parse_max_recalls(const std::string &text, const std::string &source) {
  unsigned long long value = 0;
  bool digits = !text.empty() && text.size() <= 9;
  for (const char c : text) {
    if (c < '0' || c > '9') digits = false;
  }
  if (digits) value = std::strtoull(text.c_str(), nullptr, 10);
  if (!digits || value < 1 || value > kMaxMaxRecalls) {
    return make_error(EINVAL, "{}: max_recalls '{}' must be a whole number from 1 to {}", source,
                      text, kMaxMaxRecalls);
  }
  return static_cast<unsigned>(value);
}

}  // namespace

Result<unsigned> resolve_max_recalls(const MaxRecallsSources &sources) {
  if (sources.flag) return parse_max_recalls(*sources.flag, "--max-recalls");
  if (sources.env) return parse_max_recalls(*sources.env, kMaxRecallsEnv);
  if (sources.config) {
    return parse_max_recalls(*sources.config,
                             fmt::format("file system config {} [hsm]", sources.config_path));
  }
  return kDefaultMaxRecalls;
}

MaxRecallsSources max_recalls_sources(const pfs::FsConfig &config,
                                      std::optional<std::string> flag) {
  MaxRecallsSources sources;
  sources.flag = std::move(flag);
  if (const char *env = std::getenv(kMaxRecallsEnv); env != nullptr) sources.env = env;
  if (!config.hsm_max_recalls.empty()) sources.config = config.hsm_max_recalls;
  sources.config_path = config.path;
  return sources;
}

}  // namespace pdm::hsm

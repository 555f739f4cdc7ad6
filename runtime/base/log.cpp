#include "runtime/base/log.h"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <string>

namespace pdm {

void configure_logging(std::string_view level, int rank) {
  // Log lines go to stderr so they never mix with a command's output.
  static auto logger = [] {
    auto made = spdlog::stderr_color_mt("pdm");
    spdlog::set_default_logger(made);
    return made;
  }();
  logger->set_pattern(fmt::format("pdm[r{}] %l: %v", rank));
  logger->set_level(spdlog::level::from_str(std::string(level)));
}

}  // namespace pdm

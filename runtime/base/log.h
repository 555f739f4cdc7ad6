// Logging: spdlog, one default logger per process whose lines name the rank
// ("pdm[r3] warn: ..."), at the level of the log.level setting.
#pragma once

#include <string_view>

namespace pdm {

void configure_logging(std::string_view level, int rank);

}  // namespace pdm

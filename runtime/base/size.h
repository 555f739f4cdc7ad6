// Sizes as people write them in config files, environment variables and
// flags: "4096", "64K", "1MiB", "2G". Multiples are binary (K = 1024), as in
// dd, lfs setstripe and most HPC tools, because stripe and request sizes are
// page- and block-aligned quantities.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "runtime/base/result.h"

namespace pdm {

inline constexpr std::uint64_t kKiB = std::uint64_t{1} << 10;
inline constexpr std::uint64_t kMiB = std::uint64_t{1} << 20;
inline constexpr std::uint64_t kGiB = std::uint64_t{1} << 30;
inline constexpr std::uint64_t kTiB = std::uint64_t{1} << 40;

// Parses a non-negative integer with an optional unit: B, K, M, G, T (any
// case), each optionally followed by "iB" ("64K", "64k", "64KiB"). Spaces
// around the number and before the unit are allowed. Fractions, signs,
// decimal units ("KB") and values above 2^64-1 fail with EINVAL; the message
// quotes the text.
Result<std::uint64_t> parse_size(std::string_view text);

// The size in the largest binary unit that keeps it >= 1, with at most one
// decimal: 512 -> "512 B", 1536 -> "1.5 KiB", 1048576 -> "1 MiB".
std::string format_size(std::uint64_t bytes);

}  // namespace pdm

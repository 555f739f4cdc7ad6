#include "runtime/base/size.h"

#include <array>
#include <cctype>
#include <limits>

namespace pdm {
namespace {

std::string_view trim(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) {
    text.remove_prefix(1);
  }
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) {
    text.remove_suffix(1);
  }
  return text;
}

Error invalid_size(std::string_view text, std::string_view why) {
  return make_error(EINVAL, "pdm: invalid size '{}': {}", text, why);
}

}  // namespace

Result<std::uint64_t> parse_size(std::string_view text) {
  std::string_view rest = trim(text);
  if (rest.empty()) return invalid_size(text, "expected a number such as 4096, 64K or 1MiB");
  if (!std::isdigit(static_cast<unsigned char>(rest.front()))) {
    return invalid_size(text, "expected a non-negative integer with an optional unit K, M, G or T");
  }
  std::uint64_t number = 0;
  while (!rest.empty() && std::isdigit(static_cast<unsigned char>(rest.front()))) {
    const auto digit = static_cast<std::uint64_t>(rest.front() - '0');
    if (number > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) {
      return invalid_size(text, "too large (the largest size is 2^64-1 bytes)");
    }
    number = number * 10 + digit;
    rest.remove_prefix(1);
  }
  rest = trim(rest);

  std::uint64_t multiple = 1;
  if (!rest.empty()) {
    const char unit = static_cast<char>(std::toupper(static_cast<unsigned char>(rest.front())));
    rest.remove_prefix(1);
    switch (unit) {
      case 'B':
        multiple = 1;
        break;
      case 'K':
        multiple = kKiB;
        break;
      case 'M':
        multiple = kMiB;
        break;
      case 'G':
        multiple = kGiB;
        break;
      case 'T':
        multiple = kTiB;
        break;
      default:
        return invalid_size(text, "unknown unit (use K, M, G or T; multiples of 1024)");
    }
    // "K", "Ki", "KiB" (any case) are the same unit; a bare "B" takes no suffix.
    if (unit != 'B' && !rest.empty() && (rest.front() == 'i' || rest.front() == 'I')) {
      rest.remove_prefix(1);
      if (!rest.empty() && (rest.front() == 'b' || rest.front() == 'B')) rest.remove_prefix(1);
    }
    if (!rest.empty()) {
      return invalid_size(text,
                          "unexpected text after the unit (use K, M, G or T, or KiB, MiB, ...)");
    }
  }
  if (number > std::numeric_limits<std::uint64_t>::max() / multiple) {
    return invalid_size(text, "too large (the largest size is 2^64-1 bytes)");
  }
  return number * multiple;
}

std::string format_size(std::uint64_t bytes) {
  static constexpr std::array<std::string_view, 7> kUnits = {"B",   "KiB", "MiB", "GiB",
                                                             "TiB", "PiB", "EiB"};
  std::size_t unit = 0;
  while (unit + 1 < kUnits.size() && bytes >= (std::uint64_t{1} << (10 * (unit + 1)))) ++unit;
  if (unit == 0) return fmt::format("{} B", bytes);
  const std::uint64_t scale = std::uint64_t{1} << (10 * unit);
  if (bytes % scale == 0) return fmt::format("{} {}", bytes / scale, kUnits[unit]);
  // Round to one decimal in integer arithmetic (tenths of the unit, half up),
  // so that no double rounding turns 1023.96 KiB into "1024.0 KiB".
  const std::uint64_t whole = bytes / scale;
  const std::uint64_t remainder = bytes % scale;
  std::uint64_t tenths = (remainder * 10 + scale / 2) / scale;  // remainder < 2^60, no overflow
  std::uint64_t units = whole;
  if (tenths == 10) {
    ++units;
    tenths = 0;
  }
  if (units == 1024 && unit + 1 < kUnits.size()) return fmt::format("1 {}", kUnits[unit + 1]);
  if (tenths == 0) return fmt::format("{} {}", units, kUnits[unit]);
  return fmt::format("{}.{} {}", units, tenths, kUnits[unit]);
}

}  // namespace pdm

#include "apps/hsm/hsm_record.h"

#include <charconv>
#include <string_view>

#include <fmt/format.h>

namespace pdm::hsm {
namespace {

template <typename Int>
Result<Int> parse_number(std::string_view key, std::string_view text, int base = 10) {
  Int value{};
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value, base);
  if (ec != std::errc() || end != text.data() + text.size()) {
    return make_error(EINVAL, "HSM record: {}='{}' is not a number", key, text);
  }
  return value;
}

}  // namespace

std::string HsmRecord::encode() const {
  std::string text = fmt::format("state={}", name(state));
  if (location) text += fmt::format(";archive={}", location->encode());
  if (stale) text += ";stale=1";
  text += fmt::format(";sum={:016x};size={};mtime={};gen={}", checksum, size, mtime_ns, generation);
  return text;
}

Result<HsmRecord> HsmRecord::decode(const std::string &text) {
  HsmRecord record;
  bool have_state = false;
  std::string_view rest = text;
  while (!rest.empty()) {
    const auto end = rest.find(';');
    const std::string_view pair = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view{} : rest.substr(end + 1);
    const auto equals = pair.find('=');
    if (equals == std::string_view::npos) {
      return make_error(EINVAL, "HSM record '{}': '{}' is not key=value", text, pair);
    }
    const std::string_view key = pair.substr(0, equals);
    const std::string_view value = pair.substr(equals + 1);
    if (key == "state") {
      auto state = parse_file_state(value);
      if (!state) return make_error(EINVAL, "HSM record '{}': unknown state '{}'", text, value);
      record.state = *state;
      have_state = true;
    } else if (key == "archive") {
      auto location = ArchiveLocation::decode(std::string(value));
      if (!location.ok()) return location.error();
      record.location = std::move(*location);
    } else if (key == "stale") {
      record.stale = value == "1";
    } else if (key == "sum") {
      auto sum = parse_number<std::uint64_t>(key, value, 16);
      if (!sum.ok()) return sum.error();
      record.checksum = *sum;
    } else if (key == "size") {
      auto size = parse_number<std::uint64_t>(key, value);
      if (!size.ok()) return size.error();
      record.size = *size;
    } else if (key == "mtime") {
      auto mtime = parse_number<std::int64_t>(key, value);
      if (!mtime.ok()) return mtime.error();
      record.mtime_ns = *mtime;
    } else if (key == "gen") {
      auto generation = parse_number<std::uint64_t>(key, value);
      if (!generation.ok()) return generation.error();
      record.generation = *generation;
    }
  }
  if (!have_state) return make_error(EINVAL, "HSM record '{}': no state", text);
  if (record.state != FileState::kResident && !record.location) {
    return make_error(EINVAL, "HSM record '{}': {} without an archive location", text,
                      name(record.state));
  }
  return record;
}

}  // namespace pdm::hsm

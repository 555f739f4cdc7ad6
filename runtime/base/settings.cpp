#include "runtime/base/settings.h"

#include <array>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <limits>

#include <boost/program_options/value_semantic.hpp>

namespace pdm {
namespace setting {
namespace {

std::string_view without_pdm_prefix(std::string_view message) {
  constexpr std::string_view kPrefix = "pdm: ";
  if (message.substr(0, kPrefix.size()) == kPrefix) message.remove_prefix(kPrefix.size());
  return message;
}

std::string format_duration(std::chrono::milliseconds duration) {
  const auto ms = duration.count();
  if (ms != 0 && ms % 3'600'000 == 0) return fmt::format("{}h", ms / 3'600'000);
  if (ms != 0 && ms % 60'000 == 0) return fmt::format("{}m", ms / 60'000);
  if (ms != 0 && ms % 1000 == 0) return fmt::format("{}s", ms / 1000);
  return fmt::format("{}ms", ms);
}

}  // namespace

Result<OneOf::Value> OneOf::parse(std::string_view text) const {
  std::string_view rest = choices;
  while (!rest.empty()) {
    const std::size_t bar = rest.find('|');
    if (rest.substr(0, bar) == text) return std::string(text);
    if (bar == std::string_view::npos) break;
    rest.remove_prefix(bar + 1);
  }
  return make_error(EINVAL, "'{}' is not one of {}", text, choices);
}

std::string OneOf::describe() const {
  return std::string(choices);
}

Result<SizeIn::Value> SizeIn::parse(std::string_view text) const {
  auto size = parse_size(text);
  if (!size.ok()) return Error{EINVAL, std::string(without_pdm_prefix(size.error().message))};
  if (*size < min || *size > max) {
    return make_error(EINVAL, "'{}' ({}) is outside {}..{}", text, format_size(*size),
                      format_size(min), format_size(max));
  }
  return *size;
}

std::string SizeIn::describe() const {
  return fmt::format("a size in {}..{}", format_size(min), format_size(max));
}

Result<DurationIn::Value> DurationIn::parse(std::string_view text) const {
  std::string_view rest = text;
  std::int64_t number = 0;
  bool any_digit = false;
  constexpr std::int64_t kLimit = std::numeric_limits<std::int64_t>::max() / 3'600'000;
  while (!rest.empty() && std::isdigit(static_cast<unsigned char>(rest.front()))) {
    number = number * 10 + (rest.front() - '0');
    if (number > kLimit) return make_error(EINVAL, "'{}' is too long a duration", text);
    any_digit = true;
    rest.remove_prefix(1);
  }
  std::int64_t unit_ms = 0;
  if (rest == "ms") {
    unit_ms = 1;
  } else if (rest == "s") {
    unit_ms = 1000;
  } else if (rest == "m" || rest == "min") {
    unit_ms = 60'000;
  } else if (rest == "h") {
    unit_ms = 3'600'000;
  }
  if (!any_digit || unit_ms == 0) {
    return make_error(EINVAL, "'{}' is not a duration (write an integer and a unit: 500ms, 2s, 1m)",
                      text);
  }
  const std::chrono::milliseconds value{number * unit_ms};
  if (value < min || value > max) {
    return make_error(EINVAL, "'{}' is outside {}..{}", text, format_duration(min),
                      format_duration(max));
  }
  return value;
}

std::string DurationIn::describe() const {
  return fmt::format("a duration in {}..{}", format_duration(min), format_duration(max));
}

}  // namespace setting

namespace {

namespace po = boost::program_options;

// Parses text with the row's validator and stores the value in its member.
using Assign = Status (*)(Settings &settings, std::string_view text);

struct Row {
  SettingInfo info;
  Assign assign;
};

const std::array kRows = {
#define PDM_SETTING_ROW_(member, key, env, flag, def, validator, description) \
  Row{SettingInfo{key, env, flag, def, description, (validator).describe()},  \
      [](Settings &settings, std::string_view text) -> Status {               \
        PDM_ASSIGN_OR_RETURN(settings.member, (validator).parse(text));       \
        return ok_status();                                                   \
      }},
    PDM_SETTINGS(PDM_SETTING_ROW_)
#undef PDM_SETTING_ROW_
};

const std::array<SettingInfo, kRows.size()> kInfos = [] {
  std::array<SettingInfo, kRows.size()> infos;
  for (std::size_t i = 0; i < kRows.size(); ++i) infos[i] = kRows[i].info;
  return infos;
}();

const Row *find_row(std::string_view key) {
  for (const Row &row : kRows) {
    if (row.info.key == key) return &row;
  }
  return nullptr;
}

Status apply(const Row &row, Settings &settings, std::string_view text, std::string_view source) {
  auto status = row.assign(settings, text);
  if (!status.ok()) {
    return make_error(EINVAL, "pdm: setting {} from {}: {}", row.info.key, source,
                      status.error().message);
  }
  return ok_status();
}

}  // namespace

std::span<const SettingInfo> setting_table() {
  return kInfos;
}

void add_setting_flags(po::options_description &options) {
  for (const Row &row : kRows) {
    const SettingInfo &info = row.info;
    options.add_options()(
        std::string(info.flag).c_str(), po::value<std::string>()->value_name(std::string("VALUE")),
        fmt::format("{} ({}; environment {}, config key {}; default {})", info.description,
                    info.allowed, info.environment, info.key, info.default_text)
            .c_str());
  }
}

void add_setting_keys(po::options_description &options, std::string_view section) {
  for (const Row &row : kRows) {
    options.add_options()(fmt::format("{}.{}", section, row.info.key).c_str(),
                          po::value<std::string>(), std::string(row.info.description).c_str());
  }
}

SettingValues setting_values_from(const po::variables_map &parsed, std::string_view section) {
  SettingValues values;
  for (const Row &row : kRows) {
    const auto it = parsed.find(fmt::format("{}.{}", section, row.info.key));
    if (it != parsed.end() && !it->second.empty()) {
      values.emplace(std::string(row.info.key), it->second.as<std::string>());
    }
  }
  return values;
}

Status check_setting(std::string_view key, std::string_view text) {
  const Row *row = find_row(key);
  if (row == nullptr) return make_error(EINVAL, "pdm: unknown setting '{}'", key);
  Settings scratch;
  auto status = row->assign(scratch, text);
  if (!status.ok()) {
    return make_error(EINVAL, "pdm: setting {}: {}", key, status.error().message);
  }
  return ok_status();
}

Result<Settings> resolve(const SettingSources &sources) {
  Settings settings;
  for (const Row &row : kRows) {
    const SettingInfo &info = row.info;
    if (sources.command_line != nullptr) {
      const auto it = sources.command_line->find(std::string(info.flag));
      if (it != sources.command_line->end() && !it->second.empty()) {
        PDM_TRY(apply(row, settings, it->second.as<std::string>(),
                      fmt::format("flag --{}", info.flag)));
        continue;
      }
    }
    if (sources.environment) {
      const char *value = std::getenv(std::string(info.environment).c_str());
      if (value != nullptr && *value != '\0') {
        PDM_TRY(
            apply(row, settings, value, fmt::format("environment variable {}", info.environment)));
        continue;
      }
    }
    if (sources.config_file != nullptr) {
      const auto it = sources.config_file->find(info.key);
      if (it != sources.config_file->end()) {
        PDM_TRY(apply(row, settings, it->second,
                      fmt::format("config file {}", sources.config_file_name)));
        continue;
      }
    }
    PDM_TRY(apply(row, settings, info.default_text, "the default"));
  }
  return settings;
}

Settings default_settings() {
  SettingSources sources;
  sources.environment = false;
  auto settings = resolve(sources);
  if (!settings.ok()) {
    // The defaults are literals in the table: a bad one is a programming error.
    fmt::print(stderr, "{}\n", settings.error().message);
    std::abort();
  }
  return std::move(settings).value();
}

}  // namespace pdm

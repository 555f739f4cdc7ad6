// Settings: every runtime setting of pdm, described once (as UnifyFS does).
//
// PDM_SETTINGS is the table. Each row is
//   X(member, key, environment, flag, default, validator, description)
//   member       field of struct Settings that holds the typed value
//   key          config-file key, in the [settings] section of the fs config
//   environment  environment variable
//   flag         command-line flag, without "--" (every command's --help lists it)
//   default      the default as text; it goes through the validator like any source
//   validator    parses and checks text; its Value type is the member's type
//   description  one line for --help
//
// A value is resolved from the first source that has it:
//   flag > environment > config file > default.
// An empty environment variable counts as unset, so `PDM_LOG_LEVEL= cmd`
// falls back to the file or the default.
//
// Adding a setting is adding one row: the Settings member, the flag, the
// environment variable, the config key and the --help line all come from it.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>

#include <boost/program_options/options_description.hpp>
#include <boost/program_options/variables_map.hpp>

#include "runtime/base/result.h"
#include "runtime/base/size.h"

namespace pdm {

// Validators. parse() returns the typed value, or EINVAL with a message that
// quotes the text (the caller adds which setting and which source).
namespace setting {

// One word of a fixed '|'-separated list, e.g. "trace|debug|info".
struct OneOf {
  using Value = std::string;
  std::string_view choices;
  Result<Value> parse(std::string_view text) const;
  std::string describe() const;
};

// A size (see parse_size) within [min, max].
struct SizeIn {
  using Value = std::uint64_t;
  std::uint64_t min = 0;
  std::uint64_t max = 0;
  Result<Value> parse(std::string_view text) const;
  std::string describe() const;
};

// A duration with a unit, "250ms", "2s", "1m", "1h", within [min, max].
struct DurationIn {
  using Value = std::chrono::milliseconds;
  std::chrono::milliseconds min{0};
  std::chrono::milliseconds max{0};
  Result<Value> parse(std::string_view text) const;
  std::string describe() const;
};

}  // namespace setting

// clang-format off
#define PDM_SETTINGS(X)                                                                           \
  X(log_level, "log.level", "PDM_LOG_LEVEL", "log-level", "warn",                                 \
    (setting::OneOf{"trace|debug|info|warn|error|off"}),                                          \
    "log verbosity")                                                                              \
  X(meta_map_size, "meta.map_size", "PDM_META_MAP_SIZE", "meta-map-size", "1G",                   \
    (setting::SizeIn{kMiB, 64 * kTiB}),                                                           \
    "LMDB map size: the most the metadata store may grow to")                                     \
  X(io_max_request, "io.max_request", "PDM_IO_MAX_REQUEST", "io-max-request", "8M",               \
    (setting::SizeIn{64 * kKiB, 32 * kMiB}),                                                      \
    "largest single data request to one volume owner")                                           \
  X(io_direct, "io.direct", "PDM_IO_DIRECT", "io-direct", "auto",                                 \
    (setting::OneOf{"auto|on|off"}),                                                              \
    "read/write shared volumes directly (auto: when this rank sees the volume; off for NFS)")      \
  X(fault_nospace_writes, "fault.nospace_writes", "PDM_FAULT_NOSPACE_WRITES",                     \
    "fault-nospace-writes", "0", (setting::SizeIn{0, 1u << 20}),                                  \
    "fault injection: the first N writes of each rank fail with ENOSPC (NOSPACE event tests)")   \
  X(heartbeat_interval, "cluster.heartbeat_interval", "PDM_CLUSTER_HEARTBEAT_INTERVAL",                   \
    "cluster-heartbeat-interval", "100ms",                                                                \
    (setting::DurationIn{std::chrono::milliseconds(10), std::chrono::milliseconds(60000)}),       \
    "how often each rank tells every other rank that it is alive")                                \
  X(heartbeat_timeout, "cluster.heartbeat_timeout", "PDM_CLUSTER_HEARTBEAT_TIMEOUT",                      \
    "cluster-heartbeat-timeout", "800ms",                                                                 \
    (setting::DurationIn{std::chrono::milliseconds(50), std::chrono::milliseconds(600000)}),      \
    "a rank silent this long is suspected dead and removed by a view change")                    \
  X(view_build_timeout, "cluster.view_build_timeout", "PDM_CLUSTER_VIEW_BUILD_TIMEOUT",          \
    "cluster-view-build-timeout", "30s",                                                          \
    (setting::DurationIn{std::chrono::milliseconds(100), std::chrono::milliseconds(3600000)}),    \
    "how long a view change may take to build its communicators before the rank stops "          \
    "(a member died after the COMMIT; docs/FAILURES.md)")                                        \
  X(orphan_timeout, "session.orphan_timeout", "PDM_SESSION_ORPHAN_TIMEOUT", "session-orphan-timeout", "60s",      \
    (setting::DurationIn{std::chrono::milliseconds(100), std::chrono::milliseconds(86400000)}),   \
    "a synchronous event whose session stays orphaned this long fails its operation with EIO")   \
  X(finalize_timeout, "cluster.finalize_timeout", "PDM_CLUSTER_FINALIZE_TIMEOUT",                 \
    "cluster-finalize-timeout", "10s",                                                            \
    (setting::DurationIn{std::chrono::milliseconds(100), std::chrono::milliseconds(3600000)}),    \
    "after ranks died, how long pdm_finalize lets MPI_Finalize take before it exits the process")
// clang-format on

// The resolved, typed value of every setting.
struct Settings {
#define PDM_SETTING_MEMBER_(member, key, env, flag, def, validator, description) \
  decltype(validator)::Value member{};
  PDM_SETTINGS(PDM_SETTING_MEMBER_)
#undef PDM_SETTING_MEMBER_
};

// One row of the table, for --help, documentation and status tools.
struct SettingInfo {
  std::string_view key;
  std::string_view environment;
  std::string_view flag;
  std::string_view default_text;
  std::string_view description;
  std::string allowed;  // what the validator accepts, e.g. "a size in 64 KiB..32 MiB"
};
std::span<const SettingInfo> setting_table();

// Adds every setting as a command-line option (--log-level etc., taking a
// string; no Boost default, so that an absent flag falls through to the
// environment). The help text names the environment variable, key and default.
void add_setting_flags(boost::program_options::options_description &options);

// Adds every setting key as a config-file option "<section>.<key>", so that
// boost::program_options::parse_config_file accepts `log.level = info` in
// [section] and rejects unknown keys.
void add_setting_keys(boost::program_options::options_description &options,
                      std::string_view section);

// Setting values, as text, keyed by setting key ("log.level").
using SettingValues = std::map<std::string, std::string, std::less<>>;

// The values of the "<section>.<key>" options that a parsed config file holds.
SettingValues setting_values_from(const boost::program_options::variables_map &parsed,
                                  std::string_view section);

// Checks one value: EINVAL for an unknown key or a value the validator
// rejects, with a message naming the setting.
Status check_setting(std::string_view key, std::string_view text);

struct SettingSources {
  // Command line parsed with an options_description that add_setting_flags filled.
  const boost::program_options::variables_map *command_line = nullptr;
  bool environment = true;  // read the PDM_* variables
  // [settings] of the file system config (FsConfig::settings); its file name for messages.
  const SettingValues *config_file = nullptr;
  std::string config_file_name;
};

// The typed value of every setting from the sources, by precedence. EINVAL
// for a rejected value, naming the setting and the source it came from.
Result<Settings> resolve(const SettingSources &sources);

// Every setting at its default.
Settings default_settings();

}  // namespace pdm

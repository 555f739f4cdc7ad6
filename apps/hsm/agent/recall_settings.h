// The bound on concurrent recalls of a rank's recall agent (max_recalls) as
// a runtime setting, so that every agent obeys it, including those started
// in-process without pdm-hsm's command line (pdm get/cat, the MPI-IO shim).
// Sources, the first that is set wins:
//
//   1. the --max-recalls flag of pdm-hsm's commands (flag)
//   2. the environment variable PDM_HSM_MAX_RECALLS
//   3. max_recalls in the [hsm] section of the fs config (beside the archives)
//   4. kDefaultMaxRecalls
//
// A value is a whole number in [1, kMaxMaxRecalls]; anything else is EINVAL
// naming the source, never a silent fallback to the next one.
#pragma once

#include <optional>
#include <string>

#include "pfs/config/fs_config.h"
#include "runtime/base/result.h"

namespace pdm::hsm {

inline constexpr unsigned kDefaultMaxRecalls = 4;
// Each recall slot is a worker thread that may hold an archive read and a
// buffer: more than this per rank is a mistake, not a tuning.
inline constexpr unsigned kMaxMaxRecalls = 256;
inline constexpr const char *kMaxRecallsEnv = "PDM_HSM_MAX_RECALLS";

struct MaxRecallsSources {
  std::optional<std::string> flag;    // --max-recalls
  std::optional<std::string> env;     // PDM_HSM_MAX_RECALLS
  std::optional<std::string> config;  // [hsm] max_recalls
  std::string config_path;            // names the config in errors
};

// The bound from the sources (see above).
Result<unsigned> resolve_max_recalls(const MaxRecallsSources &sources);

// The sources of this process: PDM_HSM_MAX_RECALLS from the environment and
// [hsm] max_recalls of `config` (the mounted file system's), plus the flag.
MaxRecallsSources max_recalls_sources(const pfs::FsConfig &config,
                                      std::optional<std::string> flag = std::nullopt);

}  // namespace pdm::hsm

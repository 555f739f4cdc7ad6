// The archives of a mounted pdm file system, from the [hsm] section of its
// config (archive_registry.h), as an ArchiveSet: what pdm-hsm's commands,
// and any program that starts a RecallAgent, give the agent.
#pragma once

#include <memory>
#include <string>

#include "apps/hsm/agent/archive_set.h"
#include "apps/hsm/agent/recall_agent.h"
#include "runtime/base/result.h"

namespace pdm::hsm {

// Reads the registry of the config at fs_config (each rank reads it: a
// small file); archives open on first use. default_id() is the registry's
// default archive ("" when the file system has none).
Result<std::shared_ptr<ArchiveSet>> archives_of(const std::string &fs_config);

// For any in-process pdm program (pdm get, the MPI-IO shim): this rank's
// recall agent over the archives of the mounted file system (pdm_start
// first), or nullptr when the file system has no archive (nothing can be
// migrated, no agent is needed). Collective in effect: every rank of the
// job should start one, so that each rank's reads are recalled there.
Result<std::unique_ptr<RecallAgent>> start_recall_agent(const std::string &fs_config,
                                                        RecallAgentOptions options = {});

}  // namespace pdm::hsm

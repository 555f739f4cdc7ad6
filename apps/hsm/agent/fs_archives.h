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

// Where a recall reads archive copies: the fetch strategy of the agent.
enum class FetchPath {
  // Every archive in this process (pdm-hsm, pdm get/cat: pdm's own programs,
  // whose HDF5 calls all go through hdf5_mutex()).
  kInProcess,
  // HDF5 archives through the helper process pdm-hsm-fetch
  // (fetch_helper.h), POSIX archives in this process: for a host whose
  // application may use HDF5 itself (the MPI-IO shim). The archives are
  // then only fetched from (store, list... are ENOTSUP).
  kHdf5InHelper,
};

// Reads the registry of the config at fs_config (each rank reads it: a
// small file); archives open on first use. default_id() is the registry's
// default archive ("" when the file system has none). With kHdf5InHelper
// and an HDF5 archive registered, ENOENT when there is no pdm-hsm-fetch
// (fetch_helper_path()): found out now rather than at the first recall.
Result<std::shared_ptr<ArchiveSet>> archives_of(const std::string &fs_config,
                                                FetchPath fetch = FetchPath::kInProcess);

// For any in-process pdm program (pdm get, the MPI-IO shim): this rank's
// recall agent over the archives of the mounted file system (pdm_start
// first), or nullptr when the file system has no archive (nothing can be
// migrated, no agent is needed). Collective in effect: every rank of the
// job should start one, so that each rank's reads are recalled there.
Result<std::unique_ptr<RecallAgent>> start_recall_agent(const std::string &fs_config,
                                                        RecallAgentOptions options = {},
                                                        FetchPath fetch = FetchPath::kInProcess);

}  // namespace pdm::hsm

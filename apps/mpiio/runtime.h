// The pdm runtime the shim uses. MPI_Init/MPI_Init_thread start it when PDM_FS
// names a file system config (collectively, on a dup of MPI_COMM_WORLD);
// MPI_Finalize stops it. When the file system has an HSM archive, every rank
// also hosts a pdm-hsm recall agent from start to stop (PDM_HSM_RECALL=0:
// none), so that migrated files recall transparently (docs/MPIIO.md,
// Recall). A program that started pdm itself (pdm-bench) is used as it is,
// with no agent. Without either, the shim is inert: every call passes
// through.
#pragma once

#include <mpi.h>

#include <vector>

#include "pfs/client/file_system.h"
#include "runtime/base/result.h"

namespace pdm::mpiio {

// The config PDM_FS names, or null.
const char *configured_fs();
// Collective over MPI_COMM_WORLD; MPI runs with MPI_THREAD_MULTIPLE. A
// recall agent that cannot start is reported on stderr, not as an error.
Status start_runtime(const char *fs_config);
// Collective: stops what start_runtime started (nothing otherwise): the
// recall agents after a barrier, then the mount.
Status stop_runtime();
// The mounted file system, or null when pdm is not running in this process.
pfs::FileSystem *mounted_fs();
// The pdm ranks (member ids) of the processes of `comm`, in comm rank
// order: whom a collective open opens the file for. Local.
Result<std::vector<int>> pdm_ranks_of(MPI_Comm comm);
// True when PDM_FS was set but the file system could not be mounted: pdm
// paths then fail instead of going to the real MPI-IO.
bool start_failed();

}  // namespace pdm::mpiio

// The pdm runtime the shim uses. MPI_Init/MPI_Init_thread start it when PDM_FS
// names a file system config (collectively, on a dup of MPI_COMM_WORLD);
// MPI_Finalize stops it. A program that started pdm itself (pdm-bench) is
// used as it is. Without either, the shim is inert: every call passes through.
#pragma once

#include "pfs/client/file_system.h"
#include "runtime/base/result.h"

namespace pdm::mpiio {

// The config PDM_FS names, or null.
const char *configured_fs();
// Collective over MPI_COMM_WORLD; MPI runs with MPI_THREAD_MULTIPLE.
Status start_runtime(const char *fs_config);
// Collective: stops what start_runtime started (nothing otherwise).
Status stop_runtime();
// The mounted file system, or null when pdm is not running in this process.
pfs::FileSystem *mounted_fs();
// True when PDM_FS was set but the file system could not be mounted: pdm
// paths then fail instead of going to the real MPI-IO.
bool start_failed();

}  // namespace pdm::mpiio

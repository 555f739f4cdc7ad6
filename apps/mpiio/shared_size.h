// The end of a collective write (docs/MPIIO.md, Consistency): every rank of
// the file's communicator learns the largest size any of them knows the
// file has. Each rank knows its own writes' ends (a lazy size write learns
// its end at once), so after it every rank's reads and MPI_File_get_size
// see every rank's data, without waiting for the metadata server to apply
// the writes' size updates still in flight; those are published at sync,
// close, set_size and the other points the lazy size names. Before, each
// rank waited for its own updates and then for a barrier: on 2 cores about
// a sixth of a 1 MiB shared-file collective write.
#pragma once

#include "pfs/client/file_system.h"
#include "runtime/base/result.h"
#include "runtime/mpi/comm.h"

namespace pdm::mpiio {

// Collective over comm; also orders the call after every rank's writes in it.
Status share_known_sizes(pfs::FileSystem &fs, int fd, const mpi::Comm &comm);

}  // namespace pdm::mpiio

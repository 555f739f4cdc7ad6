// The real MPI_File handles behind pdm files (file_table.h says why there is
// one): MPI-IO files on /dev/null, kept for reuse when a pdm file closes.
// Opening one costs an OMPIO open (about half a millisecond here, as much as
// the native open of a real file), which an application opening a file per
// process per step would otherwise pay on top of pdm's own open.
#pragma once

#include <mpi.h>

namespace pdm::mpiio {

// A placeholder for a new pdm file: a kept one, with its error handler reset
// to MPI_FILE_NULL's as a newly opened file's would be, or a new one. Returns
// the MPI error code of the open.
int take_placeholder(MPI_File *handle);

// The handle of a closed pdm file: kept (up to a bound) or closed; *handle
// becomes MPI_FILE_NULL either way.
void give_back_placeholder(MPI_File *handle);

// Closes the kept ones; MPI_Finalize calls it before the real MPI_Finalize.
void close_placeholders();

}  // namespace pdm::mpiio

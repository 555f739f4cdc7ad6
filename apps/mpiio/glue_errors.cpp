// Glue: raising an error on a file's error handler.
#include <mpi.h>

#include <cstdio>

#include "apps/mpiio/glue.h"

namespace pdm::mpiio {

int raise_error(MPI_File handle, int code) {
  if (handle != MPI_FILE_NULL) {
    PMPI_File_call_errhandler(handle, code);
    return code;
  }
  // Open MPI rejects MPI_File_call_errhandler(MPI_FILE_NULL, ...) (it calls
  // the communicator's handler instead), so the two predefined handlers are
  // applied here; a user-defined handler on MPI_FILE_NULL is not called.
  MPI_Errhandler handler = MPI_ERRHANDLER_NULL;
  PMPI_File_get_errhandler(MPI_FILE_NULL, &handler);
  const bool fatal = handler == MPI_ERRORS_ARE_FATAL;
  if (handler != MPI_ERRHANDLER_NULL) PMPI_Errhandler_free(&handler);
  if (fatal) {
    char text[MPI_MAX_ERROR_STRING];
    int length = 0;
    MPI_Error_string(code, text, &length);
    std::fprintf(stderr, "pdm-mpiio: %s (MPI_ERRORS_ARE_FATAL on MPI_FILE_NULL)\n", text);
    MPI_Abort(MPI_COMM_WORLD, code);
  }
  return code;
}

}  // namespace pdm::mpiio

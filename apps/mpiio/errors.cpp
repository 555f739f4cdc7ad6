#include "apps/mpiio/errors.h"

#include <mpi.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace pdm::mpiio {

int mpi_error_class(int errno_value) {
  switch (errno_value) {
    case 0:
      return MPI_SUCCESS;
    case ENOENT:
    case ENOTDIR:
      return MPI_ERR_NO_SUCH_FILE;
    case EEXIST:
      return MPI_ERR_FILE_EXISTS;
    case EACCES:
    case EPERM:
      return MPI_ERR_ACCESS;
    case EROFS:
      return MPI_ERR_READ_ONLY;
    case ENOSPC:
      return MPI_ERR_NO_SPACE;
    case EDQUOT:
      return MPI_ERR_QUOTA;
    case EBUSY:
    case ETXTBSY:
      return MPI_ERR_FILE_IN_USE;
    case EISDIR:
    case ENAMETOOLONG:
      return MPI_ERR_BAD_FILE;
    case ENOTSUP:
      return MPI_ERR_UNSUPPORTED_OPERATION;
    case EINVAL:
      return MPI_ERR_ARG;
    case ENOMEM:
      return MPI_ERR_NO_MEM;
    default:
      return MPI_ERR_IO;
  }
}

int to_mpi_error(const Error &error) {
  static const bool verbose = [] {
    const char *v = std::getenv("PDM_MPIIO_VERBOSE");
    return v != nullptr && std::strcmp(v, "0") != 0;
  }();
  if (verbose) {
    std::fprintf(stderr, "pdm-mpiio: %s (%s)\n", error.message.c_str(), std::strerror(error.code));
  }
  return mpi_error_class(error.code);
}

}  // namespace pdm::mpiio

// The one place where a pdm Error becomes an MPI error class (MPI-3.1
// §13.7.6 lists the I/O classes). With PDM_MPIIO_VERBOSE=1 the message of
// the error is printed on stderr too (an MPI error class cannot carry it).
#pragma once

#include "runtime/base/result.h"

namespace pdm::mpiio {

int mpi_error_class(int errno_value);
// The class of the error, after printing it if PDM_MPIIO_VERBOSE is set.
int to_mpi_error(const Error &error);

}  // namespace pdm::mpiio

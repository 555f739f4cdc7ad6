// Helpers shared by the wrappers (glue_*.cpp): run a body that returns a
// Status with no exception escaping, turn its error into an MPI error class
// and raise it on the handle's error handler, fill an MPI_Status.
#pragma once

#include <mpi.h>

#include <cstdint>
#include <exception>
#include <memory>
#include <new>

#include "apps/mpiio/errors.h"
#include "apps/mpiio/file_table.h"
#include "apps/mpiio/real_mpi.h"
#include "runtime/base/result.h"

namespace pdm::mpiio {

// Runs body (returning a Status), converting exceptions; returns an MPI code.
template <typename Body>
int run_body(Body body) noexcept {
  try {
    Status status = body();
    return status.ok() ? MPI_SUCCESS : to_mpi_error(status.error());
  } catch (const std::bad_alloc &) {
    return MPI_ERR_NO_MEM;
  } catch (const std::exception &e) {
    return to_mpi_error(Error{EIO, e.what()});
  } catch (...) {
    return MPI_ERR_INTERN;
  }
}

// MPI-3.1 §13.7: an error of a file call goes to the file's error handler
// (MPI_FILE_NULL's for open and delete); its code is returned either way.
int raise_error(MPI_File handle, int code);

template <typename Body>
int on_handle(MPI_File handle, Body body) noexcept {
  const int code = run_body(body);
  return code == MPI_SUCCESS ? code : raise_error(handle, code);
}

// Sets the count of `status` to `bytes` (MPI_Get_count divides by the type's size).
inline void set_status(MPI_Status *status, std::int64_t bytes) {
  if (status == MPI_STATUS_IGNORE) return;
  MPI_Status_set_elements_x(status, MPI_BYTE, bytes);
  MPI_Status_set_cancelled(status, 0);
  status->MPI_SOURCE = MPI_ANY_SOURCE;
  status->MPI_TAG = MPI_ANY_TAG;
  status->MPI_ERROR = MPI_SUCCESS;
}

inline std::shared_ptr<PdmFile> pdm_file(MPI_File handle) {
  return file_table().find(handle);
}

}  // namespace pdm::mpiio

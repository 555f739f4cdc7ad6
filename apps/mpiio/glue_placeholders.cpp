// Glue: the pool of placeholder handles (placeholders.h). Glue because it
// opens and closes through the real MPI-IO (PDM_REAL).
#include <mpi.h>

#include <cstddef>
#include <mutex>
#include <vector>

#include "apps/mpiio/placeholders.h"
#include "apps/mpiio/real_mpi.h"
#include "runtime/base/failpoint.h"

namespace pdm::mpiio {
namespace {

// Enough for the files an application keeps open at once; more are closed.
constexpr std::size_t kKeptMax = 64;

std::mutex kept_mutex;
std::vector<MPI_File> &kept() {
  static auto *handles = new std::vector<MPI_File>();  // outlives static destructors
  return *handles;
}

// Tried twice: once a rank of the job died, OMPIO's shared-memory file
// pointer (sharedfp/sm) can no longer create its file in the job's session
// directory, and an open that had selected it fails with MPI_ERR_OTHER; the
// next open does not select it (docs/FAILURES.md §1, fact 11).
int open_new(MPI_File *handle) {
  int rc = MPI_SUCCESS;
  for (int attempt = 0; attempt < 2; ++attempt) {
    rc =
        PDM_REAL(MPI_File_open)(MPI_COMM_SELF, "/dev/null", MPI_MODE_RDONLY, MPI_INFO_NULL, handle);
    if (rc == MPI_SUCCESS) break;
  }
  return rc;
}

// MPI-3.1 §13.7: a new file gets the error handler MPI_FILE_NULL has at open.
int reset_errhandler(MPI_File handle) {
  MPI_Errhandler handler = MPI_ERRHANDLER_NULL;
  int rc = PMPI_File_get_errhandler(MPI_FILE_NULL, &handler);
  if (rc != MPI_SUCCESS) return rc;
  rc = PMPI_File_set_errhandler(handle, handler);
  PMPI_Errhandler_free(&handler);
  return rc;
}

}  // namespace

int take_placeholder(MPI_File *handle) {
  // A test makes this rank fail to make its handle (the others then fail
  // the collective open with it).
  if (failpoint::hit("mpiio.placeholder_refused")) return MPI_ERR_NO_MEM;
  MPI_File reused = MPI_FILE_NULL;
  {
    std::lock_guard lock(kept_mutex);
    if (!kept().empty()) {
      reused = kept().back();
      kept().pop_back();
    }
  }
  if (reused == MPI_FILE_NULL) return open_new(handle);
  if (reset_errhandler(reused) != MPI_SUCCESS) {
    PDM_REAL(MPI_File_close)(&reused);
    return open_new(handle);
  }
  *handle = reused;
  return MPI_SUCCESS;
}

void give_back_placeholder(MPI_File *handle) {
  if (*handle == MPI_FILE_NULL) return;
  {
    std::lock_guard lock(kept_mutex);
    if (kept().size() < kKeptMax) {
      kept().push_back(*handle);
      *handle = MPI_FILE_NULL;
      return;
    }
  }
  PDM_REAL(MPI_File_close)(handle);  // sets *handle to MPI_FILE_NULL
}

void close_placeholders() {
  std::vector<MPI_File> handles;
  {
    std::lock_guard lock(kept_mutex);
    handles.swap(kept());
  }
  for (MPI_File &handle : handles) PDM_REAL(MPI_File_close)(&handle);
}

}  // namespace pdm::mpiio

// A lazy size that cannot be published (issue #5; docs/MPIIO.md,
// Consistency): the MPI-IO shim's writes return before the metadata server
// applied their size, so a failed update can only be reported later, as a
// write-back error is. Rank 0, the metadata server, refuses one update at a
// failpoint (meta_service.refuse_extend, reached through libpdm in this
// process), and rank 1's independent write is the one refused:
//   - MPI_File_sync reports it on every rank (a collective that agrees),
//     and the close after it succeeds (reported once);
//   - without a sync, MPI_File_close reports it on rank 1, and only there;
//   - MPI_File_set_atomicity(1), which turns the lazy size off, reports it
//     on every rank, and atomic mode is on everywhere all the same.
// The size the refused write would have published stays unpublished: a
// reopen sees the size the server has (0), and the next write publishes.
#include <mpi.h>

#include <cstring>

#include "runtime/base/failpoint.h"
#include "tests/mpiio/check.h"
#include "tests/mpiio/world.h"

namespace {

using pdm::mpiio_test::rank;

// Rank 1 writes 4 KiB at offset 0 of a new file while rank 0 refuses the
// write's size update; returns the file, open.
MPI_File write_refused(const char *path) {
  MPI_File file = MPI_FILE_NULL;
  CHECK_MPI(
      MPI_File_open(MPI_COMM_WORLD, path, MPI_MODE_CREATE | MPI_MODE_WRONLY, MPI_INFO_NULL, &file));
  if (rank() == 0) pdm::failpoint::arm("meta_service.refuse_extend", [] {});
  MPI_Barrier(MPI_COMM_WORLD);
  if (rank() == 1) {
    char block[4096];
    std::memset(block, 'r', sizeof block);
    CHECK_MPI(MPI_File_write_at(file, 0, block, sizeof block, MPI_BYTE, MPI_STATUS_IGNORE));
  }
  return file;
}

}  // namespace

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  MPI_File_set_errhandler(MPI_FILE_NULL, MPI_ERRORS_RETURN);

  MPI_File synced = write_refused("pdm:/refused-then-synced");
  CHECK_CLASS(MPI_File_sync(synced), MPI_ERR_IO);
  CHECK_MPI(MPI_File_close(&synced));
  if (rank() == 0) pdm::failpoint::disarm();

  MPI_File closed = write_refused("pdm:/refused-then-closed");
  if (rank() == 1) {
    CHECK_CLASS(MPI_File_close(&closed), MPI_ERR_IO);
  } else {
    CHECK_MPI(MPI_File_close(&closed));
  }
  if (rank() == 0) pdm::failpoint::disarm();

  MPI_File atomic = write_refused("pdm:/refused-then-atomic");
  CHECK_CLASS(MPI_File_set_atomicity(atomic, 1), MPI_ERR_IO);
  int flag = 0;
  CHECK_MPI(MPI_File_get_atomicity(atomic, &flag));
  CHECK(flag == 1);
  CHECK_MPI(MPI_File_close(&atomic));
  if (rank() == 0) pdm::failpoint::disarm();

  // The next write publishes as usual.
  MPI_File again = MPI_FILE_NULL;
  CHECK_MPI(MPI_File_open(MPI_COMM_WORLD, "pdm:/refused-then-closed", MPI_MODE_WRONLY,
                          MPI_INFO_NULL, &again));
  MPI_Offset size = -1;
  CHECK_MPI(MPI_File_get_size(again, &size));
  CHECK(size == 0);
  MPI_Barrier(MPI_COMM_WORLD);
  if (rank() == 1) {
    char block[100];
    std::memset(block, 'a', sizeof block);
    CHECK_MPI(MPI_File_write_at(again, 8192, block, sizeof block, MPI_BYTE, MPI_STATUS_IGNORE));
  }
  CHECK_MPI(MPI_File_sync(again));
  CHECK_MPI(MPI_File_get_size(again, &size));
  CHECK(size == 8192 + 100);
  CHECK_MPI(MPI_File_close(&again));
  MPI_Finalize();
  return 0;
}

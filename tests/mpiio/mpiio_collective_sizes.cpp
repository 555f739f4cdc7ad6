// The end of a collective write (docs/MPIIO.md, Consistency;
// apps/mpiio/shared_size.h): when write_at_all returns, every rank sees
// every rank's data of the call, size included, without waiting for the
// metadata server to apply the writes' size updates. Rank 0, the metadata
// server, holds rank 1's size update at a failpoint (meta_service.extend,
// reached through libpdm in this process) until rank 0 itself has checked,
// after the collective write returned, that MPI_File_get_size and a read
// see rank 1's bytes. A collective write that waited for the update would
// return only once the hold gave up (5 s), after the check. Rank 0 waits
// for the update to reach its server before it disarms: nothing else waits
// for it now.
#include <mpi.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <vector>

#include "runtime/base/failpoint.h"
#include "tests/flag_wait.h"
#include "tests/mpiio/check.h"
#include "tests/mpiio/world.h"

namespace {

using pdm::mpiio_test::rank;

constexpr int kWriter = 1;
constexpr MPI_Offset kAt = 4096;
constexpr int kBytes = 8192;

}  // namespace

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  MPI_File_set_errhandler(MPI_FILE_NULL, MPI_ERRORS_RETURN);
  MPI_File file = MPI_FILE_NULL;
  CHECK_MPI(MPI_File_open(MPI_COMM_WORLD, "pdm:/collective-sizes", MPI_MODE_CREATE | MPI_MODE_RDWR,
                          MPI_INFO_NULL, &file));
  std::atomic<bool> checked{false};
  std::atomic<bool> released_by_check{false};
  std::atomic<bool> served{false};  // rank 1's update reached the server
  if (rank() == 0) {
    // Only rank 1 writes, so the one extend that comes is its own, served
    // by this rank's progress thread; this rank's own calls run locally.
    pdm::failpoint::arm("meta_service.extend", [&] {
      released_by_check = pdm::test::wait_for_flag(checked, std::chrono::seconds(5));
      served = true;
    });
  }
  MPI_Barrier(MPI_COMM_WORLD);
  std::vector<char> data(kBytes, 'w');
  for (int i = 0; i < kBytes; ++i)
    data[static_cast<std::size_t>(i)] = static_cast<char>('a' + i % 23);
  const int count = rank() == kWriter ? kBytes : 0;
  CHECK_MPI(MPI_File_write_at_all(file, kAt, data.data(), count, MPI_BYTE, MPI_STATUS_IGNORE));
  if (rank() == 0) {
    MPI_Offset size = -1;
    CHECK_MPI(MPI_File_get_size(file, &size));
    CHECK(size == kAt + kBytes);
    std::vector<char> got(kBytes, 0);
    MPI_Status status;
    CHECK_MPI(MPI_File_read_at(file, kAt, got.data(), kBytes, MPI_BYTE, &status));
    int read = -1;
    MPI_Get_count(&status, MPI_BYTE, &read);
    CHECK(read == kBytes);
    CHECK(got == data);
    checked = true;
  }
  if (rank() == 0) {
    // Nothing waits for the update any more: it may reach the server only
    // now (then the check was done before it anyway).
    CHECK(pdm::test::wait_for_flag(served, std::chrono::seconds(10)));
    pdm::failpoint::disarm();
    CHECK(released_by_check);
  }
  MPI_Barrier(MPI_COMM_WORLD);
  CHECK_MPI(MPI_File_close(&file));
  MPI_Finalize();
  return 0;
}

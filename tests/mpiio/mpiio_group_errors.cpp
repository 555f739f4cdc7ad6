// The failure paths of the shim's group open and group close (issue #5;
// docs/MPIIO.md, Open and close), reached through failpoints in libpdm-mpiio
// and libpdm (this process's), so the program is C++:
//   - a rank other than 0 cannot make its MPI handle (take_placeholder
//     fails): the open fails on every rank with its error, and every open
//     rank 0's one request counted for the others is closed again;
//   - a rank cannot begin its close (its descriptor is gone): every other
//     rank closes its own open, MPI_MODE_DELETE_ON_CLOSE still deletes the
//     file, and only that rank's MPI_File_close fails.
// "Closed again" is seen in the volumes: a file unlinked while some open of
// it is still counted keeps its objects, and the last close destroys them.
#include <mpi.h>

#include <cstdint>
#include <cstdio>
#include <vector>

#include "runtime/base/failpoint.h"
#include "runtime/node/process_node.h"
#include "tests/mpiio/check.h"
#include "tests/mpiio/world.h"

namespace {

using pdm::mpiio_test::rank;

constexpr int kVictim = 2;
constexpr int kBlock = 64 * 1024;

// The bytes the volumes' objects hold (rank 0 asks every volume's owner).
std::uint64_t object_bytes() {
  auto usage = pdm::node::process_node()->fs().volume_usage();
  CHECK(usage.ok());
  std::uint64_t sum = 0;
  for (const auto &volume : *usage) sum += volume.object_bytes;
  return sum;
}

// Collective: every rank writes its block of `file`.
void write_blocks(MPI_File file) {
  std::vector<char> block(kBlock, static_cast<char>('a' + rank()));
  CHECK_MPI(MPI_File_write_at_all(file, static_cast<MPI_Offset>(rank()) * kBlock, block.data(),
                                  kBlock, MPI_BYTE, MPI_STATUS_IGNORE));
}

// Collective: opens `path` on every rank with MPI_MODE_DELETE_ON_CLOSE,
// writes and closes it; rank 0 checks that the close destroyed it, which it
// does only if no other open of the file is still counted.
void write_and_delete(const char *path, std::uint64_t before) {
  MPI_File file = MPI_FILE_NULL;
  CHECK_MPI(MPI_File_open(MPI_COMM_WORLD, path,
                          MPI_MODE_CREATE | MPI_MODE_RDWR | MPI_MODE_DELETE_ON_CLOSE, MPI_INFO_NULL,
                          &file));
  write_blocks(file);
  CHECK_MPI(MPI_File_close(&file));
  MPI_Barrier(MPI_COMM_WORLD);
  if (rank() == 0) CHECK(object_bytes() <= before);
}

}  // namespace

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  MPI_File_set_errhandler(MPI_FILE_NULL, MPI_ERRORS_RETURN);

  // A rank not ready at the open.
  std::uint64_t before = rank() == 0 ? object_bytes() : 0;
  if (rank() == kVictim) pdm::failpoint::arm("mpiio.placeholder_refused", [] {});
  MPI_File refused = MPI_FILE_NULL;
  CHECK_CLASS(MPI_File_open(MPI_COMM_WORLD, "pdm:/not-ready", MPI_MODE_CREATE | MPI_MODE_RDWR,
                            MPI_INFO_NULL, &refused),
              MPI_ERR_IO);
  CHECK(refused == MPI_FILE_NULL);
  if (rank() == kVictim) pdm::failpoint::disarm();
  // Opened again and deleted at its close: destroyed only if the failed
  // open left no open counted.
  write_and_delete("pdm:/not-ready", before);

  // A rank that cannot begin its close.
  MPI_File file = MPI_FILE_NULL;
  CHECK_MPI(MPI_File_open(MPI_COMM_WORLD, "pdm:/close-fallback",
                          MPI_MODE_CREATE | MPI_MODE_RDWR | MPI_MODE_DELETE_ON_CLOSE, MPI_INFO_NULL,
                          &file));
  write_blocks(file);
  if (rank() == 0) CHECK(object_bytes() > before);
  if (rank() == kVictim) pdm::failpoint::arm("mpiio.close_descriptor_gone", [] {});
  MPI_Barrier(MPI_COMM_WORLD);
  if (rank() == kVictim) {
    CHECK_CLASS(MPI_File_close(&file), MPI_ERR_IO);  // EBADF: no descriptor to close
    pdm::failpoint::disarm();
  } else {
    CHECK_MPI(MPI_File_close(&file));
  }
  CHECK(file == MPI_FILE_NULL);
  MPI_Barrier(MPI_COMM_WORLD);
  if (rank() == 0) CHECK(object_bytes() <= before);  // every open ended, the file deleted
  MPI_File gone = MPI_FILE_NULL;
  CHECK_CLASS(
      MPI_File_open(MPI_COMM_WORLD, "pdm:/close-fallback", MPI_MODE_RDONLY, MPI_INFO_NULL, &gone),
      MPI_ERR_NO_SUCH_FILE);
  // And the next group open and close work as ever.
  write_and_delete("pdm:/after", before);

  MPI_Barrier(MPI_COMM_WORLD);
  if (rank() == 0) std::printf("mpiio_group_errors: ok\n");
  MPI_Finalize();
  return 0;
}

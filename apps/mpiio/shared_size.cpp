#include "apps/mpiio/shared_size.h"

#include <mpi.h>

#include "runtime/mpi/collective.h"

namespace pdm::mpiio {

Status share_known_sizes(pfs::FileSystem &fs, int fd, const mpi::Comm &comm) {
  // A rank that cannot tell (a closed descriptor) still takes part.
  auto known = fs.known_size(fd);
  std::uint64_t mine = known.ok() ? known->size : 0, largest = 0;
  MPI_Request request = MPI_REQUEST_NULL;
  PDM_TRY(
      mpi::check(MPI_Iallreduce(&mine, &largest, 1, MPI_UINT64_T, MPI_MAX, comm.get(), &request),
                 "MPI_Iallreduce"));
  PDM_TRY(mpi::wait_request(request, "MPI_Iallreduce"));
  if (!known.ok()) return known.error();
  return fs.learn_size(fd, {largest, known->epoch});
}

}  // namespace pdm::mpiio

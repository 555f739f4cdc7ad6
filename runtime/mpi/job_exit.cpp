#include "runtime/mpi/job_exit.h"

#include <algorithm>
#include <cstdlib>
#include <string_view>

#include "runtime/mpi/collective.h"

namespace pdm::mpi {

bool is_printing_rank() {
  int initialized = 0;
  MPI_Initialized(&initialized);
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (initialized && !finalized) {
    int rank = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    return rank == 0;
  }
  for (const char *name : {"OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK", "SLURM_PROCID"}) {
    if (const char *value = std::getenv(name); value != nullptr && *value != '\0') {
      return std::string_view(value) == "0";
    }
  }
  return true;
}

int agree_exit_code(const Comm &world, int code, int failed) {
  int highest = code;
  MPI_Request request = MPI_REQUEST_NULL;
  if (MPI_Iallreduce(&code, &highest, 1, MPI_INT, MPI_MAX, world.get(), &request) != MPI_SUCCESS ||
      !wait_request(request, "MPI_Iallreduce").ok()) {
    return std::max(code, failed);
  }
  return highest;
}

}  // namespace pdm::mpi

// Glue: MPI_Init, MPI_Init_thread and MPI_Finalize start and stop the pdm
// runtime when PDM_FS is set (runtime.h); otherwise they only pass through.
#include <mpi.h>

#include <cstdio>

#include "apps/mpiio/placeholders.h"
#include "apps/mpiio/real_mpi.h"
#include "apps/mpiio/runtime.h"
#include "runtime/node/finalize_guard.h"

namespace {

// pdm needs MPI_THREAD_MULTIPLE (its progress thread); the application is
// told the level it asked for when MPI gives at least that.
int init_with_pdm(int *argc, char ***argv, int required, int *provided) {
  int got = MPI_THREAD_SINGLE;
  const int rc = PDM_REAL(MPI_Init_thread)(argc, argv, MPI_THREAD_MULTIPLE, &got);
  if (provided != nullptr) *provided = got >= required ? required : got;
  if (rc != MPI_SUCCESS) return rc;
  const char *fs = pdm::mpiio::configured_fs();
  pdm::Status started = pdm::mpiio::start_runtime(fs);
  if (!started.ok()) {
    int rank = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    if (rank == 0) {
      std::fprintf(stderr, "pdm-mpiio: cannot mount PDM_FS=%s: %s; pdm paths will fail\n", fs,
                   started.error().message.c_str());
    }
    return MPI_ERR_OTHER;
  }
  return MPI_SUCCESS;
}

}  // namespace

extern "C" int MPI_Init(int *argc, char ***argv) {
  if (pdm::mpiio::configured_fs() == nullptr) return PDM_REAL(MPI_Init)(argc, argv);
  return init_with_pdm(argc, argv, MPI_THREAD_SINGLE, nullptr);
}
PDM_PMPI_ALIAS(MPI_Init)

extern "C" int MPI_Init_thread(int *argc, char ***argv, int required, int *provided) {
  if (pdm::mpiio::configured_fs() == nullptr) {
    return PDM_REAL(MPI_Init_thread)(argc, argv, required, provided);
  }
  return init_with_pdm(argc, argv, required, provided);
}
PDM_PMPI_ALIAS(MPI_Init_thread)

// Bounded like pdm_finalize once the job lost ranks (docs/FAILURES.md §1):
// Open MPI's closing fence can then hang. The program reached MPI_Finalize,
// so its work is done; if the bound expires the process exits 0.
extern "C" int MPI_Finalize(void) {
  pdm::mpiio::close_placeholders();
  pdm::Status stopped = pdm::mpiio::stop_runtime();
  if (!stopped.ok()) {
    std::fprintf(stderr, "pdm-mpiio: unmounting pdm: %s\n", stopped.error().message.c_str());
  }
  return pdm::node::finalize_mpi(0, PDM_REAL(MPI_Finalize));
}
PDM_PMPI_ALIAS(MPI_Finalize)

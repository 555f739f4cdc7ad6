// What every pdm tool (pdm, pdm-bench, ...) needs to behave as one program
// when it runs as N ranks: one rank prints, and all exit with one code.
#pragma once

#include "runtime/mpi/comm.h"

namespace pdm::mpi {

// Whether this process prints: rank 0 of MPI_COMM_WORLD once MPI is up;
// before MPI_Init or after MPI_Finalize (usage errors, --help) the rank the
// launcher put in the environment (Open MPI, PMIx, PMI, Slurm), or true for
// a process started without a launcher.
bool is_printing_rank();

// The exit code every rank returns: the highest of all ranks' codes
// (`failed` if the reduction itself fails). Waits with backoff.
int agree_exit_code(const Comm &world, int code, int failed);

}  // namespace pdm::mpi

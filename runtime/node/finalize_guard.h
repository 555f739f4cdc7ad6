// The finalize guard: MPI_Finalize that cannot hang a job that lost ranks.
//
// Open MPI 4.1.4's MPI_Finalize ends with a PMIx fence over every rank of
// the job. After a rank was SIGKILLed that fence sometimes never completes
// (about one run in ten in the pure-MPI probe
// tests/failure/probes/finalize_fence.c, whatever pdm does; docs/FAILURES.md
// §1). pdm cannot fix Open MPI; what it can do is bound the wait: once a
// view change removed ranks from this job, finalize_mpi() gives MPI_Finalize
// cluster.finalize_timeout and then ends the process with the exit status
// the program had already decided on, after saying why on stderr. Without a
// failure it is exactly MPI_Finalize.
#pragma once

#include <mpi.h>

#include <chrono>

namespace pdm::node {

// Records that this job lost ranks (called on every view change that
// removed members) and how long MPI_Finalize may take from then on.
void note_ranks_lost(std::chrono::milliseconds finalize_timeout);

// Whether a view change of this process removed ranks.
bool ranks_were_lost();

// MPI_Finalize, bounded as above. Returns MPI_Finalize's code; if the bound
// expires it does not return: the process exits with exit_status.
// `finalize` is the function to bound: the MPI-IO shim, which defines
// MPI_Finalize itself, passes the real one.
int finalize_mpi(int exit_status, int (*finalize)() = &MPI_Finalize);

}  // namespace pdm::node

// Collective helpers for application threads inside collective API calls.
#pragma once

#include <mpi.h>

#include "runtime/base/result.h"
#include "runtime/mpi/comm.h"

namespace pdm::mpi {

// Waits for a request without busy-spinning (see Backoff): a rank that
// reaches pdm_stop early may wait a long time for the others while its
// progress thread keeps serving them.
Status wait_request(MPI_Request &request, std::string_view what);

// A barrier that waits with backoff.
Status barrier(const Comm &comm);

// Every rank learns whether any rank failed; all return the error of the
// lowest failing rank (its code and message), or success on all.
Status agree(const Comm &comm, Status local);

}  // namespace pdm::mpi

// Collective helpers for application threads inside collective API calls.
#pragma once

#include <mpi.h>

#include <chrono>

#include "runtime/base/result.h"
#include "runtime/mpi/comm.h"

namespace pdm::mpi {

// Waits for a request without busy-spinning (see Backoff): a rank that
// reaches pdm_stop early may wait a long time for the others while its
// progress thread keeps serving them.
Status wait_request(MPI_Request &request, std::string_view what);
// For a request that moves bulk data (a nonblocking collective exchanging
// megabytes): Open MPI advances it only inside MPI_Test, one fragment at a
// time, so a sleep between tests adds its length to every fragment. This
// polls with sched_yield only (other threads still get the CPU) for up to
// `yielding`, then waits as wait_request does.
Status wait_bulk_request(MPI_Request &request, std::string_view what,
                         std::chrono::microseconds yielding);

// A barrier that waits with backoff.
Status barrier(const Comm &comm);

// Every rank learns whether any rank failed; all return the error of the
// lowest failing rank (its code and message), or success on all.
Status agree(const Comm &comm, Status local);

}  // namespace pdm::mpi

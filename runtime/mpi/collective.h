// Collective helpers for application threads inside collective API calls.
#pragma once

#include <mpi.h>

#include <chrono>
#include <cstddef>
#include <vector>

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

// A duplicate of a communicator in the making (MPI_Comm_idup): the caller's
// own work overlaps the ranks' agreement on a context id, and finish() waits
// with backoff where MPI_Comm_dup would spin. Every rank of the parent must
// start it; one never finished is waited for and freed by the destructor.
class PendingDup {
 public:
  static Result<PendingDup> start(MPI_Comm parent);
  PendingDup(PendingDup &&other) noexcept;
  PendingDup &operator=(PendingDup &&) = delete;
  ~PendingDup();
  // The duplicate, with MPI_ERRORS_RETURN set (as Comm::dup).
  Result<Comm> finish();

 private:
  PendingDup() = default;
  MPI_Comm comm_ = MPI_COMM_NULL;
  MPI_Request request_ = MPI_REQUEST_NULL;
};

// Every rank gets rank 0's bytes, or rank 0's error (code and message);
// `at_root` is ignored on the others. Waits with backoff; one broadcast
// when the bytes are few, two otherwise.
Result<std::vector<std::byte>> broadcast_from_root(const Comm &comm,
                                                   Result<std::vector<std::byte>> at_root);

// A barrier that waits with backoff.
Status barrier(const Comm &comm);

// Every rank learns whether any rank failed; all return the error of the
// lowest failing rank (its code and message), or success on all.
Status agree(const Comm &comm, Status local);

}  // namespace pdm::mpi

#include "runtime/mpi/collective.h"

#include <thread>
#include <vector>

#include "runtime/mpi/backoff.h"

namespace pdm::mpi {

Status wait_request(MPI_Request &request, std::string_view what) {
  Backoff backoff;
  for (;;) {
    int done = 0;
    MPI_Status status;
    PDM_TRY(check(MPI_Test(&request, &done, &status), what));
    if (done) return {};
    backoff.pause();
  }
}

Status wait_bulk_request(MPI_Request &request, std::string_view what,
                         std::chrono::microseconds yielding) {
  const auto start = std::chrono::steady_clock::now();
  for (;;) {
    int done = 0;
    MPI_Status status;
    PDM_TRY(check(MPI_Test(&request, &done, &status), what));
    if (done) return {};
    if (std::chrono::steady_clock::now() - start >= yielding) break;
    std::this_thread::yield();
  }
  return wait_request(request, what);
}

Status barrier(const Comm &comm) {
  MPI_Request request = MPI_REQUEST_NULL;
  PDM_TRY(check(MPI_Ibarrier(comm.get(), &request), "MPI_Ibarrier"));
  return wait_request(request, "MPI_Ibarrier");
}

Status agree(const Comm &comm, Status local) {
  // The lowest failing rank, or comm.size() when none failed.
  int mine = local.ok() ? comm.size() : comm.rank();
  int first = 0;
  MPI_Request request = MPI_REQUEST_NULL;
  PDM_TRY(check(MPI_Iallreduce(&mine, &first, 1, MPI_INT, MPI_MIN, comm.get(), &request),
                "MPI_Iallreduce"));
  PDM_TRY(wait_request(request, "MPI_Iallreduce"));
  if (first == comm.size()) return {};

  // The failing rank broadcasts its errno and message.
  int code = local.ok() ? 0 : local.error().code;
  std::string text = local.ok() ? std::string() : local.error().message;
  int length = static_cast<int>(text.size());
  int header[2] = {code, length};
  PDM_TRY(check(MPI_Bcast(header, 2, MPI_INT, first, comm.get()), "MPI_Bcast"));
  text.resize(static_cast<std::size_t>(header[1]));
  PDM_TRY(check(MPI_Bcast(text.data(), header[1], MPI_CHAR, first, comm.get()), "MPI_Bcast"));
  if (comm.rank() == first) return local;
  return Error{header[0], first == 0 ? text : fmt::format("rank {}: {}", first, text)};
}

}  // namespace pdm::mpi

#include "runtime/mpi/comm.h"

#include <utility>

namespace pdm::mpi {

Status check(int rc, std::string_view what) {
  if (rc == MPI_SUCCESS) return {};
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  if (MPI_Error_string(rc, text, &len) != MPI_SUCCESS) len = 0;
  return make_error(EIO, "{}: {}", what, std::string_view(text, static_cast<std::size_t>(len)));
}

Result<Comm> Comm::dup(MPI_Comm parent) {
  MPI_Comm dup = MPI_COMM_NULL;
  PDM_TRY(check(MPI_Comm_dup(parent, &dup), "MPI_Comm_dup"));
  return adopt(dup);
}

Result<Comm> Comm::adopt(MPI_Comm comm) {
  Comm out;
  out.comm_ = comm;
  PDM_TRY(check(MPI_Comm_set_errhandler(comm, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler"));
  PDM_TRY(check(MPI_Comm_rank(comm, &out.rank_), "MPI_Comm_rank"));
  PDM_TRY(check(MPI_Comm_size(comm, &out.size_), "MPI_Comm_size"));
  return out;
}

Comm::Comm(Comm &&other) noexcept
    : comm_(std::exchange(other.comm_, MPI_COMM_NULL)),
      rank_(std::exchange(other.rank_, -1)),
      size_(std::exchange(other.size_, 0)) {}

Comm &Comm::operator=(Comm &&other) noexcept {
  if (this != &other) {
    reset();
    comm_ = std::exchange(other.comm_, MPI_COMM_NULL);
    rank_ = std::exchange(other.rank_, -1);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

Comm::~Comm() {
  reset();
}

void Comm::reset() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  // After MPI_Finalize a free is illegal; the communicator is gone anyway.
  if (comm_ != MPI_COMM_NULL && !finalized) MPI_Comm_free(&comm_);
  comm_ = MPI_COMM_NULL;
}

}  // namespace pdm::mpi

// Comm: an owned MPI communicator. The runtime never talks on the
// application's communicator: it duplicates it and sets MPI_ERRORS_RETURN so
// that every MPI failure comes back as a Result instead of aborting the job.
#pragma once

#include <mpi.h>

#include <string_view>

#include "runtime/base/result.h"

namespace pdm::mpi {

// Converts an MPI return code into a Status naming the failed call.
Status check(int rc, std::string_view what);

class Comm {
 public:
  Comm() = default;
  // MPI_Comm_dup of parent, with MPI_ERRORS_RETURN set on the duplicate.
  static Result<Comm> dup(MPI_Comm parent);
  // Takes ownership of an existing communicator (e.g. from MPI_Comm_create_group).
  static Result<Comm> adopt(MPI_Comm comm);

  Comm(const Comm &) = delete;
  Comm &operator=(const Comm &) = delete;
  Comm(Comm &&other) noexcept;
  Comm &operator=(Comm &&other) noexcept;
  ~Comm();

  MPI_Comm get() const { return comm_; }
  int rank() const { return rank_; }
  int size() const { return size_; }
  bool valid() const { return comm_ != MPI_COMM_NULL; }
  // Gives up the communicator without freeing it (a communicator with a dead
  // member must never be freed, docs/FAILURES.md).
  void release() { comm_ = MPI_COMM_NULL; }

 private:
  void reset();

  MPI_Comm comm_ = MPI_COMM_NULL;
  int rank_ = -1;
  int size_ = 0;
};

}  // namespace pdm::mpi

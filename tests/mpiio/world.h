// The C++ shim tests' view of MPI_COMM_WORLD.
#pragma once

#include <mpi.h>

namespace pdm::mpiio_test {

inline int rank() {
  int r = -1;
  MPI_Comm_rank(MPI_COMM_WORLD, &r);
  return r;
}

inline int ranks() {
  int n = 0;
  MPI_Comm_size(MPI_COMM_WORLD, &n);
  return n;
}

}  // namespace pdm::mpiio_test

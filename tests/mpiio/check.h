/* Checks for the MPI-IO shim tests: a failed check prints where and why on
 * stderr and aborts the whole job (MPI_Abort), so that mpiexec fails. */
#ifndef PDM_MPIIO_CHECK_H
#define PDM_MPIIO_CHECK_H

#include <mpi.h>
#include <stdio.h>

#define CHECK(cond)                                                                         \
  do {                                                                                      \
    if (!(cond)) {                                                                          \
      int r_ = -1;                                                                          \
      MPI_Comm_rank(MPI_COMM_WORLD, &r_);                                                   \
      fprintf(stderr, "rank %d: %s:%d: check failed: %s\n", r_, __FILE__, __LINE__, #cond); \
      MPI_Abort(MPI_COMM_WORLD, 1);                                                         \
    }                                                                                       \
  } while (0)

/* An MPI call must succeed. */
#define CHECK_MPI(call)                                                                      \
  do {                                                                                       \
    int rc_ = (call);                                                                        \
    if (rc_ != MPI_SUCCESS) {                                                                \
      char s_[MPI_MAX_ERROR_STRING];                                                         \
      int n_ = 0, r_ = -1;                                                                   \
      MPI_Error_string(rc_, s_, &n_);                                                        \
      MPI_Comm_rank(MPI_COMM_WORLD, &r_);                                                    \
      fprintf(stderr, "rank %d: %s:%d: %s failed: %s\n", r_, __FILE__, __LINE__, #call, s_); \
      MPI_Abort(MPI_COMM_WORLD, 1);                                                          \
    }                                                                                        \
  } while (0)

/* An MPI call must fail with the error class `cls`. */
#define CHECK_CLASS(call, cls)                                                                \
  do {                                                                                        \
    int rc_ = (call), c_ = MPI_SUCCESS, r_ = -1;                                              \
    MPI_Error_class(rc_, &c_);                                                                \
    if (c_ != (cls)) {                                                                        \
      MPI_Comm_rank(MPI_COMM_WORLD, &r_);                                                     \
      fprintf(stderr, "rank %d: %s:%d: %s: error class %d, expected %s (%d)\n", r_, __FILE__, \
              __LINE__, #call, c_, #cls, (cls));                                              \
      MPI_Abort(MPI_COMM_WORLD, 1);                                                           \
    }                                                                                         \
  } while (0)

#endif

/* What the port-style DMAPI tests share (C99): CHECK, which ends the whole
 * MPI job with a message naming the rank, the place, the failed condition,
 * errno and pdm_last_error(), and FAILS_WITH, true when a call failed with
 * the given errno. A test defines `static int rank;` (its MPI rank). */
#ifndef PDM_TESTS_DMAPI_PORT_CHECK_H
#define PDM_TESTS_DMAPI_PORT_CHECK_H

#include <errno.h>
#include <mpi.h>
#include <pdm/pdm.h>
#include <stdio.h>

#define CHECK(cond, ...)                                                                       \
  do {                                                                                         \
    if (!(cond)) {                                                                             \
      fprintf(stderr, "[rank %d] %s:%d: check failed: %s: ", rank, __FILE__, __LINE__, #cond); \
      fprintf(stderr, __VA_ARGS__);                                                            \
      fprintf(stderr, " (errno %d, %s)\n", errno, pdm_last_error());                           \
      MPI_Abort(MPI_COMM_WORLD, 1);                                                            \
    }                                                                                          \
  } while (0)

#define FAILS_WITH(call, code) ((call) == -1 && errno == (code))

#endif

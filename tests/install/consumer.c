/* An outside program using the installed pdm: built by check_install.sh with
 * mpicc + pkg-config and with CMake's find_package(pdm). Exit 0 = success. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <mpi.h>
#include <pdm/pdm.h>

static int failures = 0;

#define CHECK(cond)                                                                      \
  do {                                                                                   \
    if (!(cond)) {                                                                       \
      fprintf(stderr, "consumer: %s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
      ++failures;                                                                        \
    }                                                                                    \
  } while (0)

/* A missing configuration file: pdm_start fails with ENOENT, and says why. */
static void start_with_missing_config(void) {
  errno = 0;
  int rc = pdm_start(MPI_COMM_WORLD, "/nonexistent/fs.conf");
  int err = errno;
  CHECK(rc == -1);
  CHECK(err == ENOENT);
  const char *msg = pdm_last_error();
  CHECK(msg != NULL && msg[0] != '\0');
  if (rc != -1 || err != ENOENT)
    fprintf(stderr, "consumer: pdm_start returned %d, errno %d (%s), error '%s'\n", rc, err,
            strerror(err), msg ? msg : "(null)");
}

int main(int argc, char **argv) {
  int provided = 0;
  if (MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided) != MPI_SUCCESS) {
    fprintf(stderr, "consumer: MPI_Init_thread failed\n");
    return 1;
  }
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);

  start_with_missing_config();
  /* More checks (mkfs, start, file I/O, stop) go here once the fs works. */

  int total = 0;
  MPI_Allreduce(&failures, &total, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  if (rank == 0) printf("consumer: %s (%d failed checks)\n", total ? "FAILED" : "ok", total);
  MPI_Finalize();
  return total ? 1 : 0;
}

/* Feasibility probe: rank VICTIM SIGKILLs itself; what do survivors see? */
#include <mpi.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}
static const char *ename(int rc) {
  static char b[MPI_MAX_ERROR_STRING];
  int n;
  if (rc == MPI_SUCCESS) return "SUCCESS";
  MPI_Error_string(rc, b, &n);
  return b;
}

/* wait on a request with a deadline: returns 1 done, 0 timed out */
static int wait_deadline(MPI_Request *r, double secs, int *rc) {
  double t0 = now();
  int flag = 0;
  while (!flag && now() - t0 < secs) {
    *rc = MPI_Test(r, &flag, MPI_STATUS_IGNORE);
    if (*rc != MPI_SUCCESS) return 1;
    usleep(1000);
  }
  return flag;
}

int main(int argc, char **argv) {
  int provided;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided);
  MPI_Comm comm;
  MPI_Comm_dup(MPI_COMM_WORLD, &comm);
  MPI_Comm_set_errhandler(comm, MPI_ERRORS_RETURN);
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  int rank, size;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  int victim = argc > 1 ? atoi(argv[1]) : size - 1;
  /* Warm up connections to every peer (so the BTL has an endpoint). */
  int x = rank, y;
  MPI_Allreduce(&x, &y, 1, MPI_INT, MPI_SUM, comm);
  for (int p = 0; p < size; ++p)
    if (p != rank) {
      int a = 1, b;
      MPI_Sendrecv(&a, 1, MPI_INT, p, 7, &b, 1, MPI_INT, p, 7, comm, MPI_STATUS_IGNORE);
    }
  MPI_Barrier(comm);
  /* Survivors post a recv from the victim and an (eager) send to it before it dies. */
  MPI_Request rr = MPI_REQUEST_NULL, sr = MPI_REQUEST_NULL;
  int rb, sb = 42;
  static char big[1 << 20];
  if (rank != victim) {
    MPI_Irecv(&rb, 1, MPI_INT, victim, 1, comm, &rr);
  }
  MPI_Barrier(comm);
  if (rank == victim) {
    fprintf(stderr, "[%d] killing myself\n", rank);
    fflush(stderr);
    kill(getpid(), SIGKILL);
  }
  sleep(1);
  int rc = 0, done;
  done = wait_deadline(&rr, 5, &rc);
  printf("[%d] pending irecv from dead: %s rc=%s\n", rank, done ? "completed" : "HUNG(5s)",
         ename(rc));
  fflush(stdout);
  /* a rendezvous-size send to the dead rank after the death */
  MPI_Isend(big, sizeof big, MPI_CHAR, victim, 2, comm, &sr);
  done = wait_deadline(&sr, 5, &rc);
  printf("[%d] large isend to dead: %s rc=%s\n", rank, done ? "completed" : "HUNG(5s)", ename(rc));
  MPI_Isend(&sb, 1, MPI_INT, victim, 3, comm, &sr);
  done = wait_deadline(&sr, 5, &rc);
  printf("[%d] small isend to dead: %s rc=%s\n", rank, done ? "completed" : "HUNG(5s)", ename(rc));
  fflush(stdout);
  /* survivors group */
  MPI_Group wg, sg;
  MPI_Comm_group(comm, &wg);
  int ex[1] = {victim};
  MPI_Group_excl(wg, 1, ex, &sg);
  MPI_Comm nc;
  rc = MPI_Comm_create_group(comm, sg, 99, &nc);
  printf("[%d] Comm_create_group: %s\n", rank, ename(rc));
  fflush(stdout);
  if (rc == MPI_SUCCESS) {
    MPI_Comm_set_errhandler(nc, MPI_ERRORS_RETURN);
    int s = rank, t = 0;
    rc = MPI_Allreduce(&s, &t, 1, MPI_INT, MPI_SUM, nc);
    printf("[%d] allreduce on new comm: %s sum=%d\n", rank, ename(rc), t);
    int v = 0;
    if (rank == 0) v = 77;
    rc = MPI_Bcast(&v, 1, MPI_INT, 0, nc);
    printf("[%d] bcast on new comm: %s v=%d\n", rank, ename(rc), v);
    MPI_Request br;
    rc = MPI_Ibarrier(nc, &br);
    done = wait_deadline(&br, 5, &rc);
    printf("[%d] ibarrier new comm: %s rc=%s\n", rank, done ? "completed" : "HUNG", ename(rc));
    fflush(stdout);
  }
  /* collective on the old comm including the dead rank */
  MPI_Request ob;
  rc = MPI_Ibarrier(comm, &ob);
  done = wait_deadline(&ob, 3, &rc);
  printf("[%d] ibarrier OLD comm: %s rc=%s\n", rank, done ? "completed" : "HUNG(3s)", ename(rc));
  fflush(stdout);
  double t0 = now();
  printf("[%d] calling MPI_Finalize\n", rank);
  fflush(stdout);
  rc = MPI_Finalize();
  printf("[%d] MPI_Finalize returned %d after %.2fs\n", rank, rc, now() - t0);
  fflush(stdout);
  return 0;
}

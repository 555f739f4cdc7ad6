/* Probe 2: no request ever touches the dead rank after death; does MPI_Finalize return? mode arg: 0
 * = nothing pending; 1 = pending irecv cancelled+freed; 2 = old comm freed */
#include <mpi.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}
int main(int argc, char **argv) {
  int provided;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided);
  int mode = atoi(argv[1]);
  MPI_Comm comm;
  MPI_Comm_dup(MPI_COMM_WORLD, &comm);
  MPI_Comm_set_errhandler(comm, MPI_ERRORS_RETURN);
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  int rank, size;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  int victim = size - 1;
  for (int p = 0; p < size; ++p)
    if (p != rank) {
      int a = 1, b;
      MPI_Sendrecv(&a, 1, MPI_INT, p, 7, &b, 1, MPI_INT, p, 7, comm, MPI_STATUS_IGNORE);
    }
  MPI_Request rr = MPI_REQUEST_NULL;
  int rb;
  if ((mode == 1 || mode == 2) && rank != victim) MPI_Irecv(&rb, 1, MPI_INT, victim, 1, comm, &rr);
  MPI_Request bq = MPI_REQUEST_NULL;
  int bv = 0;
  if (mode == 3)
    MPI_Ibcast(&bv, 1, MPI_INT, victim, comm, &bq); /* rooted at the victim: never completes */
  if (mode == 4)
    MPI_Ibcast(&bv, 1, MPI_INT, 0, comm, &bq); /* rooted at a survivor, victim a member */
  MPI_Barrier(comm);
  if (rank == victim) kill(getpid(), SIGKILL);
  sleep(1);
  if ((mode == 5 || mode == 6) && rank != victim) {
    int v = 1;
    MPI_Request q;
    MPI_Isend(&v, 1, MPI_INT, victim, 5, comm, &q);
    int f = 0;
    double t1 = now();
    while (!f && now() - t1 < 3) MPI_Test(&q, &f, MPI_STATUS_IGNORE);
    printf("[%d] eager send to dead completed=%d\n", rank, f);
    if (!f) MPI_Request_free(&q);
  }
  if (mode == 1 || mode == 2)
    if (rr != MPI_REQUEST_NULL) {
      int rc = MPI_Cancel(&rr);
      int f = 0;
      MPI_Status st;
      double t0 = now();
      while (!f && now() - t0 < 3) MPI_Test(&rr, &f, &st);
      int c = 0;
      if (f) MPI_Test_cancelled(&st, &c);
      printf("[%d] cancel rc=%d completed=%d cancelled=%d\n", rank, rc, f, c);
      if (!f) MPI_Request_free(&rr);
    }
  MPI_Group wg, sg;
  MPI_Comm_group(comm, &wg);
  int ex[1] = {victim};
  MPI_Group_excl(wg, 1, ex, &sg);
  MPI_Comm nc;
  MPI_Comm_create_group(comm, sg, 99, &nc);
  MPI_Barrier(nc);
  if (mode == 2) {
    int rc = MPI_Comm_free(&comm);
    printf("[%d] free old comm rc=%d\n", rank, rc);
  }
  MPI_Comm_free(&nc);
  if (mode == 6) {
    printf("[%d] _exit(0) without finalize\n", rank);
    fflush(stdout);
    _exit(0);
  }
  double t0 = now();
  printf("[%d] MPI_Finalize...\n", rank);
  fflush(stdout);
  int rc = MPI_Finalize();
  printf("[%d] MPI_Finalize returned %d after %.2fs\n", rank, rc, now() - t0);
  fflush(stdout);
  return 0;
}

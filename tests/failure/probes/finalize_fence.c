/* Probe 3: MPI_Finalize's closing PMIx fence after a SIGKILL, no pdm involved.
 * Rank size-1 dies after the ranks exchanged messages on a duplicate of
 * MPI_COMM_WORLD; the survivors then call MPI_Finalize.
 *   mode 0: nothing pending on the victim
 *   mode 1: rank 0 has a receive from the victim posted when it dies
 *   mode 2: every survivor has an MPI_ANY_SOURCE receive posted
 *   mode 3: as 1, cancelled and completed before MPI_Finalize
 *   mode 4: as 2, cancelled and completed before MPI_Finalize
 * Each survivor prints "[rank] finalized" once MPI_Finalize returned. */
#include <mpi.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv) {
  int provided;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided);
  const int mode = argc > 1 ? atoi(argv[1]) : 0;
  int rank, size;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  const int victim = size - 1;
  MPI_Comm comm;
  MPI_Comm_dup(MPI_COMM_WORLD, &comm);
  MPI_Comm_set_errhandler(comm, MPI_ERRORS_RETURN);
  for (int peer = 0; peer < size; ++peer) {
    if (peer == rank) continue;
    int out = rank, in;
    MPI_Sendrecv(&out, 1, MPI_INT, peer, 7, &in, 1, MPI_INT, peer, 7, comm, MPI_STATUS_IGNORE);
  }
  MPI_Request pending = MPI_REQUEST_NULL;
  int buffer;
  if ((mode == 1 || mode == 3) && rank == 0) {
    MPI_Irecv(&buffer, 1, MPI_INT, victim, 9, comm, &pending);
  }
  if ((mode == 2 || mode == 4) && rank != victim) {
    MPI_Irecv(&buffer, 1, MPI_INT, MPI_ANY_SOURCE, 9, comm, &pending);
  }
  MPI_Barrier(MPI_COMM_WORLD);
  if (rank == victim) kill(getpid(), SIGKILL);
  usleep(700 * 1000);
  if (mode >= 3 && pending != MPI_REQUEST_NULL) {
    MPI_Cancel(&pending);
    MPI_Wait(&pending, MPI_STATUS_IGNORE);
  }
  MPI_Finalize();
  printf("[%d] finalized\n", rank);
  return 0;
}

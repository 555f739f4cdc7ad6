/* failure_shim_writes (issue #4; B20: file operations submitted through the
 * MPI-IO shim; with victim 0, B1/B5: the manager dies): an unmodified MPI-IO program keeps
 * doing its I/O through the shim while a rank of the job is SIGKILLed.
 *
 * Every rank opens its own pdm file (MPI_COMM_SELF) and writes patterned
 * blocks into a ring of slots; the victim rank (argv[2]) records "killed"
 * and SIGKILLs itself after the first round. The survivors go on writing,
 * and creating a small file per round, until pdm's view shows the rank
 * gone and a few rounds more; then they read back every slot and every
 * small file, record "ok", and call MPI_Finalize, which the shim bounds
 * after a failure (docs/FAILURES.md §1): without that bound Open MPI's
 * closing fence sometimes hangs and the test times out.
 *
 * Judged by tests/failure/run.sh from the verdict files: under
 * mpirun --enable-recovery the exit codes say nothing. Run through
 * tests/mpiio/run_shim.sh: argv[1] is a plain directory (unused). */
#include <mpi.h>
#include <pdm/pdm.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { kBlock = 64 * 1024, kSlots = 16, kRoundsAfterChange = 5, kSmall = 100 };
static const double kDeadlineSeconds = 60.0;

static int rank;

static void write_verdict(const char *verdict) {
  const char *dir = getenv("PDM_FAILURE_VERDICTS");
  char path[4096];
  FILE *file;
  if (dir == NULL || *dir == '\0') return;
  snprintf(path, sizeof path, "%s/rank-%d", dir, rank);
  file = fopen(path, "w");
  if (file == NULL) return;
  fputs(verdict, file);
  fclose(file);
}

/* Records why this rank failed and ends it: no MPI_Abort, which under
 * --enable-recovery would only take this rank down anyway. */
static void fail(const char *format, ...) {
  char why[512];
  va_list args;
  va_start(args, format);
  vsnprintf(why, sizeof why, format, args);
  va_end(args);
  fprintf(stderr, "rank %d: %s\n", rank, why);
  write_verdict(why);
  fflush(NULL);
  _exit(1);
}

static void check_mpi(int rc, const char *what) {
  char message[MPI_MAX_ERROR_STRING];
  int length = 0;
  if (rc == MPI_SUCCESS) return;
  MPI_Error_string(rc, message, &length);
  fail("%s: %s", what, message);
}

static char pattern(int round, int i) {
  return (char)('A' + (rank * 31 + round * 7 + i) % 61);
}

static void fill(char *buf, int round, int n) {
  int i;
  for (i = 0; i < n; ++i) buf[i] = pattern(round, i);
}

static int matches(const char *buf, int round, int n) {
  int i;
  for (i = 0; i < n; ++i) {
    if (buf[i] != pattern(round, i)) return 0;
  }
  return 1;
}

static unsigned long long current_epoch(void) {
  struct pdm_view_info info;
  int members[64];
  if (pdm_get_view(&info, members, 64) != 0) fail("pdm_get_view: %s", pdm_last_error());
  return info.epoch;
}

static void write_small_file(int round) {
  char name[64], buf[kSmall];
  MPI_File fh;
  snprintf(name, sizeof name, "pdm:/small-%d-%d", rank, round);
  fill(buf, round, kSmall);
  check_mpi(
      MPI_File_open(MPI_COMM_SELF, name, MPI_MODE_CREATE | MPI_MODE_WRONLY, MPI_INFO_NULL, &fh),
      "creating a small file");
  check_mpi(MPI_File_write_at(fh, 0, buf, kSmall, MPI_CHAR, MPI_STATUS_IGNORE),
            "writing a small file");
  check_mpi(MPI_File_close(&fh), "closing a small file");
}

static void check_small_file(int round) {
  char name[64], buf[kSmall];
  MPI_File fh;
  MPI_Offset size = 0;
  snprintf(name, sizeof name, "pdm:/small-%d-%d", rank, round);
  check_mpi(MPI_File_open(MPI_COMM_SELF, name, MPI_MODE_RDONLY, MPI_INFO_NULL, &fh), name);
  check_mpi(MPI_File_get_size(fh, &size), "get_size of a small file");
  if (size != kSmall) fail("%s has %lld bytes, not %d", name, (long long)size, kSmall);
  check_mpi(MPI_File_read_at(fh, 0, buf, kSmall, MPI_CHAR, MPI_STATUS_IGNORE),
            "reading a small file");
  if (!matches(buf, round, kSmall)) fail("%s: wrong bytes", name);
  check_mpi(MPI_File_close(&fh), "closing a small file");
}

int main(int argc, char **argv) {
  int provided = 0, size = 0, victim, round, slot;
  int last_round[kSlots];
  char name[64];
  char *buf = malloc(kBlock);
  MPI_File fh;
  double deadline;
  unsigned long long first_epoch;
  int rounds_left = -1; /* counting down once the view changed */

  if (argc < 3 || buf == NULL) {
    fprintf(stderr, "usage: %s PLAIN_DIR VICTIM_RANK\n", argv[0]);
    return 2;
  }
  victim = atoi(argv[2]);
  MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  if (victim < 0 || victim >= size) fail("victim rank %d is not in 0..%d", victim, size - 1);
  for (slot = 0; slot < kSlots; ++slot) last_round[slot] = -1;

  snprintf(name, sizeof name, "pdm:/survivor-%d", rank);
  check_mpi(MPI_File_open(MPI_COMM_SELF, name, MPI_MODE_CREATE | MPI_MODE_RDWR, MPI_INFO_NULL, &fh),
            "opening this rank's file");
  first_epoch = current_epoch();
  /* Every rank has its file open and the same view before anyone dies. */
  MPI_Barrier(MPI_COMM_WORLD);

  deadline = MPI_Wtime() + kDeadlineSeconds;
  for (round = 0; rounds_left != 0; ++round) {
    if (round == 1 && rank == victim) {
      write_verdict("killed");
      fflush(NULL);
      kill(getpid(), SIGKILL);
      for (;;) pause();
    }
    if (MPI_Wtime() > deadline) {
      fail("the view did not change within %.0f s of the kill (epoch still %llu)", kDeadlineSeconds,
           current_epoch());
    }
    slot = round % kSlots;
    fill(buf, round, kBlock);
    check_mpi(
        MPI_File_write_at(fh, (MPI_Offset)slot * kBlock, buf, kBlock, MPI_CHAR, MPI_STATUS_IGNORE),
        "writing a block");
    last_round[slot] = round;
    write_small_file(round);
    if (rounds_left > 0) {
      --rounds_left;
    } else if (rounds_left < 0 && current_epoch() > first_epoch) {
      rounds_left = kRoundsAfterChange;
    }
  }

  check_mpi(MPI_File_sync(fh), "sync");
  for (slot = 0; slot < kSlots; ++slot) {
    if (last_round[slot] < 0) continue;
    check_mpi(
        MPI_File_read_at(fh, (MPI_Offset)slot * kBlock, buf, kBlock, MPI_CHAR, MPI_STATUS_IGNORE),
        "reading a block back");
    if (!matches(buf, last_round[slot], kBlock)) {
      fail("slot %d does not hold round %d's block", slot, last_round[slot]);
    }
  }
  check_mpi(MPI_File_close(&fh), "closing this rank's file");
  for (slot = 0; slot < round; ++slot) check_small_file(slot);
  free(buf);
  printf("rank %d: %d rounds, view epoch %llu, all read back\n", rank, round, current_epoch());
  write_verdict("ok");
  fflush(NULL);
  return MPI_Finalize();
}

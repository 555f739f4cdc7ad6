/* mpiio_recall: plain MPI-IO through the shim on files that pdm-hsm migrated
 * and released between two jobs (tests/mpiio/recall.sh drives it). The
 * shim hosts the HSM recall agent on every rank (docs/MPIIO.md, Recall), so
 * the application sees its data, never the released space.
 *
 *   mpiio_recall PLAIN write   writes /pdm/recall/{good,write,trunc,bad,later}.bin
 *                              (each rank a quarter, collectively) and rank 0
 *                              a plain copy of bad.bin in PLAIN (for the
 *                              driver to find its bytes in the archive)
 *   mpiio_recall PLAIN read    after migrate --release (and bad.bin's copy
 *                              corrupted in the archive):
 *     good.bin   every rank reads the whole file (independent), then its
 *                quarter (collective): the same released file read by every
 *                rank is recalled once, on the rank whose event came first
 *                (B16, B18, B20; the driver counts the recalls)
 *     write.bin  rank 1 writes into the released file: recalled first, then
 *                written; every rank reads old and new bytes back
 *     trunc.bin  MPI_File_set_size to half: recalled first, then truncated
 *     bad.bin    every read fails with MPI_ERR_IO (the recall cannot verify
 *                the copy; the reader gets no unverified data), no hang
 *   mpiio_recall PLAIN noagent run with PDM_HSM_RECALL=0 (no agent in the
 *                              shim): a read of the released later.bin fails
 *                              with MPI_ERR_IO (no disposition), never zeros */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

static int rank, size;

enum { kFiles = 5 };
static const char *const kNames[kFiles] = {"good", "write", "trunc", "bad", "later"};
static const MPI_Offset kSizes[kFiles] = {3 * 1048576 + 4321, 300000, 500001, 1048576 + 3, 70000};

/* The byte at `offset` of file `f` (splitmix64 of both): 32 bytes of one
 * file occur nowhere else in the archive (the driver looks for them). */
static unsigned char pattern(int f, MPI_Offset offset) {
  unsigned long long z = (unsigned long long)offset + ((unsigned long long)f << 40);
  z += 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return (unsigned char)(z ^ (z >> 31));
}

static void fill(int f, MPI_Offset offset, unsigned char *buf, MPI_Offset n) {
  MPI_Offset i;
  for (i = 0; i < n; ++i) buf[i] = pattern(f, offset + i);
}

static void path_of(int f, char *out, size_t len) {
  snprintf(out, len, "/pdm/recall/%s.bin", kNames[f]);
}

/* This rank's quarter [*begin, *begin + *count) of a file of `total` bytes. */
static void quarter(MPI_Offset total, MPI_Offset *begin, MPI_Offset *count) {
  MPI_Offset per = (total + size - 1) / size;
  *begin = per * rank < total ? per * rank : total;
  *count = *begin + per < total ? per : total - *begin;
}

/* Reads n bytes at offset (independently, or collectively) and checks them
 * against file f's pattern, with `patch` applied over it when not NULL. */
static void read_check(MPI_File fh, int f, MPI_Offset offset, MPI_Offset n, int collective,
                       MPI_Offset patch_at, const unsigned char *patch, int patch_len) {
  unsigned char *got = malloc((size_t)n + 1), *want = malloc((size_t)n + 1);
  MPI_Status status;
  int count = -1;
  MPI_Offset i;
  CHECK(got != NULL && want != NULL);
  fill(f, offset, want, n);
  for (i = 0; patch != NULL && i < patch_len; ++i) {
    if (patch_at + i >= offset && patch_at + i < offset + n) want[patch_at + i - offset] = patch[i];
  }
  memset(got, 0, (size_t)n + 1);
  if (collective) {
    CHECK_MPI(MPI_File_read_at_all(fh, offset, got, (int)n, MPI_BYTE, &status));
  } else {
    CHECK_MPI(MPI_File_read_at(fh, offset, got, (int)n, MPI_BYTE, &status));
  }
  MPI_Get_count(&status, MPI_BYTE, &count);
  CHECK(count == (int)n);
  CHECK(memcmp(got, want, (size_t)n) == 0);
  free(got);
  free(want);
}

static void write_phase(const char *plain) {
  char name[256];
  int f;
  for (f = 0; f < kFiles; ++f) {
    MPI_File fh;
    MPI_Offset begin, count;
    unsigned char *buf;
    path_of(f, name, sizeof name);
    quarter(kSizes[f], &begin, &count);
    buf = malloc((size_t)count + 1);
    CHECK(buf != NULL);
    fill(f, begin, buf, count);
    CHECK_MPI(
        MPI_File_open(MPI_COMM_WORLD, name, MPI_MODE_CREATE | MPI_MODE_WRONLY, MPI_INFO_NULL, &fh));
    CHECK_MPI(MPI_File_write_at_all(fh, begin, buf, (int)count, MPI_BYTE, MPI_STATUS_IGNORE));
    CHECK_MPI(MPI_File_close(&fh));
    free(buf);
  }
  if (rank == 0) {
    /* The plain copy of bad.bin, through the real MPI-IO's neighbour: stdio. */
    FILE *out;
    unsigned char *buf = malloc((size_t)kSizes[3]);
    CHECK(buf != NULL);
    snprintf(name, sizeof name, "%s/bad.bin", plain);
    out = fopen(name, "wb");
    CHECK(out != NULL);
    fill(3, 0, buf, kSizes[3]);
    CHECK(fwrite(buf, 1, (size_t)kSizes[3], out) == (size_t)kSizes[3]);
    CHECK(fclose(out) == 0);
    free(buf);
  }
}

static void read_phase(void) {
  char name[256];
  MPI_File fh;
  MPI_Offset begin, count, got_size = -1;
  const unsigned char patch[] = "written into a released file";
  const MPI_Offset patch_at = 123457;
  const int patch_len = (int)sizeof patch - 1;
  unsigned char byte = 0;

  /* good.bin: every rank reads the same released file. */
  path_of(0, name, sizeof name);
  CHECK_MPI(MPI_File_open(MPI_COMM_WORLD, name, MPI_MODE_RDONLY, MPI_INFO_NULL, &fh));
  CHECK_MPI(MPI_File_get_size(fh, &got_size));
  CHECK(got_size == kSizes[0]);
  read_check(fh, 0, 0, kSizes[0], 0, 0, NULL, 0);
  quarter(kSizes[0], &begin, &count);
  read_check(fh, 0, begin, count, 1, 0, NULL, 0);
  CHECK_MPI(MPI_File_close(&fh));

  /* write.bin: a write by one rank recalls, then writes. */
  path_of(1, name, sizeof name);
  CHECK_MPI(MPI_File_open(MPI_COMM_WORLD, name, MPI_MODE_RDWR, MPI_INFO_NULL, &fh));
  if (rank == 1 % size) {
    CHECK_MPI(MPI_File_write_at(fh, patch_at, patch, patch_len, MPI_BYTE, MPI_STATUS_IGNORE));
  }
  CHECK_MPI(MPI_File_sync(fh));
  read_check(fh, 1, 0, kSizes[1], 0, patch_at, patch, patch_len);
  CHECK_MPI(MPI_File_close(&fh));

  /* trunc.bin: set_size (rank 0 truncates) recalls first. */
  path_of(2, name, sizeof name);
  CHECK_MPI(MPI_File_open(MPI_COMM_WORLD, name, MPI_MODE_RDWR, MPI_INFO_NULL, &fh));
  CHECK_MPI(MPI_File_set_size(fh, kSizes[2] / 2));
  CHECK_MPI(MPI_File_get_size(fh, &got_size));
  CHECK(got_size == kSizes[2] / 2);
  read_check(fh, 2, 0, kSizes[2] / 2, 1, 0, NULL, 0);
  CHECK_MPI(MPI_File_close(&fh));

  /* bad.bin: its archive copy is corrupt. */
  path_of(3, name, sizeof name);
  CHECK_MPI(MPI_File_open(MPI_COMM_WORLD, name, MPI_MODE_RDONLY, MPI_INFO_NULL, &fh));
  CHECK_CLASS(MPI_File_read_at(fh, 1000, &byte, 1, MPI_BYTE, MPI_STATUS_IGNORE), MPI_ERR_IO);
  CHECK_CLASS(MPI_File_read_at_all(fh, 0, &byte, 1, MPI_BYTE, MPI_STATUS_IGNORE), MPI_ERR_IO);
  CHECK_MPI(MPI_File_close(&fh));
}

static void no_agent_phase(void) {
  char name[256];
  MPI_File fh;
  unsigned char byte = 0;
  path_of(4, name, sizeof name);
  CHECK_MPI(MPI_File_open(MPI_COMM_WORLD, name, MPI_MODE_RDONLY, MPI_INFO_NULL, &fh));
  CHECK_CLASS(MPI_File_read_at(fh, 0, &byte, 1, MPI_BYTE, MPI_STATUS_IGNORE), MPI_ERR_IO);
  CHECK_MPI(MPI_File_close(&fh));
}

int main(int argc, char **argv) {
  CHECK_MPI(MPI_Init(&argc, &argv));
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  CHECK(argc == 3);
  if (strcmp(argv[2], "write") == 0) {
    write_phase(argv[1]);
  } else if (strcmp(argv[2], "noagent") == 0) {
    no_agent_phase();
  } else {
    CHECK(strcmp(argv[2], "read") == 0);
    read_phase();
  }
  CHECK_MPI(MPI_Finalize());
  if (rank == 0) printf("mpiio_recall %s: ok\n", argv[2]);
  return 0;
}

/* mpiio_basic: the calls parallel HDF5 1.10 makes, on a pdm file through the
 * shim, with 4 ranks: open (create, excl, missing), close, get_size,
 * set_size, set_view with byte views, read_at/write_at and their collective
 * forms, sync, atomicity and the lazy size of writes outside it, delete;
 * errors as MPI error classes; names outside pdm passing through to the real
 * MPI-IO; the pdm file's real handle
 * (c2f/f2c, error handlers), reused as a new file's after a close. Run by
 * run_shim.sh: argv[1] is a plain directory. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"

enum { kBlock = 1000 };

static int rank, size;

static char pattern(int writer, int i) {
  return (char)('a' + (writer * 7 + i) % 26);
}

static void fill(char *buf, int writer, int n) {
  int i;
  for (i = 0; i < n; ++i) buf[i] = pattern(writer, i);
}

static void expect(const char *buf, int writer, int n) {
  int i;
  for (i = 0; i < n; ++i) CHECK(buf[i] == pattern(writer, i));
}

/* Independent and collective writes at explicit offsets; every rank reads
 * every other rank's block after a collective call (no sync needed). */
static void explicit_offsets(const char *name) {
  MPI_File fh;
  MPI_Status st;
  MPI_Offset fsize;
  char out[kBlock], in[kBlock];
  int count, r;
  CHECK_MPI(
      MPI_File_open(MPI_COMM_WORLD, name, MPI_MODE_CREATE | MPI_MODE_RDWR, MPI_INFO_NULL, &fh));
  fill(out, rank, kBlock);
  CHECK_MPI(MPI_File_write_at(fh, (MPI_Offset)rank * kBlock, out, kBlock, MPI_CHAR, &st));
  CHECK_MPI(MPI_Get_count(&st, MPI_CHAR, &count));
  CHECK(count == kBlock);
  /* The second region: collective. */
  CHECK_MPI(
      MPI_File_write_at_all(fh, (MPI_Offset)(size + rank) * kBlock, out, kBlock, MPI_CHAR, &st));
  CHECK_MPI(MPI_File_get_size(fh, &fsize));
  CHECK(fsize == (MPI_Offset)2 * size * kBlock);
  for (r = 0; r < size; ++r) {
    memset(in, 0, sizeof in);
    CHECK_MPI(MPI_File_read_at(fh, (MPI_Offset)(size + r) * kBlock, in, kBlock, MPI_CHAR, &st));
    expect(in, r, kBlock);
  }
  /* The first region, after sync (its writes were independent). */
  CHECK_MPI(MPI_File_sync(fh));
  r = (rank + 1) % size;
  CHECK_MPI(MPI_File_read_at_all(fh, (MPI_Offset)r * kBlock, in, kBlock, MPI_CHAR, &st));
  CHECK_MPI(MPI_Get_count(&st, MPI_CHAR, &count));
  CHECK(count == kBlock);
  expect(in, r, kBlock);
  /* A read across the end of the file is short; a zero-byte request is fine. */
  CHECK_MPI(MPI_File_read_at(fh, fsize - 10, in, kBlock, MPI_CHAR, &st));
  CHECK_MPI(MPI_Get_count(&st, MPI_CHAR, &count));
  CHECK(count == 10);
  CHECK_MPI(MPI_File_read_at_all(fh, 0, in, 0, MPI_CHAR, &st));
  CHECK_MPI(MPI_Get_count(&st, MPI_CHAR, &count));
  CHECK(count == 0);
  CHECK_MPI(MPI_File_write_at_all(fh, 0, out, 0, MPI_CHAR, MPI_STATUS_IGNORE));
  /* Typed transfers: count in ints. */
  {
    int v[4] = {rank, rank + 1, rank + 2, rank + 3}, w[4];
    CHECK_MPI(
        MPI_File_write_at_all(fh, (MPI_Offset)(4 * size * kBlock + 16 * rank), v, 4, MPI_INT, &st));
    CHECK_MPI(MPI_Get_count(&st, MPI_INT, &count));
    CHECK(count == 4);
    CHECK_MPI(MPI_File_read_at(fh, (MPI_Offset)(4 * size * kBlock + 16 * ((rank + 1) % size)), w, 4,
                               MPI_INT, &st));
    CHECK(w[0] == (rank + 1) % size && w[3] == (rank + 1) % size + 3);
  }
  CHECK_MPI(MPI_File_close(&fh));
  CHECK(fh == MPI_FILE_NULL);
}

/* Sizes of writes outside atomic mode are published lazily (docs/MPIIO.md):
 * a rank sees its own independent writes at once, every rank sees them after
 * sync; in atomic mode, or with the hint pdm_lazy_size=false, a write's size
 * is published before the write returns, so a plain barrier is enough. */
static void lazy_sizes(const char *name) {
  enum { kWrites = 8 };
  MPI_File fh;
  MPI_Info info;
  MPI_Offset fsize;
  char out[kBlock], in[kBlock];
  int i;
  const MPI_Offset total = (MPI_Offset)kWrites * size * kBlock;
  CHECK_MPI(MPI_File_open(MPI_COMM_WORLD, name, MPI_MODE_CREATE | MPI_MODE_RDWR | MPI_MODE_EXCL,
                          MPI_INFO_NULL, &fh));
  fill(out, rank, kBlock);
  for (i = 0; i < kWrites; ++i) {
    CHECK_MPI(MPI_File_write_at(fh, (MPI_Offset)(i * size + rank) * kBlock, out, kBlock, MPI_CHAR,
                                MPI_STATUS_IGNORE));
  }
  CHECK_MPI(MPI_File_get_size(fh, &fsize));
  CHECK(fsize >= (MPI_Offset)((kWrites - 1) * size + rank + 1) * kBlock);
  for (i = 0; i < kWrites; ++i) {
    memset(in, 0, sizeof in);
    CHECK_MPI(MPI_File_read_at(fh, (MPI_Offset)(i * size + rank) * kBlock, in, kBlock, MPI_CHAR,
                               MPI_STATUS_IGNORE));
    expect(in, rank, kBlock);
  }
  CHECK_MPI(MPI_File_sync(fh));
  CHECK_MPI(MPI_File_get_size(fh, &fsize));
  CHECK(fsize == total);
  /* Atomic mode: the last rank grows the file; the others see it after a barrier. */
  CHECK_MPI(MPI_File_set_atomicity(fh, 1));
  if (rank == size - 1) {
    CHECK_MPI(MPI_File_write_at(fh, total, out, kBlock, MPI_CHAR, MPI_STATUS_IGNORE));
  }
  MPI_Barrier(MPI_COMM_WORLD);
  CHECK_MPI(MPI_File_get_size(fh, &fsize));
  CHECK(fsize == total + kBlock);
  CHECK_MPI(MPI_File_close(&fh));
  /* The hint turns the lazy size off outside atomic mode too. */
  MPI_Info_create(&info);
  MPI_Info_set(info, "pdm_lazy_size", "false");
  CHECK_MPI(MPI_File_open(MPI_COMM_WORLD, name, MPI_MODE_RDWR, info, &fh));
  MPI_Info_free(&info);
  if (rank == size - 1) {
    CHECK_MPI(MPI_File_write_at(fh, total + kBlock, out, kBlock, MPI_CHAR, MPI_STATUS_IGNORE));
  }
  MPI_Barrier(MPI_COMM_WORLD);
  CHECK_MPI(MPI_File_get_size(fh, &fsize));
  CHECK(fsize == total + 2 * kBlock);
  CHECK_MPI(MPI_File_close(&fh));
}

/* set_size shrinks and grows; a byte view with a displacement shifts offsets. */
static void sizes_and_byte_views(const char *name) {
  MPI_File fh;
  MPI_Offset fsize, disp;
  MPI_Datatype etype, ftype;
  char datarep[MPI_MAX_DATAREP_STRING];
  char out[kBlock], in[kBlock];
  int flag = -1;
  CHECK_MPI(MPI_File_open(MPI_COMM_WORLD, name, MPI_MODE_RDWR, MPI_INFO_NULL, &fh));
  CHECK_MPI(MPI_File_set_size(fh, 5000));
  CHECK_MPI(MPI_File_get_size(fh, &fsize));
  CHECK(fsize == 5000);
  CHECK_MPI(MPI_File_set_size(fh, 20000));
  CHECK_MPI(MPI_File_get_size(fh, &fsize));
  CHECK(fsize == 20000);
  CHECK_MPI(MPI_File_set_view(fh, 3000, MPI_BYTE, MPI_BYTE, "native", MPI_INFO_NULL));
  CHECK_MPI(MPI_File_get_view(fh, &disp, &etype, &ftype, datarep));
  CHECK(disp == 3000 && etype == MPI_BYTE && ftype == MPI_BYTE && strcmp(datarep, "native") == 0);
  fill(out, rank + 10, 100);
  CHECK_MPI(MPI_File_write_at_all(fh, rank * 100, out, 100, MPI_BYTE, MPI_STATUS_IGNORE));
  CHECK_MPI(MPI_File_set_view(fh, 0, MPI_BYTE, MPI_BYTE, "native", MPI_INFO_NULL));
  CHECK_MPI(
      MPI_File_read_at(fh, 3000 + ((rank + 2) % size) * 100, in, 100, MPI_BYTE, MPI_STATUS_IGNORE));
  expect(in, (rank + 2) % size + 10, 100);
  CHECK_CLASS(MPI_File_set_view(fh, 0, MPI_BYTE, MPI_BYTE, "external32", MPI_INFO_NULL),
              MPI_ERR_UNSUPPORTED_DATAREP);
  CHECK_MPI(MPI_File_get_atomicity(fh, &flag));
  CHECK(flag == 0);
  CHECK_MPI(MPI_File_set_atomicity(fh, 1));
  CHECK_MPI(MPI_File_get_atomicity(fh, &flag));
  CHECK(flag == 1);
  CHECK_MPI(MPI_File_close(&fh));
}

/* Error classes: the file exists (EXCL), is missing, is read-only; amode errors. */
static void error_classes(const char *name, const char *missing) {
  MPI_File fh = MPI_FILE_NULL;
  char buf[8] = {0};
  CHECK_CLASS(MPI_File_open(MPI_COMM_WORLD, name, MPI_MODE_CREATE | MPI_MODE_EXCL | MPI_MODE_RDWR,
                            MPI_INFO_NULL, &fh),
              MPI_ERR_FILE_EXISTS);
  CHECK(fh == MPI_FILE_NULL);
  CHECK_CLASS(MPI_File_open(MPI_COMM_WORLD, missing, MPI_MODE_RDONLY, MPI_INFO_NULL, &fh),
              MPI_ERR_NO_SUCH_FILE);
  CHECK_CLASS(
      MPI_File_open(MPI_COMM_WORLD, name, MPI_MODE_RDONLY | MPI_MODE_CREATE, MPI_INFO_NULL, &fh),
      MPI_ERR_AMODE);
  CHECK_CLASS(
      MPI_File_open(MPI_COMM_WORLD, name, MPI_MODE_RDONLY | MPI_MODE_RDWR, MPI_INFO_NULL, &fh),
      MPI_ERR_AMODE);
  CHECK_MPI(MPI_File_open(MPI_COMM_WORLD, name, MPI_MODE_RDONLY, MPI_INFO_NULL, &fh));
  CHECK_CLASS(MPI_File_write_at(fh, 0, buf, 8, MPI_CHAR, MPI_STATUS_IGNORE), MPI_ERR_READ_ONLY);
  /* No shared file pointer on pdm: a clean error, not a crash. */
  CHECK_CLASS(MPI_File_read_shared(fh, buf, 8, MPI_CHAR, MPI_STATUS_IGNORE),
              MPI_ERR_UNSUPPORTED_OPERATION);
  CHECK_MPI(MPI_File_close(&fh));
  /* The handle is a real MPI_File: Fortran conversion and error handlers work. */
  CHECK_MPI(MPI_File_open(MPI_COMM_WORLD, name, MPI_MODE_RDWR, MPI_INFO_NULL, &fh));
  {
    MPI_Fint f = MPI_File_c2f(fh);
    MPI_File back = MPI_File_f2c(f);
    MPI_Errhandler eh;
    MPI_Offset fsize;
    CHECK(back == fh);
    CHECK_MPI(MPI_File_get_size(back, &fsize));
    CHECK(fsize == 20000);
    CHECK_MPI(MPI_File_get_errhandler(fh, &eh));
    CHECK(eh == MPI_ERRORS_RETURN);
    CHECK_MPI(MPI_Errhandler_free(&eh));
  }
  CHECK_MPI(MPI_File_close(&fh));
}

static int handler_calls;
static void counting_handler(MPI_File *fh, int *code, ...) {
  (void)fh;
  (void)code;
  ++handler_calls;
}

/* The shim keeps the real handles of closed pdm files for the next opens: a
 * handle opened after another was closed is a new file all the same. It has
 * the error handler of MPI_FILE_NULL, not the closed file's, however often
 * handles are reused. */
static void handles_reused_as_new(const char *name) {
  MPI_File fh, closed = MPI_FILE_NULL;
  MPI_Errhandler counting, got;
  char buf[8] = {0};
  int i;
  CHECK_MPI(MPI_File_create_errhandler(counting_handler, &counting));
  for (i = 0; i < 3; ++i) {
    CHECK_MPI(MPI_File_open(MPI_COMM_WORLD, name, MPI_MODE_RDONLY, MPI_INFO_NULL, &fh));
    /* Reused indeed (else this test would not test the reuse). */
    if (i > 0) CHECK(fh == closed);
    CHECK_MPI(MPI_File_get_errhandler(fh, &got));
    CHECK(got == MPI_ERRORS_RETURN);
    CHECK_MPI(MPI_Errhandler_free(&got));
    CHECK_CLASS(MPI_File_write_at(fh, 0, buf, 8, MPI_CHAR, MPI_STATUS_IGNORE), MPI_ERR_READ_ONLY);
    CHECK(handler_calls == i);
    /* This file's errors go to the counting handler. */
    CHECK_MPI(MPI_File_set_errhandler(fh, counting));
    MPI_File_write_at(fh, 0, buf, 8, MPI_CHAR, MPI_STATUS_IGNORE);
    CHECK(handler_calls == i + 1);
    closed = fh;
    CHECK_MPI(MPI_File_close(&fh));
    CHECK(fh == MPI_FILE_NULL);
  }
  CHECK_MPI(MPI_Errhandler_free(&counting));
}

/* delete: once (rank 0), then the name is gone for everyone. */
static void deletion(const char *name) {
  MPI_File fh;
  if (rank == 0) CHECK_MPI(MPI_File_delete(name, MPI_INFO_NULL));
  MPI_Barrier(MPI_COMM_WORLD);
  CHECK_CLASS(MPI_File_open(MPI_COMM_WORLD, name, MPI_MODE_RDONLY, MPI_INFO_NULL, &fh),
              MPI_ERR_NO_SUCH_FILE);
  if (rank == 1) CHECK_CLASS(MPI_File_delete(name, MPI_INFO_NULL), MPI_ERR_NO_SUCH_FILE);
  /* DELETE_ON_CLOSE */
  CHECK_MPI(MPI_File_open(MPI_COMM_WORLD, "pdm:/scratch",
                          MPI_MODE_CREATE | MPI_MODE_WRONLY | MPI_MODE_DELETE_ON_CLOSE,
                          MPI_INFO_NULL, &fh));
  CHECK_MPI(MPI_File_close(&fh));
  CHECK_CLASS(MPI_File_open(MPI_COMM_WORLD, "pdm:/scratch", MPI_MODE_RDONLY, MPI_INFO_NULL, &fh),
              MPI_ERR_NO_SUCH_FILE);
}

/* A name outside pdm goes to the real MPI-IO: the bytes land in the local
 * file; and pdm names never touch the local file system. */
static void pass_through(const char *plain) {
  char path[4096], out[kBlock], in[kBlock];
  MPI_File fh;
  struct stat sb;
  snprintf(path, sizeof path, "%s/native.dat", plain);
  fill(out, rank, kBlock);
  CHECK_MPI(
      MPI_File_open(MPI_COMM_WORLD, path, MPI_MODE_CREATE | MPI_MODE_WRONLY, MPI_INFO_NULL, &fh));
  CHECK_MPI(MPI_File_write_at_all(fh, (MPI_Offset)rank * kBlock, out, kBlock, MPI_CHAR,
                                  MPI_STATUS_IGNORE));
  CHECK_MPI(MPI_File_close(&fh));
  if (rank == 0) {
    FILE *f = fopen(path, "rb");
    int r;
    CHECK(f != NULL);
    for (r = 0; r < size; ++r) {
      CHECK(fread(in, 1, kBlock, f) == kBlock);
      expect(in, r, kBlock);
    }
    fclose(f);
    CHECK(stat("/pdm", &sb) != 0);
  }
  MPI_Barrier(MPI_COMM_WORLD);
}

int main(int argc, char **argv) {
  int provided = -1;
  CHECK(argc >= 2);
  CHECK_MPI(MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided));
  /* The level asked for is reported (pdm runs MPI_THREAD_MULTIPLE underneath). */
  CHECK(provided == MPI_THREAD_FUNNELED);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  explicit_offsets("/pdm/basic");
  lazy_sizes("/pdm/lazy");
  sizes_and_byte_views("pdm:/basic");
  error_classes("/pdm/basic", "/pdm/missing");
  handles_reused_as_new("/pdm/basic");
  deletion("/pdm/basic");
  pass_through(argv[1]);
  CHECK_MPI(MPI_Finalize());
  if (rank == 0) printf("mpiio_basic: ok\n");
  return 0;
}

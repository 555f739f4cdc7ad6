/* mpiio_views: file views with derived datatypes (vector, indexed, subarray;
 * flattened as ROMIO does), non-contiguous memory types, zero-length views
 * and zero-byte requests, individual file pointers, nonblocking I/O through
 * generalized requests, and the handle queries (info, view, amode, group,
 * preallocate). Every check runs on a pdm file through the shim and, as a
 * reference for what MPI-IO does, on a file of the plain directory argv[1]
 * through the real MPI-IO. 4 ranks. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

enum { kN = 8, kB = 3 };

static int rank, size;

static void open_fresh(const char *name, MPI_File *fh) {
  if (rank == 0) MPI_File_delete(name, MPI_INFO_NULL);
  MPI_Barrier(MPI_COMM_WORLD);
  CHECK_MPI(
      MPI_File_open(MPI_COMM_WORLD, name, MPI_MODE_CREATE | MPI_MODE_RDWR, MPI_INFO_NULL, fh));
}

/* Interleaved vector views: rank r owns blocks r, r+size, ... of kB ints. */
static void vector_view(const char *name) {
  MPI_File fh;
  MPI_Datatype ftype;
  MPI_Status st;
  int out[kN * kB], in[kN * kB], i, count;
  open_fresh(name, &fh);
  CHECK_MPI(MPI_Type_vector(kN, kB, kB * size, MPI_INT, &ftype));
  CHECK_MPI(MPI_Type_commit(&ftype));
  CHECK_MPI(MPI_File_set_view(fh, (MPI_Offset)rank * kB * sizeof(int), MPI_INT, ftype, "native",
                              MPI_INFO_NULL));
  for (i = 0; i < kN * kB; ++i) out[i] = rank * 1000 + i;
  CHECK_MPI(MPI_File_write_all(fh, out, kN * kB, MPI_INT, &st));
  CHECK_MPI(MPI_Get_count(&st, MPI_INT, &count));
  CHECK(count == kN * kB);
  /* The collective write is visible to every rank at once: read the whole
   * file through a byte view. */
  CHECK_MPI(MPI_File_set_view(fh, 0, MPI_BYTE, MPI_BYTE, "native", MPI_INFO_NULL));
  {
    int *all = malloc(sizeof(int) * kN * kB * size);
    int j;
    CHECK(all != NULL);
    CHECK_MPI(MPI_File_read_at(fh, 0, all, kN * kB * size, MPI_INT, &st));
    for (j = 0; j < kN * size; ++j) {
      for (i = 0; i < kB; ++i) {
        int owner = j % size, k = (j / size) * kB + i;
        CHECK(all[j * kB + i] == owner * 1000 + k);
      }
    }
    free(all);
  }
  /* Back to the view: explicit offsets count etypes inside it. */
  CHECK_MPI(MPI_File_set_view(fh, (MPI_Offset)rank * kB * sizeof(int), MPI_INT, ftype, "native",
                              MPI_INFO_NULL));
  memset(in, 0, sizeof in);
  CHECK_MPI(MPI_File_read_at_all(fh, 2, in, kB * 2, MPI_INT, &st));
  for (i = 0; i < kB * 2; ++i) CHECK(in[i] == rank * 1000 + 2 + i);
  CHECK_MPI(MPI_Type_free(&ftype));
  CHECK_MPI(MPI_File_close(&fh));
}

/* An indexed filetype resized to a tile per rank, and a strided memory type. */
static void indexed_view(const char *name) {
  MPI_File fh;
  MPI_Datatype idx, ftype, mtype;
  int lengths[2] = {2, 1}, displs[2] = {0, 3};
  int out[6], in[3 * 4], i;
  open_fresh(name, &fh);
  CHECK_MPI(MPI_Type_indexed(2, lengths, displs, MPI_INT, &idx));
  CHECK_MPI(MPI_Type_create_resized(idx, 0, (MPI_Aint)(4 * size * sizeof(int)), &ftype));
  CHECK_MPI(MPI_Type_commit(&ftype));
  /* Memory: every other int of `out` (3 of 6). */
  CHECK_MPI(MPI_Type_vector(3, 1, 2, MPI_INT, &mtype));
  CHECK_MPI(MPI_Type_commit(&mtype));
  for (i = 0; i < 6; ++i) out[i] = i % 2 == 0 ? rank * 100 + i / 2 : -1;
  CHECK_MPI(MPI_File_set_view(fh, (MPI_Offset)rank * 4 * sizeof(int), MPI_INT, ftype, "native",
                              MPI_INFO_NULL));
  CHECK_MPI(MPI_File_write_at_all(fh, 0, out, 1, mtype, MPI_STATUS_IGNORE));
  /* Rank tile: ints 0,1 and 3 of its 4; int 2 is a hole. */
  CHECK_MPI(MPI_File_set_view(fh, 0, MPI_INT, MPI_INT, "native", MPI_INFO_NULL));
  CHECK_MPI(MPI_File_read_at(fh, ((rank + 1) % size) * 4, in, 4, MPI_INT, MPI_STATUS_IGNORE));
  {
    int o = (rank + 1) % size;
    CHECK(in[0] == o * 100 && in[1] == o * 100 + 1 && in[3] == o * 100 + 2);
  }
  CHECK_MPI(MPI_Type_free(&mtype));
  CHECK_MPI(MPI_Type_free(&ftype));
  CHECK_MPI(MPI_Type_free(&idx));
  CHECK_MPI(MPI_File_close(&fh));
}

/* A 2-D array of doubles in quadrants (2 x 2 ranks): subarray filetypes, and
 * a subarray memory type (the interior of a local array with ghost cells). */
static void subarray_view(const char *name) {
  enum { kRows = 6, kCols = 10 };
  MPI_File fh;
  MPI_Datatype ftype, mtype;
  int gsizes[2] = {2 * kRows, 2 * kCols}, lsizes[2] = {kRows, kCols};
  int starts[2], msizes[2] = {kRows + 2, kCols + 2}, mstarts[2] = {1, 1};
  double local[(kRows + 2) * (kCols + 2)], *all;
  int r, c;
  CHECK(size == 4);
  open_fresh(name, &fh);
  starts[0] = (rank / 2) * kRows;
  starts[1] = (rank % 2) * kCols;
  CHECK_MPI(MPI_Type_create_subarray(2, gsizes, lsizes, starts, MPI_ORDER_C, MPI_DOUBLE, &ftype));
  CHECK_MPI(MPI_Type_commit(&ftype));
  CHECK_MPI(MPI_Type_create_subarray(2, msizes, lsizes, mstarts, MPI_ORDER_C, MPI_DOUBLE, &mtype));
  CHECK_MPI(MPI_Type_commit(&mtype));
  for (r = 0; r < kRows + 2; ++r) {
    for (c = 0; c < kCols + 2; ++c) {
      int gr = starts[0] + r - 1, gc = starts[1] + c - 1;
      int ghost = r == 0 || c == 0 || r == kRows + 1 || c == kCols + 1;
      local[r * (kCols + 2) + c] = ghost ? -1.0 : gr * 100.0 + gc;
    }
  }
  CHECK_MPI(MPI_File_set_view(fh, 0, MPI_DOUBLE, ftype, "native", MPI_INFO_NULL));
  CHECK_MPI(MPI_File_write_all(fh, local, 1, mtype, MPI_STATUS_IGNORE));
  all = malloc(sizeof(double) * 4 * kRows * kCols);
  CHECK(all != NULL);
  CHECK_MPI(MPI_File_set_view(fh, 0, MPI_BYTE, MPI_BYTE, "native", MPI_INFO_NULL));
  CHECK_MPI(MPI_File_read_at_all(fh, 0, all, 4 * kRows * kCols, MPI_DOUBLE, MPI_STATUS_IGNORE));
  for (r = 0; r < 2 * kRows; ++r) {
    for (c = 0; c < 2 * kCols; ++c) CHECK(all[r * 2 * kCols + c] == r * 100.0 + c);
  }
  /* Read the quadrant back through the views into the ghosted array. */
  memset(local, 0, sizeof local);
  CHECK_MPI(MPI_File_set_view(fh, 0, MPI_DOUBLE, ftype, "native", MPI_INFO_NULL));
  CHECK_MPI(MPI_File_read_at_all(fh, 0, local, 1, mtype, MPI_STATUS_IGNORE));
  CHECK(local[0] == 0.0);
  CHECK(local[1 * (kCols + 2) + 1] == starts[0] * 100.0 + starts[1]);
  CHECK(local[kRows * (kCols + 2) + kCols] ==
        (starts[0] + kRows - 1) * 100.0 + starts[1] + kCols - 1);
  free(all);
  CHECK_MPI(MPI_Type_free(&mtype));
  CHECK_MPI(MPI_Type_free(&ftype));
  CHECK_MPI(MPI_File_close(&fh));
}

/* Rank 3 takes part in collectives with a zero-length view and zero-byte
 * requests, as HDF5 does for ranks with nothing selected. */
static void zero_length(const char *name) {
  MPI_File fh;
  MPI_Datatype empty;
  MPI_Status st;
  int v = rank, count = -1;
  MPI_Offset fsize;
  open_fresh(name, &fh);
  CHECK_MPI(MPI_Type_contiguous(0, MPI_INT, &empty));
  CHECK_MPI(MPI_Type_commit(&empty));
  if (rank == 3) {
    CHECK_MPI(MPI_File_set_view(fh, 0, MPI_INT, empty, "native", MPI_INFO_NULL));
  } else {
    CHECK_MPI(MPI_File_set_view(fh, 0, MPI_INT, MPI_INT, "native", MPI_INFO_NULL));
  }
  CHECK_MPI(MPI_File_write_at_all(fh, rank, &v, rank == 3 ? 0 : 1, MPI_INT, &st));
  CHECK_MPI(MPI_Get_count(&st, MPI_INT, &count));
  CHECK(count == (rank == 3 ? 0 : 1));
  CHECK_MPI(MPI_File_read_at_all(fh, 0, &v, rank == 3 ? 0 : 1, MPI_INT, &st));
  CHECK_MPI(MPI_Get_count(&st, MPI_INT, &count));
  CHECK(count == (rank == 3 ? 0 : 1));
  CHECK_MPI(MPI_File_get_size(fh, &fsize));
  CHECK(fsize == 3 * (MPI_Offset)sizeof(int));
  CHECK_MPI(MPI_Type_free(&empty));
  CHECK_MPI(MPI_File_close(&fh));
}

/* Individual file pointers: write/read move them; seek (set, cur, end);
 * get_position and get_byte_offset are in etypes of the view. */
static void pointers(const char *name) {
  MPI_File fh;
  MPI_Offset pos, byte;
  int v[4] = {1, 2, 3, 4}, w[4] = {0};
  open_fresh(name, &fh);
  CHECK_MPI(
      MPI_File_set_view(fh, (MPI_Offset)rank * 64, MPI_INT, MPI_INT, "native", MPI_INFO_NULL));
  CHECK_MPI(MPI_File_write(fh, v, 2, MPI_INT, MPI_STATUS_IGNORE));
  CHECK_MPI(MPI_File_get_position(fh, &pos));
  CHECK(pos == 2);
  CHECK_MPI(MPI_File_write_all(fh, v + 2, 2, MPI_INT, MPI_STATUS_IGNORE));
  CHECK_MPI(MPI_File_get_position(fh, &pos));
  CHECK(pos == 4);
  CHECK_MPI(MPI_File_get_byte_offset(fh, pos, &byte));
  CHECK(byte == rank * 64 + 16);
  /* MPI-3.1 §13.6.1 asks for a sync before reading (OMPIO needs it); pdm does not. */
  CHECK_MPI(MPI_File_sync(fh));
  CHECK_MPI(MPI_File_seek(fh, 1, MPI_SEEK_SET));
  CHECK_MPI(MPI_File_read(fh, w, 2, MPI_INT, MPI_STATUS_IGNORE));
  CHECK(w[0] == 2 && w[1] == 3);
  CHECK_MPI(MPI_File_seek(fh, -3, MPI_SEEK_CUR));
  CHECK_MPI(MPI_File_read_all(fh, w, 1, MPI_INT, MPI_STATUS_IGNORE));
  CHECK(w[0] == 1);
  /* The file ends at rank 3's 4th int: 3 * 64 + 16 bytes. */
  CHECK_MPI(MPI_File_seek(fh, 0, MPI_SEEK_END));
  CHECK_MPI(MPI_File_get_position(fh, &pos));
  CHECK(pos == (3 * 64 + 16 - rank * 64) / 4);
  CHECK_MPI(MPI_File_close(&fh));
}

/* Nonblocking I/O completes through MPI_Wait, MPI_Test and MPI_Waitall with
 * the right status. */
static void nonblocking(const char *name) {
  MPI_File fh;
  MPI_Request req[2];
  MPI_Status st[2];
  int v[4] = {rank, rank + 1, rank + 2, rank + 3}, w[4] = {0}, count = -1, done = 0;
  open_fresh(name, &fh);
  CHECK_MPI(MPI_File_iwrite_at(fh, rank * 16, v, 4, MPI_INT, &req[0]));
  CHECK_MPI(MPI_Wait(&req[0], &st[0]));
  CHECK(req[0] == MPI_REQUEST_NULL);
  CHECK_MPI(MPI_Get_count(&st[0], MPI_INT, &count));
  CHECK(count == 4);
  CHECK_MPI(MPI_File_sync(fh));
  CHECK_MPI(MPI_File_iread_at(fh, ((rank + 1) % size) * 16, w, 4, MPI_INT, &req[0]));
  while (!done) CHECK_MPI(MPI_Test(&req[0], &done, &st[0]));
  CHECK_MPI(MPI_Get_count(&st[0], MPI_INT, &count));
  CHECK(count == 4 && w[0] == (rank + 1) % size && w[3] == (rank + 1) % size + 3);
  CHECK_MPI(MPI_File_seek(fh, rank * 16 + 64 * size, MPI_SEEK_SET));
  CHECK_MPI(MPI_File_iwrite(fh, v, 2, MPI_INT, &req[0]));
  CHECK_MPI(MPI_File_iwrite(fh, v + 2, 2, MPI_INT, &req[1]));
  CHECK_MPI(MPI_Waitall(2, req, st));
  CHECK_MPI(MPI_File_seek(fh, rank * 16 + 64 * size, MPI_SEEK_SET));
  memset(w, 0, sizeof w);
  CHECK_MPI(MPI_File_iread(fh, w, 4, MPI_INT, &req[0]));
  CHECK_MPI(MPI_Wait(&req[0], MPI_STATUS_IGNORE));
  CHECK(w[0] == rank && w[3] == rank + 3);
  CHECK_MPI(MPI_File_close(&fh));
}

/* Info, view, amode, group and preallocate queries. */
static void queries(const char *name, int pdm) {
  MPI_File fh;
  MPI_Info info, got;
  MPI_Group fgroup, wgroup;
  MPI_Offset disp, fsize;
  MPI_Datatype etype, ftype, vec;
  char datarep[MPI_MAX_DATAREP_STRING], value[64];
  int amode, flag = 0, cmp, ni, na, nt, combiner;
  if (rank == 0) MPI_File_delete(name, MPI_INFO_NULL);
  MPI_Barrier(MPI_COMM_WORLD);
  MPI_Info_create(&info);
  MPI_Info_set(info, "pdm_test_hint", "42");
  CHECK_MPI(MPI_File_open(MPI_COMM_WORLD, name, MPI_MODE_CREATE | MPI_MODE_WRONLY, info, &fh));
  CHECK_MPI(MPI_File_get_amode(fh, &amode));
  CHECK(amode == (MPI_MODE_CREATE | MPI_MODE_WRONLY));
  CHECK_MPI(MPI_File_get_group(fh, &fgroup));
  MPI_Comm_group(MPI_COMM_WORLD, &wgroup);
  MPI_Group_compare(fgroup, wgroup, &cmp);
  CHECK(cmp == MPI_IDENT);
  MPI_Group_free(&fgroup);
  MPI_Group_free(&wgroup);
  if (pdm) {
    /* The real MPI-IO keeps only the hints it knows; pdm keeps them all. */
    CHECK_MPI(MPI_File_get_info(fh, &got));
    MPI_Info_get(got, "pdm_test_hint", sizeof value - 1, value, &flag);
    CHECK(flag && strcmp(value, "42") == 0);
    MPI_Info_free(&got);
    MPI_Info_set(info, "pdm_test_hint", "43");
    CHECK_MPI(MPI_File_set_info(fh, info));
    CHECK_MPI(MPI_File_get_info(fh, &got));
    MPI_Info_get(got, "pdm_test_hint", sizeof value - 1, value, &flag);
    CHECK(flag && strcmp(value, "43") == 0);
    MPI_Info_free(&got);
  }
  MPI_Info_free(&info);
  CHECK_MPI(MPI_Type_vector(2, 1, 4, MPI_INT, &vec));
  CHECK_MPI(MPI_Type_commit(&vec));
  CHECK_MPI(MPI_File_set_view(fh, 128, MPI_INT, vec, "native", MPI_INFO_NULL));
  CHECK_MPI(MPI_Type_free(&vec));
  /* The view keeps its own copy of the filetype; get_view returns a new one. */
  CHECK_MPI(MPI_File_get_view(fh, &disp, &etype, &ftype, datarep));
  CHECK(disp == 128 && etype == MPI_INT && strcmp(datarep, "native") == 0);
  MPI_Type_get_envelope(ftype, &ni, &na, &nt, &combiner);
  CHECK(combiner != MPI_COMBINER_NAMED);
  CHECK_MPI(MPI_Type_free(&ftype));
  CHECK_MPI(MPI_File_preallocate(fh, 10000));
  CHECK_MPI(MPI_File_get_size(fh, &fsize));
  CHECK(fsize >= 10000);
  CHECK_MPI(MPI_File_close(&fh));
}

static void run_all(const char *dir, int pdm) {
  char name[4096];
#define NAME(n) (snprintf(name, sizeof name, "%s/%s", dir, n), name)
  vector_view(NAME("vector"));
  indexed_view(NAME("indexed"));
  subarray_view(NAME("subarray"));
  zero_length(NAME("zero"));
  pointers(NAME("pointers"));
  /* Not on the real MPI-IO: OMPIO's nonblocking requests are not safe with
   * pdm's progress thread in the process (docs/MPIIO.md, Limits; it crashed
   * in mca_common_ompio_progress). The pdm case checks its own values. */
  if (pdm) nonblocking(NAME("nonblocking"));
  queries(NAME("queries"), pdm);
#undef NAME
}

int main(int argc, char **argv) {
  CHECK(argc >= 2);
  CHECK_MPI(MPI_Init(&argc, &argv));
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  run_all(argv[1], 0);
  run_all("/pdm", 1);
  CHECK_MPI(MPI_Finalize());
  if (rank == 0) printf("mpiio_views: ok\n");
  return 0;
}

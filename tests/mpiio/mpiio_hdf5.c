/* mpiio_hdf5: an unmodified parallel HDF5 1.10 program (the openmpi flavour)
 * on pdm through the shim. It writes four datasets — contiguous and chunked,
 * each with collective and independent transfers — then reopens the file
 * and reads every dataset back, each rank reading another rank's rows, both
 * ways, and checks the values. It does the same on a plain directory
 * (argv[1]) through the real MPI-IO, so check_hdf5.sh can compare the two
 * files (the program turns object time tracking off, so the bytes do not
 * depend on the clock).
 *
 *   mpiio_hdf5 PLAIN [write|read]
 * With a phase, only that phase runs, on /pdm/shim.h5 only: recall.sh writes,
 * migrates and releases the file with pdm-hsm, then reads it back in a
 * second job (the shim's recall agent brings the data back). */
#include <hdf5.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

enum { kRowsPerRank = 64, kCols = 256 };

static int rank, size;

static const char *const kNames[4] = {"contig_collective", "contig_independent",
                                      "chunked_collective", "chunked_independent"};

static int value(int dataset, long row, long col) {
  return dataset * 1000000 + (int)(row * kCols + col);
}

static hid_t file_access(void) {
  hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
  CHECK(fapl >= 0);
  CHECK(H5Pset_fapl_mpio(fapl, MPI_COMM_WORLD, MPI_INFO_NULL) >= 0);
  return fapl;
}

static hid_t transfer(int dataset) {
  hid_t dxpl = H5Pcreate(H5P_DATASET_XFER);
  CHECK(dxpl >= 0);
  CHECK(H5Pset_dxpl_mpio(dxpl, dataset % 2 == 0 ? H5FD_MPIO_COLLECTIVE : H5FD_MPIO_INDEPENDENT) >=
        0);
  return dxpl;
}

/* The rows of rank `owner` in the file, and a memory space of that shape. */
static void select_rows(hid_t filespace, int owner, hid_t *memspace) {
  hsize_t start[2] = {(hsize_t)owner * kRowsPerRank, 0};
  hsize_t count[2] = {kRowsPerRank, kCols};
  CHECK(H5Sselect_hyperslab(filespace, H5S_SELECT_SET, start, NULL, count, NULL) >= 0);
  *memspace = H5Screate_simple(2, count, NULL);
  CHECK(*memspace >= 0);
}

static void write_file(const char *name) {
  hid_t fapl = file_access();
  hid_t fcpl = H5Pcreate(H5P_FILE_CREATE);
  hid_t file = H5Fcreate(name, H5F_ACC_TRUNC, fcpl, fapl);
  hsize_t dims[2];
  int *rows = malloc(sizeof(int) * kRowsPerRank * kCols);
  int d;
  CHECK(file >= 0 && rows != NULL);
  dims[0] = (hsize_t)size * kRowsPerRank;
  dims[1] = kCols;
  for (d = 0; d < 4; ++d) {
    hid_t space = H5Screate_simple(2, dims, NULL);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    hid_t dset, memspace, dxpl;
    long r, c;
    CHECK(H5Pset_obj_track_times(dcpl, 0) >= 0);
    if (d >= 2) {
      hsize_t chunk[2] = {kRowsPerRank / 2, kCols / 4};
      CHECK(H5Pset_chunk(dcpl, 2, chunk) >= 0);
    }
    dset = H5Dcreate2(file, kNames[d], H5T_NATIVE_INT, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    CHECK(dset >= 0);
    for (r = 0; r < kRowsPerRank; ++r) {
      for (c = 0; c < kCols; ++c) rows[r * kCols + c] = value(d, (long)rank * kRowsPerRank + r, c);
    }
    select_rows(space, rank, &memspace);
    dxpl = transfer(d);
    CHECK(H5Dwrite(dset, H5T_NATIVE_INT, memspace, space, dxpl, rows) >= 0);
    H5Pclose(dxpl);
    H5Sclose(memspace);
    H5Dclose(dset);
    H5Pclose(dcpl);
    H5Sclose(space);
  }
  free(rows);
  CHECK(H5Fclose(file) >= 0);
  H5Pclose(fcpl);
  H5Pclose(fapl);
}

static void read_file(const char *name) {
  hid_t fapl = file_access();
  hid_t file = H5Fopen(name, H5F_ACC_RDONLY, fapl);
  int *rows = malloc(sizeof(int) * kRowsPerRank * kCols);
  int owner = (rank + 1) % size, d;
  CHECK(file >= 0 && rows != NULL);
  for (d = 0; d < 4; ++d) {
    hid_t dset = H5Dopen2(file, kNames[d], H5P_DEFAULT);
    hid_t space = H5Dget_space(dset);
    hid_t memspace, dxpl = transfer(d);
    long r, c;
    CHECK(dset >= 0 && space >= 0);
    select_rows(space, owner, &memspace);
    CHECK(H5Dread(dset, H5T_NATIVE_INT, memspace, space, dxpl, rows) >= 0);
    for (r = 0; r < kRowsPerRank; ++r) {
      for (c = 0; c < kCols; ++c) {
        CHECK(rows[r * kCols + c] == value(d, (long)owner * kRowsPerRank + r, c));
      }
    }
    H5Pclose(dxpl);
    H5Sclose(memspace);
    H5Sclose(space);
    H5Dclose(dset);
  }
  free(rows);
  CHECK(H5Fclose(file) >= 0);
  H5Pclose(fapl);
}

int main(int argc, char **argv) {
  char native[4096];
  CHECK(argc >= 2);
  CHECK_MPI(MPI_Init(&argc, &argv));
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  if (argc >= 3) {
    CHECK(strcmp(argv[2], "write") == 0 || strcmp(argv[2], "read") == 0);
    if (strcmp(argv[2], "write") == 0) {
      write_file("/pdm/shim.h5");
    } else {
      read_file("/pdm/shim.h5");
    }
    CHECK_MPI(MPI_Finalize());
    if (rank == 0) printf("mpiio_hdf5 %s: ok\n", argv[2]);
    return 0;
  }
  snprintf(native, sizeof native, "%s/native.h5", argv[1]);
  write_file("/pdm/shim.h5");
  read_file("/pdm/shim.h5");
  write_file(native);
  read_file(native);
  CHECK_MPI(MPI_Finalize());
  if (rank == 0) printf("mpiio_hdf5: ok\n");
  return 0;
}

/* Managed regions, data events, punch hole and invisible I/O through
 * <pdm/dmapi.h>, as an outside HSM would use them (C99, 4 ranks; CLAIMS.md
 * B16: the DM application frees space on the volumes; B20: events of file
 * operations on any rank). Rank 1 is the HSM. It copies three files away
 * with dm_read_invis, releases them (dm_punch_hole) and puts a
 * READ|WRITE|TRUNCATE region over them; ranks 0, 2, 3 (which opened and read
 * their file before) read them again, the HSM answers each READ event by
 * restoring the data with dm_write_invis and clearing the region, and every
 * reader gets its original bytes. Then: a WRITE event aborted with EPERM, a
 * TRUNCATE event continued, a region event without disposition (EIO), a
 * punched range without region (EIO, never zeros, until rewritten), regions
 * surviving a remount, and the errno paths. */
#define _POSIX_C_SOURCE 200809L /* st_mtim of struct stat */
#include <errno.h>
#include <fcntl.h>
#include <mpi.h>
#include <pdm/dmapi.h>
#include <pdm/pdm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "port_check.h"

static int rank;

enum { kDm = 1, kMiB = 1 << 20 };
/* Three stripes and a bit: every volume holds part of each file. */
static const size_t kDataSize = 3 * kMiB + 5000;
static const size_t kPSize = 2 * kMiB;

static void fill(unsigned char *buf, size_t n, int seed) {
  size_t i;
  for (i = 0; i < n; ++i) buf[i] = (unsigned char)((i * 131 + (size_t)seed * 7 + 1) & 0xff);
}

static void write_file(const char *path, size_t n, int seed) {
  unsigned char *buf = malloc(n);
  int fd;
  CHECK(buf != NULL, "malloc");
  fill(buf, n, seed);
  fd = pdm_open(path, O_CREAT | O_TRUNC | O_WRONLY, 0644);
  CHECK(fd >= 0, "create %s", path);
  CHECK(pdm_pwrite(fd, buf, n, 0) == (ssize_t)n, "write %s", path);
  CHECK(pdm_close(fd) == 0, "close %s", path);
  free(buf);
}

/* True if buf holds the pattern of `seed` for file bytes [off, off + n). */
static int holds_pattern(const unsigned char *buf, size_t off, size_t n, int seed) {
  size_t i;
  for (i = 0; i < n; ++i) {
    if (buf[i] != (unsigned char)(((off + i) * 131 + (size_t)seed * 7 + 1) & 0xff)) return 0;
  }
  return 1;
}

static void data_path(char *path, size_t len, int r) {
  snprintf(path, len, "/data-%d", r);
}

static void handle_of(const char *path, void **hanp, size_t *hlen) {
  CHECK(dm_path_to_handle((char *)path, hanp, hlen) == 0, "dm_path_to_handle %s", path);
}

static void set_one_region(dm_sessid_t sid, void *h, size_t hl, dm_off_t off, dm_size_t size,
                           unsigned int flags) {
  dm_region_t region;
  dm_boolean_t exact = DM_FALSE;
  memset(&region, 0, sizeof region);
  region.rg_offset = off;
  region.rg_size = size;
  region.rg_flags = flags;
  CHECK(dm_set_region(sid, h, hl, DM_NO_TOKEN, 1, &region, &exact) == 0 && exact == DM_TRUE,
        "dm_set_region");
}

/* Waits for exactly one event and returns it (in a static buffer). */
static dm_eventmsg_t *next_event(dm_sessid_t sid) {
  static char buf[65536];
  size_t rlen = 0;
  dm_eventmsg_t *m;
  CHECK(dm_get_events(sid, 1, DM_EV_WAIT, sizeof buf, buf, &rlen) == 0, "dm_get_events");
  m = (dm_eventmsg_t *)buf;
  CHECK(DM_STEP_TO_NEXT(m, dm_eventmsg_t *) == NULL, "one message asked for, one given");
  return m;
}

static void errno_paths(dm_sessid_t sid, void *fsh, size_t fshlen) {
  void *h = NULL, *gone = NULL;
  size_t hl = 0, gonelen = 0;
  dm_region_t regions[2];
  dm_boolean_t exact;
  unsigned int n = 0;
  char junk[3] = {1, 2, 3};
  dm_off_t roff = 0, off = 0;
  dm_size_t rlen = 0;
  dm_extent_t ext[4];
  char byte = 0;
  int fd;
  write_file("/errno", 3 * 4096, 9);
  handle_of("/errno", &h, &hl);
  memset(regions, 0, sizeof regions);
  regions[0].rg_offset = 0;
  regions[0].rg_size = 4096;
  regions[0].rg_flags = DM_REGION_READ;
  regions[1].rg_offset = 8192;
  regions[1].rg_size = 0;
  regions[1].rg_flags = DM_REGION_WRITE | DM_REGION_TRUNCATE;
  CHECK(dm_set_region(sid, junk, sizeof junk, DM_NO_TOKEN, 1, regions, &exact) == -1 &&
            errno == EBADF,
        "not a handle: EBADF");
  CHECK(dm_set_region(sid, fsh, fshlen, DM_NO_TOKEN, 1, regions, &exact) == -1 && errno == EINVAL,
        "a file system handle: EINVAL");
  CHECK(dm_set_region(999999, h, hl, DM_NO_TOKEN, 1, regions, &exact) == -1 && errno == EINVAL,
        "no such session: EINVAL");
  CHECK(dm_set_region(sid, h, hl, DM_NO_TOKEN, 65, regions, &exact) == -1 && errno == E2BIG,
        "more than DM_CONFIG_MAX_MANAGED_REGIONS: E2BIG");
  regions[0].rg_flags = 0x8;
  CHECK(dm_set_region(sid, h, hl, DM_NO_TOKEN, 1, regions, &exact) == -1 && errno == EINVAL,
        "unknown region flags: EINVAL");
  regions[0].rg_flags = DM_REGION_READ;
  CHECK(dm_set_region(sid, h, hl, DM_NO_TOKEN, 2, regions, &exact) == 0 && exact == DM_TRUE,
        "two regions");
  CHECK(dm_get_region(sid, h, hl, DM_NO_TOKEN, 1, regions, &n) == -1 && errno == E2BIG && n == 2,
        "dm_get_region with room for 1 of 2: E2BIG and the count");
  memset(regions, 0, sizeof regions);
  CHECK(dm_get_region(sid, h, hl, DM_NO_TOKEN, 2, regions, &n) == 0 && n == 2 &&
            regions[0].rg_offset == 0 && regions[0].rg_size == 4096 &&
            regions[0].rg_flags == DM_REGION_READ && regions[1].rg_offset == 8192 &&
            regions[1].rg_size == 0 &&
            regions[1].rg_flags == (DM_REGION_WRITE | DM_REGION_TRUNCATE),
        "dm_get_region gives the regions back exactly");
  CHECK(dm_set_region(sid, h, hl, DM_NO_TOKEN, 0, NULL, &exact) == 0, "no regions");
  CHECK(dm_get_region(sid, h, hl, DM_NO_TOKEN, 0, NULL, &n) == 0 && n == 0, "none left");
  /* dm_probe_hole: the start rounds up to 4 KiB, the end down; to the end: length 0. */
  CHECK(dm_probe_hole(sid, h, hl, DM_NO_TOKEN, 1, 8192, &roff, &rlen) == 0 && roff == 4096 &&
            rlen == 4096,
        "probe [1, 8193): [4096, 8192), got [%lld, +%llu)", (long long)roff,
        (unsigned long long)rlen);
  CHECK(dm_probe_hole(sid, h, hl, DM_NO_TOKEN, 100, 0, &roff, &rlen) == 0 && roff == 4096 &&
            rlen == 0,
        "probe to the end");
  CHECK(dm_probe_hole(sid, h, hl, DM_NO_TOKEN, 4096, 100, &roff, &rlen) == -1 && errno == EINVAL,
        "no whole block: EINVAL");
  CHECK(dm_probe_hole(sid, h, hl, DM_NO_TOKEN, 5 * 4096, 0, &roff, &rlen) == -1 && errno == E2BIG,
        "past the end of the file: E2BIG");
  CHECK(dm_punch_hole(sid, h, hl, DM_NO_TOKEN, 1, 4096) == -1 && errno == EAGAIN,
        "a punch that is not aligned: EAGAIN");
  CHECK(dm_get_allocinfo(sid, h, hl, DM_NO_TOKEN, &off, 0, ext, &n) == -1 && errno == EINVAL,
        "dm_get_allocinfo with nelem 0: EINVAL");
  CHECK(dm_write_invis(sid, h, hl, DM_NO_TOKEN, 0x40, 0, 1, &byte) == -1 && errno == EINVAL,
        "dm_write_invis with unknown flags: EINVAL");
  CHECK(dm_sync_by_handle(sid, h, hl, DM_NO_TOKEN) == 0, "dm_sync_by_handle");
  /* A handle of a file that no longer exists: EBADF. */
  fd = pdm_open("/gone", O_CREAT | O_WRONLY, 0644);
  CHECK(fd >= 0 && pdm_close(fd) == 0, "create /gone");
  handle_of("/gone", &gone, &gonelen);
  CHECK(pdm_unlink("/gone") == 0, "unlink /gone");
  CHECK(dm_read_invis(sid, gone, gonelen, DM_NO_TOKEN, 0, 1, &byte) == -1 && errno == EBADF,
        "dm_read_invis of a removed file: EBADF");
  CHECK(dm_get_region(sid, gone, gonelen, DM_NO_TOKEN, 0, NULL, &n) == -1 && errno == EBADF,
        "dm_get_region of a removed file: EBADF");
  CHECK(pdm_unlink("/errno") == 0, "unlink /errno");
  dm_handle_free(h, hl);
  dm_handle_free(gone, gonelen);
}

int main(int argc, char **argv) {
  int provided, size, r, fd = -1;
  void *fsh = NULL;
  size_t fshlen = 0;
  dm_sessid_t sid = DM_NO_SESSION;
  dm_size_t value = 0;
  unsigned char *buf;
  char path[64];
  MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  CHECK(argc == 2 && size == 4, "usage: mpiexec -n 4 dmapi_regions FS_CONFIG");
  CHECK(pdm_start(MPI_COMM_WORLD, argv[1]) == 0, "pdm_start");
  buf = malloc(kDataSize);
  CHECK(buf != NULL, "malloc");
  CHECK(dm_path_to_fshandle("/", &fsh, &fshlen) == 0, "dm_path_to_fshandle");
  CHECK(dm_get_config(fsh, fshlen, DM_CONFIG_PUNCH_HOLE, &value) == 0 && value == 1, "punch");
  CHECK(dm_get_config(fsh, fshlen, DM_CONFIG_PERS_MANAGED_REGIONS, &value) == 0 && value == 1,
        "persistent regions");
  CHECK(dm_get_config(fsh, fshlen, DM_CONFIG_MAX_MANAGED_REGIONS, &value) == 0 && value == 64,
        "64 regions per file");

  /* Every reader writes its file, keeps it open and reads it once (so it
   * caches the file's size and DM state before the HSM releases it). */
  if (rank != kDm) {
    data_path(path, sizeof path, rank);
    write_file(path, kDataSize, rank);
    fd = pdm_open(path, O_RDONLY, 0);
    CHECK(fd >= 0, "open %s", path);
    CHECK(pdm_pread(fd, buf, 100, 0) == 100 && holds_pattern(buf, 0, 100, rank), "first read");
  }
  if (rank == 0) write_file("/w", kPSize, 40);
  MPI_Barrier(MPI_COMM_WORLD);

  if (rank == kDm) {
    dm_eventset_t set = 0;
    CHECK(dm_create_session(DM_NO_SESSION, "hsm", &sid) == 0, "dm_create_session");
    /* Data events need a disposition but no event list: the regions enable them. */
    DMEV_SET(DM_EVENT_READ, set);
    DMEV_SET(DM_EVENT_WRITE, set);
    DMEV_SET(DM_EVENT_TRUNCATE, set);
    CHECK(dm_set_disp(sid, fsh, fshlen, DM_NO_TOKEN, &set, DM_EVENT_MAX) == 0, "dm_set_disp");
    errno_paths(sid, fsh, fshlen);
  }
  MPI_Bcast(&sid, 1, MPI_INT, kDm, MPI_COMM_WORLD);

  /* The HSM migrates the three files: copy away, release, guard with a region. */
  static unsigned char *copies[4];
  static void *handles[4];
  static size_t hlens[4];
  static struct stat before[4];
  if (rank == kDm) {
    for (r = 0; r < 4; ++r) {
      dm_off_t off = 0;
      dm_extent_t ext[4];
      unsigned int n = 0;
      if (r == kDm) continue;
      data_path(path, sizeof path, r);
      handle_of(path, &handles[r], &hlens[r]);
      CHECK(pdm_stat(path, &before[r]) == 0, "stat");
      copies[r] = malloc(kDataSize);
      CHECK(copies[r] != NULL, "malloc");
      CHECK(dm_read_invis(sid, handles[r], hlens[r], DM_NO_TOKEN, 0, kDataSize + 10, copies[r]) ==
                (dm_ssize_t)kDataSize,
            "dm_read_invis stops at the end of the file");
      CHECK(holds_pattern(copies[r], 0, kDataSize, r), "dm_read_invis gives the file's bytes");
      CHECK(dm_get_allocinfo(sid, handles[r], hlens[r], DM_NO_TOKEN, &off, 4, ext, &n) == 0 &&
                n == 1 && ext[0].ex_type == DM_EXTENT_RES && ext[0].ex_offset == 0 &&
                ext[0].ex_length == kDataSize,
            "a written file is one resident extent (n %u)", n);
      CHECK(dm_punch_hole(sid, handles[r], hlens[r], DM_NO_TOKEN, 0, 0) == 0, "release");
      off = 0;
      CHECK(dm_get_allocinfo(sid, handles[r], hlens[r], DM_NO_TOKEN, &off, 4, ext, &n) == 0 &&
                n == 1 && ext[0].ex_type == DM_EXTENT_HOLE && ext[0].ex_length == kDataSize,
            "B16: a released file is one hole: its blocks are freed on the volumes");
      set_one_region(sid, handles[r], hlens[r], 0, 0,
                     DM_REGION_READ | DM_REGION_WRITE | DM_REGION_TRUNCATE);
    }
  }
  MPI_Barrier(MPI_COMM_WORLD);

  /* B20: reads on three ranks raise READ; the HSM on rank 1 restores. */
  if (rank == kDm) {
    int served;
    for (served = 0; served < 3; ++served) {
      dm_eventmsg_t *m = next_event(sid);
      dm_data_event_t *de = DM_GET_VALUE(m, ev_data, dm_data_event_t *);
      void *h = DM_GET_VALUE(de, de_handle, void *);
      size_t hl = DM_GET_LEN(de, de_handle);
      int who = -1;
      dm_boolean_t exact;
      CHECK(m->ev_type == DM_EVENT_READ && m->ev_token != DM_INVALID_TOKEN, "a READ event");
      CHECK(de->de_offset == 0 && de->de_length == kDataSize, "the read's range [%lld, +%llu)",
            (long long)de->de_offset, (unsigned long long)de->de_length);
      for (r = 0; r < 4; ++r) {
        if (r != kDm && dm_handle_cmp(h, hl, handles[r], hlens[r]) == 0) who = r;
      }
      CHECK(who >= 0, "the event names one of the released files");
      CHECK(dm_write_invis(sid, h, hl, DM_NO_TOKEN, DM_WRITE_SYNC, 0, kDataSize, copies[who]) ==
                (dm_ssize_t)kDataSize,
            "restore with dm_write_invis");
      CHECK(dm_set_region(sid, h, hl, DM_NO_TOKEN, 0, NULL, &exact) == 0, "clear the region");
      CHECK(dm_respond_event(sid, m->ev_token, DM_RESP_CONTINUE, 0, 0, NULL) == 0, "continue");
    }
  } else {
    memset(buf, 0, kDataSize);
    CHECK(pdm_pread(fd, buf, kDataSize, 0) == (ssize_t)kDataSize, "read the released file");
    CHECK(holds_pattern(buf, 0, kDataSize, rank), "the reader gets the restored bytes");
    CHECK(pdm_close(fd) == 0, "close");
  }
  MPI_Barrier(MPI_COMM_WORLD);
  if (rank == kDm) {
    for (r = 0; r < 4; ++r) {
      struct stat after;
      if (r == kDm) continue;
      data_path(path, sizeof path, r);
      CHECK(pdm_stat(path, &after) == 0 && after.st_size == (off_t)kDataSize, "size kept");
      CHECK(after.st_mtim.tv_sec == before[r].st_mtim.tv_sec &&
                after.st_mtim.tv_nsec == before[r].st_mtim.tv_nsec,
            "dm_write_invis leaves mtime alone");
      dm_handle_free(handles[r], hlens[r]);
      free(copies[r]);
    }
  }

  /* WRITE aborted with EPERM, TRUNCATE continued. */
  if (rank == kDm) {
    void *h;
    size_t hl;
    dm_region_t regions[2];
    dm_boolean_t exact;
    handle_of("/w", &h, &hl);
    memset(regions, 0, sizeof regions);
    regions[0].rg_offset = 0;
    regions[0].rg_size = 4096;
    regions[0].rg_flags = DM_REGION_WRITE;
    regions[1].rg_offset = kMiB;
    regions[1].rg_size = 0;
    regions[1].rg_flags = DM_REGION_TRUNCATE;
    CHECK(dm_set_region(sid, h, hl, DM_NO_TOKEN, 2, regions, &exact) == 0, "regions of /w");
    dm_handle_free(h, hl);
  }
  MPI_Barrier(MPI_COMM_WORLD);
  if (rank == kDm) {
    int served, writes = 0, truncates = 0;
    for (served = 0; served < 2; ++served) {
      dm_eventmsg_t *m = next_event(sid);
      dm_data_event_t *de = DM_GET_VALUE(m, ev_data, dm_data_event_t *);
      if (m->ev_type == DM_EVENT_WRITE) {
        ++writes;
        CHECK(de->de_offset == 100 && de->de_length == 10, "the write's range");
        CHECK(dm_respond_event(sid, m->ev_token, DM_RESP_ABORT, EPERM, 0, NULL) == 0, "abort");
      } else {
        ++truncates;
        CHECK(m->ev_type == DM_EVENT_TRUNCATE, "a TRUNCATE event");
        CHECK(de->de_offset == (dm_off_t)(kMiB + kMiB / 2) && de->de_length == 0,
              "TRUNCATE carries the new size");
        CHECK(dm_respond_event(sid, m->ev_token, DM_RESP_CONTINUE, 0, 0, NULL) == 0, "continue");
      }
    }
    CHECK(writes == 1 && truncates == 1, "one WRITE, one TRUNCATE");
  } else if (rank == 2) {
    char ten[10] = "0123456789";
    fd = pdm_open("/w", O_WRONLY, 0);
    CHECK(fd >= 0, "open /w");
    CHECK(pdm_pwrite(fd, ten, 10, 100) == -1 && errno == EPERM, "ABORT(EPERM) fails the write");
    CHECK(pdm_pwrite(fd, ten, 10, 8192) == 10, "a write outside the region raises nothing");
    CHECK(pdm_close(fd) == 0, "close");
  } else if (rank == 3) {
    struct stat st;
    fd = pdm_open("/w", O_WRONLY, 0);
    CHECK(fd >= 0, "open /w");
    CHECK(pdm_ftruncate(fd, kMiB + kMiB / 2) == 0, "the truncate is continued");
    CHECK(pdm_fstat(fd, &st) == 0 && st.st_size == kMiB + kMiB / 2, "and done");
    CHECK(pdm_close(fd) == 0, "close");
  }
  MPI_Barrier(MPI_COMM_WORLD);
  /* A region event whose type has no disposition fails the operation with EIO. */
  if (rank == kDm) {
    dm_eventset_t set = 0;
    DMEV_SET(DM_EVENT_READ, set);
    CHECK(dm_set_disp(sid, fsh, fshlen, DM_NO_TOKEN, &set, DM_EVENT_MAX) == 0, "READ only");
  }
  MPI_Barrier(MPI_COMM_WORLD);
  if (rank == 0) {
    CHECK(pdm_open("/w", O_WRONLY | O_TRUNC, 0) == -1 && errno == EIO,
          "TRUNCATE region without disposition: EIO");
  }
  MPI_Barrier(MPI_COMM_WORLD);

  /* A punched range without a READ region never reads as zeros: EIO, also
   * for a rank that had the file open and cached, until it is rewritten. */
  if (rank == 0) write_file("/p", kPSize, 50);
  MPI_Barrier(MPI_COMM_WORLD);
  if (rank != kDm) {
    fd = pdm_open("/p", O_RDWR, 0);
    CHECK(fd >= 0, "open /p");
    CHECK(pdm_pread(fd, buf, kPSize, 0) == (ssize_t)kPSize && holds_pattern(buf, 0, kPSize, 50),
          "read /p");
  }
  MPI_Barrier(MPI_COMM_WORLD);
  if (rank == kDm) {
    void *h;
    size_t hl;
    dm_off_t off = 0;
    dm_extent_t ext[4];
    unsigned int n = 0;
    handle_of("/p", &h, &hl);
    CHECK(dm_punch_hole(sid, h, hl, DM_NO_TOKEN, kMiB, 65536) == 0, "punch 64 KiB");
    CHECK(dm_get_allocinfo(sid, h, hl, DM_NO_TOKEN, &off, 1, ext, &n) == 1 && n == 1 &&
              ext[0].ex_type == DM_EXTENT_RES && ext[0].ex_offset == 0 &&
              ext[0].ex_length == kMiB && off == kMiB,
          "first extent, more to come");
    CHECK(dm_get_allocinfo(sid, h, hl, DM_NO_TOKEN, &off, 4, ext, &n) == 0 && n == 2 &&
              ext[0].ex_type == DM_EXTENT_HOLE && ext[0].ex_offset == kMiB &&
              ext[0].ex_length == 65536 && ext[1].ex_type == DM_EXTENT_RES &&
              ext[1].ex_offset == kMiB + 65536,
          "the hole, then data to the end");
    dm_handle_free(h, hl);
  }
  MPI_Barrier(MPI_COMM_WORLD);
  if (rank != kDm) {
    CHECK(pdm_pread(fd, buf, 4096, 0) == 4096 && holds_pattern(buf, 0, 4096, 50),
          "bytes before the hole");
    CHECK(pdm_pread(fd, buf, 4096, kMiB + 4096) == -1 && errno == EIO,
          "a released range fails with EIO (not zeros)");
    CHECK(pdm_pread(fd, buf, kPSize, 0) == -1 && errno == EIO, "so does a read across it");
  }
  MPI_Barrier(MPI_COMM_WORLD);
  if (rank == 2) {
    unsigned char *part = malloc(65536);
    CHECK(part != NULL, "malloc");
    fill(buf, kPSize, 50);
    memcpy(part, buf + kMiB, 65536);
    CHECK(pdm_pwrite(fd, part, 65536, kMiB) == 65536, "rewrite the hole");
    free(part);
  }
  MPI_Barrier(MPI_COMM_WORLD);
  if (rank != kDm) {
    memset(buf, 0, kPSize);
    CHECK(pdm_pread(fd, buf, kPSize, 0) == (ssize_t)kPSize && holds_pattern(buf, 0, kPSize, 50),
          "a rewritten range reads again");
    CHECK(pdm_close(fd) == 0, "close");
  }
  MPI_Barrier(MPI_COMM_WORLD);

  /* Regions are persistent: they survive a remount (sessions do not). */
  if (rank == kDm) {
    void *h;
    size_t hl;
    handle_of("/p", &h, &hl);
    set_one_region(sid, h, hl, 4096, 8192, DM_REGION_READ);
    dm_handle_free(h, hl);
    CHECK(dm_destroy_session(sid) == 0, "dm_destroy_session");
  }
  dm_handle_free(fsh, fshlen);
  CHECK(pdm_stop() == 0, "pdm_stop");
  CHECK(pdm_start(MPI_COMM_WORLD, argv[1]) == 0, "pdm_start again");
  if (rank == kDm) {
    void *h;
    size_t hl;
    dm_region_t region;
    unsigned int n = 0;
    CHECK(dm_create_session(DM_NO_SESSION, "hsm-2", &sid) == 0, "dm_create_session");
    handle_of("/p", &h, &hl);
    CHECK(dm_get_region(sid, h, hl, DM_NO_TOKEN, 1, &region, &n) == 0 && n == 1 &&
              region.rg_offset == 4096 && region.rg_size == 8192 &&
              region.rg_flags == DM_REGION_READ,
          "the region of /p after the remount");
    CHECK(pdm_unlink("/p") == 0, "unlink /p");
    CHECK(dm_get_region(sid, h, hl, DM_NO_TOKEN, 1, &region, &n) == -1 && errno == EBADF,
          "regions go with the file");
    dm_handle_free(h, hl);
    CHECK(dm_destroy_session(sid) == 0, "dm_destroy_session");
  }
  free(buf);
  CHECK(pdm_stop() == 0, "pdm_stop");
  MPI_Finalize();
  return 0;
}

/* DM attributes, file attributes, directory listings, handle_to_path and the
 * ATTRIBUTE event through <pdm/dmapi.h>, as an outside DM application (an
 * HSM keeping file state in DM attributes) would use them: C99, 4 ranks, two
 * jobs on the same file system (argv[2] is the phase, 1 or 2).
 *
 * Phase 1: an attribute set on rank 0 is read on rank 2 (the metadata
 * store is shared, CLAIMS.md B20 for events); every errno path of the
 * attribute calls; dm_get/set_fileattr seen through pdm_stat on another
 * rank; dm_get_dirattrs with its cursor over a directory larger than one
 * buffer; dm_handle_to_path after a rename; attributes vanish with the
 * file; ATTRIBUTE events of ftruncate on three ranks reach the session on
 * rank 1 (B7), dm_set_fileattr raises none. Phase 2 (a second job): the
 * attribute set in phase 1 is still there. */
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

enum { kDm = 1, kEntries = 60 };

/* A handle that can travel between ranks. */
typedef struct {
  unsigned char bytes[DM_MAX_HANDLE_SIZE];
  size_t len;
} handle_t;

static handle_t handle_of(const char *path) {
  handle_t h;
  void *p = NULL;
  size_t len = 0;
  CHECK(dm_path_to_handle((char *)path, &p, &len) == 0 && len <= sizeof h.bytes,
        "dm_path_to_handle %s", path);
  memcpy(h.bytes, p, len);
  h.len = len;
  dm_handle_free(p, len);
  return h;
}

static void bcast_handle(handle_t *h, int root) {
  MPI_Bcast(h, (int)sizeof *h, MPI_BYTE, root, MPI_COMM_WORLD);
}

static dm_attrname_t attr_name(const char *name) {
  dm_attrname_t n;
  memset(&n, 0, sizeof n);
  memcpy(n.an_chars, name, strlen(name));
  return n;
}

static void make_file(const char *path, size_t size) {
  char data[256];
  memset(data, 'x', sizeof data);
  int fd = pdm_open(path, O_CREAT | O_EXCL | O_WRONLY, 0644);
  CHECK(fd >= 0, "create %s", path);
  if (size > 0) CHECK(pdm_pwrite(fd, data, size, 0) == (ssize_t)size, "write %s", path);
  CHECK(pdm_close(fd) == 0, "close %s", path);
}

static void truncate_file(const char *path, off_t size) {
  int fd = pdm_open(path, O_WRONLY, 0);
  CHECK(fd >= 0 && pdm_ftruncate(fd, size) == 0 && pdm_close(fd) == 0, "ftruncate %s", path);
}

static void check_config(void *fsh, size_t fshlen) {
  dm_size_t value = 0;
  CHECK(dm_get_config(fsh, fshlen, DM_CONFIG_PERS_ATTRIBUTES, &value) == 0 && value == 1,
        "persistent DM attributes (%llu)", (unsigned long long)value);
  CHECK(dm_get_config(fsh, fshlen, DM_CONFIG_MAX_ATTRIBUTE_SIZE, &value) == 0 && value == 65536,
        "MAX_ATTRIBUTE_SIZE %llu", (unsigned long long)value);
  CHECK(dm_get_config(fsh, fshlen, DM_CONFIG_DTIME_OVERLOAD, &value) == 0 && value == 1,
        "dtime is ctime");
  dm_eventset_t generated = 0;
  unsigned int nelem = 0;
  CHECK(dm_get_config_events(fsh, fshlen, DM_EVENT_MAX, &generated, &nelem) == 0 &&
            DMEV_ISSET(DM_EVENT_ATTRIBUTE, generated),
        "ATTRIBUTE is generated");
}

/* Rank 2 reads what rank 0 set, and every errno of the attribute calls. */
static void attributes_across_ranks(dm_sessid_t sid, void *fsh, size_t fshlen) {
  handle_t f = {{0}, 0};
  dm_attrname_t state = attr_name("state");
  const char value[] = "archived:tape7";
  if (rank == 0) {
    CHECK(pdm_mkdir("/attrs", 0755) == 0, "mkdir /attrs");
    make_file("/attrs/f", 100);
    f = handle_of("/attrs/f");
    CHECK(dm_set_dmattr(sid, f.bytes, f.len, DM_NO_TOKEN, &state, 1, sizeof value, (void *)value) ==
              0,
          "dm_set_dmattr");
    dm_attrname_t loc = attr_name("loc12345"); /* all 8 bytes, no NUL */
    CHECK(dm_set_dmattr(sid, f.bytes, f.len, DM_NO_TOKEN, &loc, 0, 3, "abc") == 0, "8-byte name");
    dm_attrname_t empty = attr_name("empty");
    CHECK(dm_set_dmattr(sid, f.bytes, f.len, DM_NO_TOKEN, &empty, 0, 0, NULL) == 0, "empty value");
  }
  MPI_Barrier(MPI_COMM_WORLD);
  if (rank != 2) return;
  f = handle_of("/attrs/f");
  char buf[128];
  size_t rlen = 0;
  CHECK(dm_get_dmattr(sid, f.bytes, f.len, DM_NO_TOKEN, &state, sizeof buf, buf, &rlen) == 0 &&
            rlen == sizeof value && memcmp(buf, value, rlen) == 0,
        "the value rank 0 set (rlen %zu)", rlen);
  /* E2BIG with the length needed; the buffer is left alone. */
  rlen = 0;
  CHECK(dm_get_dmattr(sid, f.bytes, f.len, DM_NO_TOKEN, &state, 4, buf, &rlen) == -1 &&
            errno == E2BIG && rlen == sizeof value,
        "E2BIG with the length in *rlenp");
  dm_attrname_t nosuch = attr_name("nosuch");
  CHECK(dm_get_dmattr(sid, f.bytes, f.len, DM_NO_TOKEN, &nosuch, sizeof buf, buf, &rlen) == -1 &&
            errno == ENOENT,
        "a missing attribute is ENOENT");
  CHECK(dm_remove_dmattr(sid, f.bytes, f.len, DM_NO_TOKEN, 0, &nosuch) == -1 && errno == ENOENT,
        "removing a missing attribute is ENOENT");
  dm_attrname_t empty_name = attr_name("");
  CHECK(
      dm_get_dmattr(sid, f.bytes, f.len, DM_NO_TOKEN, &empty_name, sizeof buf, buf, &rlen) == -1 &&
          errno == EINVAL,
      "an empty name is EINVAL");
  unsigned char garbage[32];
  memset(garbage, 0x5a, sizeof garbage);
  CHECK(dm_get_dmattr(sid, garbage, sizeof garbage, DM_NO_TOKEN, &state, sizeof buf, buf, &rlen) ==
                -1 &&
            errno == EBADF,
        "not a handle: EBADF");
  CHECK(dm_get_dmattr(sid, fsh, fshlen, DM_NO_TOKEN, &state, sizeof buf, buf, &rlen) == -1 &&
            errno == EINVAL,
        "a file system handle names no object: EINVAL");
  CHECK(dm_get_dmattr(DM_NO_SESSION, f.bytes, f.len, DM_NO_TOKEN, &state, sizeof buf, buf, &rlen) ==
                -1 &&
            errno == EINVAL,
        "no session: EINVAL");
  CHECK(dm_get_dmattr(sid, f.bytes, f.len, DM_NO_TOKEN, NULL, sizeof buf, buf, &rlen) == -1 &&
            errno == EFAULT,
        "null name: EFAULT");
  CHECK(dm_get_dmattr(sid, f.bytes, f.len, DM_NO_TOKEN, &state, sizeof buf, buf, NULL) == -1 &&
            errno == EFAULT,
        "null rlenp: EFAULT");
  CHECK(dm_set_dmattr(sid, f.bytes, f.len, DM_NO_TOKEN, &state, 0, 65537, buf) == -1 &&
            errno == E2BIG,
        "a value over DM_CONFIG_MAX_ATTRIBUTE_SIZE: E2BIG");
  CHECK(
      dm_set_dmattr(sid, f.bytes, f.len, DM_NO_TOKEN, &state, 0, 8, NULL) == -1 && errno == EFAULT,
      "null value: EFAULT");
  /* getall: three attributes in name order, chained. */
  static char all[4096];
  CHECK(dm_getall_dmattr(sid, f.bytes, f.len, DM_NO_TOKEN, 8, all, &rlen) == -1 && errno == E2BIG &&
            rlen > 8,
        "getall: E2BIG with the size needed");
  const size_t needed = rlen;
  CHECK(dm_getall_dmattr(sid, f.bytes, f.len, DM_NO_TOKEN, sizeof all, all, &rlen) == 0 &&
            rlen == needed,
        "dm_getall_dmattr");
  const char *names[] = {"empty", "loc12345", "state"};
  const char *values[] = {"", "abc", value};
  const size_t lengths[] = {0, 3, sizeof value};
  int n = 0;
  for (dm_attrlist_t *a = (dm_attrlist_t *)all; a != NULL;
       a = DM_STEP_TO_NEXT(a, dm_attrlist_t *), ++n) {
    CHECK(n < 3 && strncmp((char *)a->al_name.an_chars, names[n], DM_ATTR_NAME_SIZE) == 0,
          "attribute %d is %s", n, n < 3 ? names[n] : "?");
    CHECK(DM_GET_LEN(a, al_data) == lengths[n] &&
              memcmp(DM_GET_VALUE(a, al_data, char *), values[n], lengths[n]) == 0,
          "value of %s", names[n]);
  }
  CHECK(n == 3, "three attributes, not %d", n);
  CHECK(dm_remove_dmattr(sid, f.bytes, f.len, DM_NO_TOKEN, 0, &state) == 0, "dm_remove_dmattr");
  CHECK(dm_get_dmattr(sid, f.bytes, f.len, DM_NO_TOKEN, &state, sizeof buf, buf, &rlen) == -1 &&
            errno == ENOENT,
        "removed");
}

/* dm_get_fileattr / dm_set_fileattr on rank 2, checked with pdm_stat on rank 3. */
static void file_attributes(dm_sessid_t sid) {
  if (rank == 2) {
    handle_t f = handle_of("/attrs/f");
    dm_stat_t st;
    CHECK(dm_get_fileattr(sid, f.bytes, f.len, DM_NO_TOKEN, DM_AT_STAT | DM_AT_PATTR | DM_AT_DTIME,
                          &st) == 0,
          "dm_get_fileattr");
    CHECK(S_ISREG(st.dt_mode) && (st.dt_mode & 07777) == 0644 && st.dt_size == 100 &&
              st.dt_nlink == 1 && st.dt_pers == 1 && st.dt_dtime == st.dt_ctime,
          "mode %o size %lld pers %d", (unsigned)st.dt_mode, st.dt_size, st.dt_pers);
    dm_ino_t ino = 0;
    CHECK(dm_handle_to_ino(f.bytes, f.len, &ino) == 0 && st.dt_ino == ino, "dt_ino");
    dm_fileattr_t fa;
    memset(&fa, 0, sizeof fa);
    fa.fa_mode = 0600;
    fa.fa_atime = 2000;
    fa.fa_mtime = 1000;
    fa.fa_size = 10;
    CHECK(dm_set_fileattr(sid, f.bytes, f.len, DM_NO_TOKEN,
                          DM_AT_MODE | DM_AT_ATIME | DM_AT_MTIME | DM_AT_SIZE, &fa) == 0,
          "dm_set_fileattr");
    CHECK(dm_set_fileattr(sid, f.bytes, f.len, DM_NO_TOKEN, DM_AT_HANDLE, &fa) == -1 &&
              errno == EINVAL,
          "a mask bit dm_set_fileattr does not set: EINVAL");
    CHECK(dm_set_fileattr(sid, f.bytes, f.len, DM_NO_TOKEN, DM_AT_MODE, NULL) == -1 &&
              errno == EFAULT,
          "null attrp: EFAULT");
    CHECK(dm_get_fileattr(sid, f.bytes, f.len, DM_NO_TOKEN, DM_AT_STAT, NULL) == -1 &&
              errno == EFAULT,
          "null statp: EFAULT");
    CHECK(dm_get_fileattr(sid, f.bytes, f.len, DM_NO_TOKEN, 0x80000000u, &st) == -1 &&
              errno == EINVAL,
          "unknown mask bits: EINVAL");
  }
  MPI_Barrier(MPI_COMM_WORLD);
  if (rank == 3) {
    struct stat st;
    CHECK(pdm_stat("/attrs/f", &st) == 0, "pdm_stat");
    CHECK((st.st_mode & 07777) == 0600 && st.st_mtime == 1000 && st.st_atime == 2000 &&
              st.st_size == 10,
          "mode %o mtime %ld atime %ld size %lld", (unsigned)st.st_mode, (long)st.st_mtime,
          (long)st.st_atime, (long long)st.st_size);
    char data[64];
    int fd = pdm_open("/attrs/f", O_RDONLY, 0);
    CHECK(fd >= 0 && pdm_pread(fd, data, sizeof data, 0) == 10 && pdm_close(fd) == 0,
          "10 bytes remain after the size was set to 10");
  }
}

/* dm_get_dirattrs over a directory of kEntries files, a few per buffer. */
static void directory_listing(dm_sessid_t sid) {
  if (rank == 3) {
    CHECK(pdm_mkdir("/attrs/big", 0755) == 0, "mkdir /attrs/big");
    for (int i = 0; i < kEntries; ++i) {
      char path[64];
      snprintf(path, sizeof path, "/attrs/big/entry-%03d", i);
      make_file(path, (size_t)i);
    }
  }
  MPI_Barrier(MPI_COMM_WORLD);
  if (rank != 0) return;
  handle_t d = handle_of("/attrs/big");
  handle_t f = handle_of("/attrs/f");
  dm_attrloc_t loc = 0;
  CHECK(dm_init_attrloc(sid, f.bytes, f.len, DM_NO_TOKEN, &loc) == -1 && errno == EINVAL,
        "dm_init_attrloc on a file: EINVAL");
  CHECK(dm_init_attrloc(sid, d.bytes, d.len, DM_NO_TOKEN, &loc) == 0, "dm_init_attrloc");
  const unsigned mask = DM_AT_STAT | DM_AT_HANDLE | DM_AT_PATTR;
  /* Room for 7 entries ("entry-000" and its handle after each dm_stat_t). */
  const size_t one = (sizeof(dm_stat_t) + 32 + 10 + 7) / 8 * 8;
  static char buf[7 * ((sizeof(dm_stat_t) + 32 + 10 + 7) / 8 * 8)];
  size_t rlen = 0;
  CHECK(dm_get_dirattrs(sid, d.bytes, d.len, DM_NO_TOKEN, mask, &loc, 16, buf, &rlen) == -1 &&
            errno == E2BIG && rlen == one,
        "not even one entry fits: E2BIG with its size (%zu, not %zu)", rlen, one);
  CHECK(
      dm_get_dirattrs(sid, f.bytes, f.len, DM_NO_TOKEN, mask, &loc, sizeof buf, buf, &rlen) == -1 &&
          errno == EINVAL,
      "a file's handle: EINVAL");
  int seen = 0, calls = 0, more = 1;
  while (more) {
    more = dm_get_dirattrs(sid, d.bytes, d.len, DM_NO_TOKEN, mask, &loc, sizeof buf, buf, &rlen);
    CHECK(more == 0 || more == 1, "dm_get_dirattrs returned %d", more);
    ++calls;
    int in_buffer = 0;
    for (dm_stat_t *s = (dm_stat_t *)buf; rlen > 0 && s != NULL;
         s = DM_STEP_TO_NEXT(s, dm_stat_t *)) {
      char expected[32];
      snprintf(expected, sizeof expected, "entry-%03d", seen);
      const char *name = DM_GET_VALUE(s, dt_compname, char *);
      CHECK(strcmp(name, expected) == 0, "entry %d is %s", seen, name);
      CHECK(s->dt_size == seen && S_ISREG(s->dt_mode) && s->dt_pers == 0, "attributes of %s", name);
      char path[64];
      snprintf(path, sizeof path, "/attrs/big/%s", name);
      handle_t h = handle_of(path);
      CHECK(dm_handle_cmp(DM_GET_VALUE(s, dt_handle, void *), DM_GET_LEN(s, dt_handle), h.bytes,
                          h.len) == 0,
            "handle of %s", name);
      ++seen;
      ++in_buffer;
    }
    CHECK(in_buffer == 7 || more == 0, "a full buffer while more remain (%d)", in_buffer);
  }
  CHECK(seen == kEntries && calls == (kEntries + 6) / 7, "%d entries in %d calls", seen, calls);
  CHECK(
      dm_get_dirattrs(sid, d.bytes, d.len, DM_NO_TOKEN, mask, &loc, sizeof buf, buf, &rlen) == 0 &&
          rlen == 0,
      "past the end: nothing, 0");
}

/* dm_handle_to_path still finds a file after a rename into another directory. */
static void handle_to_path(void) {
  if (rank != 0) return;
  handle_t f = handle_of("/attrs/f");
  CHECK(pdm_mkdir("/attrs/sub", 0755) == 0, "mkdir /attrs/sub");
  CHECK(pdm_rename("/attrs/f", "/attrs/sub/g") == 0, "rename");
  handle_t sub = handle_of("/attrs/sub");
  handle_t attrs = handle_of("/attrs");
  char path[64];
  size_t rlen = 0;
  CHECK(dm_handle_to_path(sub.bytes, sub.len, f.bytes, f.len, sizeof path, path, &rlen) == 0 &&
            strcmp(path, "/attrs/sub/g") == 0 && rlen == strlen(path) + 1,
        "path after the rename: %s", path);
  CHECK(dm_handle_to_path(sub.bytes, sub.len, f.bytes, f.len, 4, path, &rlen) == -1 &&
            errno == E2BIG && rlen == strlen("/attrs/sub/g") + 1,
        "E2BIG with the length needed");
  CHECK(dm_handle_to_path(attrs.bytes, attrs.len, f.bytes, f.len, sizeof path, path, &rlen) == -1 &&
            errno == ENOENT,
        "not an entry of that directory: ENOENT");
  CHECK(dm_handle_to_path(f.bytes, f.len, f.bytes, f.len, sizeof path, path, &rlen) == -1 &&
            errno == EINVAL,
        "dirhanp of a file: EINVAL");
  CHECK(dm_handle_to_path(sub.bytes, sub.len, f.bytes, f.len, sizeof path, path, NULL) == -1 &&
            errno == EFAULT,
        "null rlenp: EFAULT");
  CHECK(dm_handle_to_path(DM_GLOBAL_HANP, DM_GLOBAL_HLEN, f.bytes, f.len, sizeof path, path,
                          &rlen) == -1 &&
            errno == EBADF,
        "the global handle: EBADF");
}

/* Attributes vanish with the file: the old handle is stale, a new file of
 * the same name starts without any. */
static void vanish_on_unlink(dm_sessid_t sid) {
  if (rank != 3) return;
  make_file("/attrs/gone", 1);
  handle_t old = handle_of("/attrs/gone");
  dm_attrname_t a = attr_name("a");
  CHECK(dm_set_dmattr(sid, old.bytes, old.len, DM_NO_TOKEN, &a, 0, 1, "1") == 0, "set");
  CHECK(pdm_unlink("/attrs/gone") == 0, "unlink");
  char buf[8];
  size_t rlen = 0;
  CHECK(dm_get_dmattr(sid, old.bytes, old.len, DM_NO_TOKEN, &a, sizeof buf, buf, &rlen) == -1 &&
            errno == EBADF,
        "the destroyed file's handle: EBADF");
  make_file("/attrs/gone", 1);
  handle_t fresh = handle_of("/attrs/gone");
  CHECK(dm_handle_cmp(old.bytes, old.len, fresh.bytes, fresh.len) != 0, "a new handle");
  CHECK(dm_getall_dmattr(sid, fresh.bytes, fresh.len, DM_NO_TOKEN, sizeof buf, buf, &rlen) == 0 &&
            rlen == 0,
        "no attributes on the new file");
}

/* ATTRIBUTE events: ftruncate on ranks 0, 2 and 3 reaches the session on
 * rank 1 with the file's handle; rank 0's dm_set_fileattr, made first, raises
 * none (XFS: DMAPI calls raise no events). */
static void attribute_events(dm_sessid_t sid, void *fsh, size_t fshlen) {
  dm_eventset_t set = 0;
  DMEV_SET(DM_EVENT_ATTRIBUTE, set);
  if (rank == kDm) {
    CHECK(dm_set_disp(sid, fsh, fshlen, DM_NO_TOKEN, &set, DM_EVENT_MAX) == 0, "dm_set_disp");
    CHECK(dm_set_eventlist(sid, fsh, fshlen, DM_NO_TOKEN, &set, DM_EVENT_MAX) == 0,
          "dm_set_eventlist");
  } else {
    char path[64];
    snprintf(path, sizeof path, "/attrs/t-%d", rank);
    make_file(path, 50);
  }
  MPI_Barrier(MPI_COMM_WORLD);
  handle_t truncated[4];
  memset(truncated, 0, sizeof truncated);
  if (rank != kDm) {
    char path[64];
    if (rank == 0) {
      handle_t quiet = handle_of("/attrs/sub/g");
      dm_fileattr_t fa;
      memset(&fa, 0, sizeof fa);
      fa.fa_mode = 0640;
      CHECK(dm_set_fileattr(sid, quiet.bytes, quiet.len, DM_NO_TOKEN, DM_AT_MODE, &fa) == 0,
            "dm_set_fileattr (no event)");
    }
    snprintf(path, sizeof path, "/attrs/t-%d", rank);
    truncated[rank] = handle_of(path);
    truncate_file(path, 5);
  }
  for (int r = 0; r < 4; ++r) bcast_handle(&truncated[r], r);
  if (rank == kDm) {
    static char buf[65536];
    int got[4] = {0, 0, 0, 0};
    int events = 0;
    while (events < 3) {
      size_t rlen = 0;
      CHECK(dm_get_events(sid, 16, DM_EV_WAIT, sizeof buf, buf, &rlen) == 0, "dm_get_events");
      for (dm_eventmsg_t *m = (dm_eventmsg_t *)buf; m != NULL;
           m = DM_STEP_TO_NEXT(m, dm_eventmsg_t *)) {
        ++events;
        CHECK(m->ev_type == DM_EVENT_ATTRIBUTE && m->ev_token == DM_INVALID_TOKEN,
              "an asynchronous ATTRIBUTE event, not %d", (int)m->ev_type);
        dm_namesp_event_t *ne = DM_GET_VALUE(m, ev_data, dm_namesp_event_t *);
        int which = -1;
        for (int r = 0; r < 4; ++r) {
          if (r != kDm &&
              dm_handle_cmp(DM_GET_VALUE(ne, ne_handle1, void *), DM_GET_LEN(ne, ne_handle1),
                            truncated[r].bytes, truncated[r].len) == 0) {
            which = r;
          }
        }
        CHECK(which >= 0 && !got[which], "the handle of a truncated file, once each");
        got[which] = 1;
      }
    }
    dm_eventset_t none = 0;
    CHECK(dm_set_eventlist(sid, fsh, fshlen, DM_NO_TOKEN, &none, DM_EVENT_MAX) == 0, "events off");
  }
  MPI_Barrier(MPI_COMM_WORLD);
}

static void phase1(dm_sessid_t sid, void *fsh, size_t fshlen) {
  check_config(fsh, fshlen);
  attributes_across_ranks(sid, fsh, fshlen);
  MPI_Barrier(MPI_COMM_WORLD);
  file_attributes(sid);
  MPI_Barrier(MPI_COMM_WORLD);
  directory_listing(sid);
  MPI_Barrier(MPI_COMM_WORLD);
  handle_to_path();
  vanish_on_unlink(sid);
  MPI_Barrier(MPI_COMM_WORLD);
  attribute_events(sid, fsh, fshlen);
  /* For phase 2: an attribute on a file that stays. */
  if (rank == 0) {
    make_file("/persist", 1);
    handle_t p = handle_of("/persist");
    dm_attrname_t hsm = attr_name("hsm");
    CHECK(dm_set_dmattr(sid, p.bytes, p.len, DM_NO_TOKEN, &hsm, 0, 10, "v1-persist") == 0,
          "set for the next job");
  }
}

/* A second job: the attribute is read back on another rank. */
static void phase2(dm_sessid_t sid) {
  if (rank != 3) return;
  handle_t p = handle_of("/persist");
  dm_attrname_t hsm = attr_name("hsm");
  char buf[32];
  size_t rlen = 0;
  CHECK(dm_get_dmattr(sid, p.bytes, p.len, DM_NO_TOKEN, &hsm, sizeof buf, buf, &rlen) == 0 &&
            rlen == 10 && memcmp(buf, "v1-persist", 10) == 0,
        "the attribute of the first job");
  dm_stat_t st;
  CHECK(dm_get_fileattr(sid, p.bytes, p.len, DM_NO_TOKEN, DM_AT_PATTR, &st) == 0 && st.dt_pers == 1,
        "dt_pers");
}

int main(int argc, char **argv) {
  int provided, size;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  CHECK(argc == 3 && size == 4, "usage: mpiexec -n 4 dmapi_attrs FS_CONFIG PHASE");
  const int phase = atoi(argv[2]);
  CHECK(pdm_start(MPI_COMM_WORLD, argv[1]) == 0, "pdm_start");
  void *fsh = NULL;
  size_t fshlen = 0;
  CHECK(dm_path_to_fshandle("/", &fsh, &fshlen) == 0, "dm_path_to_fshandle");
  char info[32];
  snprintf(info, sizeof info, "attrs-%d", rank);
  dm_sessid_t sid = DM_NO_SESSION;
  CHECK(dm_create_session(DM_NO_SESSION, info, &sid) == 0, "dm_create_session");
  if (phase == 1) {
    phase1(sid, fsh, fshlen);
  } else {
    phase2(sid);
  }
  MPI_Barrier(MPI_COMM_WORLD);
  CHECK(dm_destroy_session(sid) == 0, "dm_destroy_session");
  dm_handle_free(fsh, fshlen);
  CHECK(pdm_stop() == 0, "pdm_stop");
  MPI_Finalize();
  return 0;
}

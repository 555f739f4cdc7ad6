/* Per-file event lists through <pdm/dmapi.h> (C99, 4 ranks; CLAIMS.md B7,
 * B14, B20). Rank 1 is the DM application. The file system's list enables
 * CREATE; directory /quiet gets an empty list of its own and /loud the list
 * {CREATE, REMOVE}: a per-file list overrides the file system's, and
 * namespace events are governed by the parent directory's list. File /c
 * gets {CLOSE}: the last close of it on each rank raises CLOSE although the
 * file system's list does not hold it. Every other rank creates files in
 * /quiet, /loud and / and unlinks two of them: the DM application must see
 * exactly the events the lists ask for (all synchronous ones are answered
 * before the operation returns, so the count after a barrier is exact).
 * Then pdm is stopped and started again (a remount): the per-file lists
 * come back from the metadata store on every rank. A list goes with its
 * file (EBADF for the handle of a destroyed file). */
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

enum { kDm = 1 };

static dm_sessid_t sid = DM_NO_SESSION;
static void *fsh;
static size_t fshlen;

/* Handles every queued event (none waits: DM_EV_WAIT is not given) and
 * counts them by type; names of namespace events must start with `prefix`. */
static void drain(int *seen, const char *prefix) {
  static char buf[65536];
  for (;;) {
    size_t rlen = 0;
    if (dm_get_events(sid, 16, 0, sizeof buf, buf, &rlen) == -1) {
      CHECK(errno == EAGAIN, "dm_get_events");
      return;
    }
    for (dm_eventmsg_t *m = (dm_eventmsg_t *)buf; m != NULL;
         m = DM_STEP_TO_NEXT(m, dm_eventmsg_t *)) {
      ++seen[m->ev_type];
      dm_namesp_event_t *ne = DM_GET_VALUE(m, ev_data, dm_namesp_event_t *);
      if (m->ev_type == DM_EVENT_CREATE || m->ev_type == DM_EVENT_REMOVE) {
        const char *name = DM_GET_VALUE(ne, ne_name1, char *);
        CHECK(strchr(prefix, name[0]) != NULL, "event %d for '%s'", m->ev_type, name);
      }
      if (m->ev_token != DM_INVALID_TOKEN) {
        CHECK(dm_respond_event(sid, m->ev_token, DM_RESP_CONTINUE, 0, 0, NULL) == 0, "respond");
      }
    }
  }
}

/* The DM application's side of one round of file operations: the
 * synchronous events come while the others work, so serve until `expected`
 * of them arrived (asynchronous ones are counted too). */
static void serve(int expected, int *seen, const char *prefix) {
  static char buf[65536];
  int got = 0;
  while (got < expected) {
    size_t rlen = 0;
    CHECK(dm_get_events(sid, 1, DM_EV_WAIT, sizeof buf, buf, &rlen) == 0, "dm_get_events");
    dm_eventmsg_t *m = (dm_eventmsg_t *)buf;
    ++seen[m->ev_type];
    if (m->ev_token == DM_INVALID_TOKEN) continue;
    ++got;
    dm_namesp_event_t *ne = DM_GET_VALUE(m, ev_data, dm_namesp_event_t *);
    const char *name = DM_GET_VALUE(ne, ne_name1, char *);
    CHECK(strchr(prefix, name[0]) != NULL, "event %d for '%s'", m->ev_type, name);
    CHECK(dm_respond_event(sid, m->ev_token, DM_RESP_CONTINUE, 0, 0, NULL) == 0, "respond");
  }
}

static void set_list(const char *path, dm_eventset_t set) {
  void *h = NULL;
  size_t hlen = 0;
  CHECK(dm_path_to_handle((char *)path, &h, &hlen) == 0, "dm_path_to_handle %s", path);
  CHECK(dm_set_eventlist(sid, h, hlen, DM_NO_TOKEN, &set, DM_EVENT_MAX) == 0, "set list of %s",
        path);
  dm_handle_free(h, hlen);
}

static dm_eventset_t get_list(const char *path) {
  void *h = NULL;
  size_t hlen = 0;
  dm_eventset_t set = 0;
  unsigned int nelem = 0;
  CHECK(dm_path_to_handle((char *)path, &h, &hlen) == 0, "dm_path_to_handle %s", path);
  CHECK(dm_get_eventlist(sid, h, hlen, DM_NO_TOKEN, DM_EVENT_MAX, &set, &nelem) == 0,
        "get list of %s", path);
  dm_handle_free(h, hlen);
  return set;
}

static void create(const char *path) {
  int fd = pdm_open(path, O_CREAT | O_EXCL | O_WRONLY, 0644);
  CHECK(fd >= 0 && pdm_close(fd) == 0, "create %s", path);
}

static void start(const char *config, int first) {
  CHECK(pdm_start(MPI_COMM_WORLD, config) == 0, "pdm_start");
  CHECK(dm_path_to_fshandle("/", &fsh, &fshlen) == 0, "dm_path_to_fshandle");
  if (rank == kDm && first) {
    /* Before any list is on (the DM application's own creates would wait
     * for itself). */
    CHECK(pdm_mkdir("/quiet", 0755) == 0 && pdm_mkdir("/loud", 0755) == 0, "mkdir");
    create("/c");
  }
  if (rank == kDm) {
    char info[] = "eventlists";
    dm_eventset_t set = 0;
    CHECK(dm_create_session(DM_NO_SESSION, info, &sid) == 0, "dm_create_session");
    DMEV_SET(DM_EVENT_CREATE, set);
    DMEV_SET(DM_EVENT_REMOVE, set);
    DMEV_SET(DM_EVENT_CLOSE, set);
    CHECK(dm_set_disp(sid, fsh, fshlen, DM_NO_TOKEN, &set, DM_EVENT_MAX) == 0, "dm_set_disp");
    set = 0;
    DMEV_SET(DM_EVENT_CREATE, set);
    CHECK(dm_set_eventlist(sid, fsh, fshlen, DM_NO_TOKEN, &set, DM_EVENT_MAX) == 0,
          "the file system's list: CREATE");
  }
  MPI_Bcast(&sid, 1, MPI_INT, kDm, MPI_COMM_WORLD);
}

static void stop(void) {
  if (rank == kDm) CHECK(dm_destroy_session(sid) == 0, "dm_destroy_session");
  MPI_Barrier(MPI_COMM_WORLD);
  dm_handle_free(fsh, fshlen);
  CHECK(pdm_stop() == 0, "pdm_stop");
}

int main(int argc, char **argv) {
  int provided, size;
  char path[64];
  dm_eventset_t loud = 0, none = 0, close_only = 0, bad = 0;
  int seen[DM_EVENT_MAX] = {0};
  MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  CHECK(argc == 2 && size == 4, "usage: mpiexec -n 4 dmapi_eventlists FS_CONFIG");
  DMEV_SET(DM_EVENT_CREATE, loud);
  DMEV_SET(DM_EVENT_REMOVE, loud);
  DMEV_SET(DM_EVENT_CLOSE, close_only);

  start(argv[1], 1);
  if (rank == kDm) {
    set_list("/quiet", none);
    set_list("/loud", loud);
    set_list("/c", close_only);
    /* errno paths: an event that cannot occur on the object, a bad session,
     * a handle of another kind. */
    DMEV_SET(DM_EVENT_READ, bad);
    void *h = NULL;
    size_t hlen = 0;
    CHECK(dm_path_to_handle("/loud", &h, &hlen) == 0, "handle of /loud");
    CHECK(dm_set_eventlist(sid, h, hlen, DM_NO_TOKEN, &bad, DM_EVENT_MAX) == -1 && errno == EINVAL,
          "READ on a directory: EINVAL");
    CHECK(dm_set_eventlist(sid + 1000, h, hlen, DM_NO_TOKEN, &loud, DM_EVENT_MAX) == -1 &&
              errno == EINVAL,
          "unknown session: EINVAL");
    CHECK(dm_set_eventlist(sid, DM_GLOBAL_HANP, DM_GLOBAL_HLEN, DM_NO_TOKEN, &loud, DM_EVENT_MAX) ==
                  -1 &&
              errno == EINVAL,
          "the global handle: EINVAL");
    dm_handle_free(h, hlen);
  }
  MPI_Barrier(MPI_COMM_WORLD);
  /* B14: once dm_set_eventlist returned, every rank routes by the lists. */
  CHECK(get_list("/loud") == loud && get_list("/quiet") == 0 && get_list("/c") == close_only,
        "the lists as every rank sees them");
  if (rank == kDm) {
    /* Per rank: CREATE /loud/l-r and /top-r, REMOVE /loud/l-r (6 + 3). */
    serve(9, seen, "lt");
  } else {
    snprintf(path, sizeof path, "/quiet/q-%d", rank);
    create(path); /* the empty list of /quiet overrides the file system's CREATE */
    snprintf(path, sizeof path, "/loud/l-%d", rank);
    create(path);
    CHECK(pdm_unlink(path) == 0, "unlink %s", path); /* REMOVE: /loud's list only */
    snprintf(path, sizeof path, "/t-%d", rank);
    create(path);
    CHECK(pdm_unlink(path) == 0, "unlink %s", path); /* no REMOVE in the fs list */
    int fd = pdm_open("/c", O_RDONLY, 0);
    int fd2 = pdm_open("/c", O_RDONLY, 0);
    CHECK(fd >= 0 && fd2 >= 0, "open /c twice");
    CHECK(pdm_close(fd) == 0 && pdm_close(fd2) == 0, "close /c"); /* one CLOSE: the last */
  }
  MPI_Barrier(MPI_COMM_WORLD);
  if (rank == kDm) {
    drain(seen, "lt");
    CHECK(seen[DM_EVENT_CREATE] == 6 && seen[DM_EVENT_REMOVE] == 3 && seen[DM_EVENT_CLOSE] == 3,
          "CREATE %d REMOVE %d CLOSE %d", seen[DM_EVENT_CREATE], seen[DM_EVENT_REMOVE],
          seen[DM_EVENT_CLOSE]);
    memset(seen, 0, sizeof seen);
  }
  stop();

  /* Remount: the lists come back from the metadata store. */
  start(argv[1], 0);
  MPI_Barrier(MPI_COMM_WORLD);
  CHECK(get_list("/loud") == loud && get_list("/quiet") == 0 && get_list("/c") == close_only,
        "the lists after a remount");
  if (rank == kDm) {
    serve(2, seen, "r"); /* CREATE and REMOVE of /loud/r by rank 2 */
  } else if (rank == 2) {
    create("/quiet/n");
    create("/loud/r");
    CHECK(pdm_unlink("/loud/r") == 0, "unlink /loud/r");
  }
  MPI_Barrier(MPI_COMM_WORLD);
  if (rank == kDm) {
    drain(seen, "r");
    CHECK(seen[DM_EVENT_CREATE] == 1 && seen[DM_EVENT_REMOVE] == 1, "after remount: %d %d",
          seen[DM_EVENT_CREATE], seen[DM_EVENT_REMOVE]);
    /* A list goes with its file. */
    void *h = NULL;
    size_t hlen = 0;
    dm_eventset_t set = 0;
    unsigned int nelem = 0;
    CHECK(dm_path_to_handle("/c", &h, &hlen) == 0, "handle of /c");
    CHECK(pdm_unlink("/c") == 0, "unlink /c");
    CHECK(dm_get_eventlist(sid, h, hlen, DM_NO_TOKEN, DM_EVENT_MAX, &set, &nelem) == -1 &&
              errno == EBADF,
          "the list of a destroyed file: EBADF");
    CHECK(dm_set_eventlist(sid, h, hlen, DM_NO_TOKEN, &close_only, DM_EVENT_MAX) == -1 &&
              errno == EBADF,
          "setting it: EBADF");
    dm_handle_free(h, hlen);
    drain(seen, "");
  }
  stop();
  MPI_Finalize();
  return 0;
}

/* Session groups through the pdm extensions of <pdm/dmapi.h> (C99, 4 ranks;
 * CLAIMS.md B12, B18, B19). One distributed DM application has a session on
 * every rank, all in group "hsm", which holds CREATE (synchronous) and
 * POSTCREATE (asynchronous, to every member). Every rank runs its instance
 * in a thread and creates a file from its main thread: its CREATE must be
 * handled by the instance on the same rank (B18), and every instance must
 * see every rank's POSTCREATE (B19). Every member is also a standby (the
 * takeover itself is pinned by tests/failure/standby_takeover_test.cpp). */
#include <errno.h>
#include <fcntl.h>
#include <mpi.h>
#include <pdm/dmapi.h>
#include <pdm/pdm.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "port_check.h"

static int rank, size;
static dm_sessid_t sid;
static int creates, postcreates;

/* The DM instance of this rank: answers CREATE, counts POSTCREATE. */
static void *instance(void *unused) {
  static char buf[65536];
  char mine[32];
  (void)unused;
  snprintf(mine, sizeof mine, "g-%d", rank);
  while (creates < 1 || postcreates < size) {
    size_t rlen = 0;
    CHECK(dm_get_events(sid, 16, DM_EV_WAIT, sizeof buf, buf, &rlen) == 0, "dm_get_events");
    for (dm_eventmsg_t *m = (dm_eventmsg_t *)buf; m != NULL;
         m = DM_STEP_TO_NEXT(m, dm_eventmsg_t *)) {
      dm_namesp_event_t *ne = DM_GET_VALUE(m, ev_data, dm_namesp_event_t *);
      const char *name = DM_GET_VALUE(ne, ne_name1, char *);
      if (m->ev_type == DM_EVENT_CREATE) {
        CHECK(strcmp(name, mine) == 0, "CREATE of '%s' handled on rank %d (B18)", name, rank);
        int source = -1, lost = -1;
        CHECK(pdm_dm_query_event_source(sid, m->ev_token, &source, &lost) == 0 && source == rank &&
                  lost == 0,
              "source of the CREATE: rank %d, lost %d", source, lost);
        CHECK(pdm_dm_query_event_source(sid, m->ev_token, NULL, &lost) == -1 && errno == EFAULT,
              "null rankp");
        CHECK(pdm_dm_query_event_source(sid, 0, &source, &lost) == -1 && errno == EINVAL,
              "no token");
        ++creates;
        CHECK(dm_respond_event(sid, m->ev_token, DM_RESP_CONTINUE, 0, 0, NULL) == 0, "respond");
      } else {
        CHECK(m->ev_type == DM_EVENT_POSTCREATE, "unexpected event %d", m->ev_type);
        ++postcreates;
      }
    }
  }
  return NULL;
}

int main(int argc, char **argv) {
  int provided;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  CHECK(argc == 2, "usage: mpiexec -n N dmapi_groups FS_CONFIG");
  CHECK(pdm_start(MPI_COMM_WORLD, argv[1]) == 0, "pdm_start");
  void *fsh = NULL;
  size_t fshlen = 0;
  CHECK(dm_path_to_fshandle("/", &fsh, &fshlen) == 0, "dm_path_to_fshandle");

  char info[32];
  snprintf(info, sizeof info, "hsm-%d", rank);
  CHECK(dm_create_session(DM_NO_SESSION, info, &sid) == 0, "dm_create_session");
  /* A standby (issue #4) must be in a group; leaving the group ends it. */
  CHECK(pdm_dm_set_session_standby(sid, 1) == -1 && errno == EINVAL, "a standby of no group");
  CHECK(pdm_dm_set_session_standby(DM_NO_SESSION, 1) == -1 && errno == EINVAL,
        "standby of no session");
  CHECK(pdm_dm_set_session_group(sid, "hsm") == 0, "join the group (B12)");
  CHECK(pdm_dm_set_session_standby(sid, 1) == 0, "standby member");
  MPI_Barrier(MPI_COMM_WORLD);
  if (rank == 0) {
    dm_eventset_t set = 0;
    DMEV_SET(DM_EVENT_CREATE, set);
    DMEV_SET(DM_EVENT_POSTCREATE, set);
    CHECK(pdm_dm_set_group_options("hsm", 1) == 0, "async to all");
    CHECK(pdm_dm_set_group_disp("hsm", fsh, fshlen, &set, DM_EVENT_MAX) == 0, "group disposition");
    CHECK(dm_set_eventlist(sid, fsh, fshlen, DM_NO_TOKEN, &set, DM_EVENT_MAX) == 0, "event list");
    dm_eventset_t read_only = 0;
    DMEV_SET(DM_EVENT_READ, read_only);
    CHECK(pdm_dm_set_group_disp("", fsh, fshlen, &read_only, DM_EVENT_MAX) == -1 && errno == EINVAL,
          "an empty group name is EINVAL");
  }
  MPI_Barrier(MPI_COMM_WORLD);

  pthread_t thread;
  CHECK(pthread_create(&thread, NULL, instance, NULL) == 0, "pthread_create");
  char path[32];
  snprintf(path, sizeof path, "/g-%d", rank);
  int fd = pdm_open(path, O_CREAT | O_EXCL | O_WRONLY, 0644);
  CHECK(fd >= 0 && pdm_close(fd) == 0, "create %s", path);
  CHECK(pthread_join(thread, NULL) == 0, "pthread_join");
  CHECK(creates == 1 && postcreates == size, "CREATE %d (want 1), POSTCREATE %d (want %d, B19)",
        creates, postcreates, size);

  MPI_Barrier(MPI_COMM_WORLD);
  if (rank == 0) {
    dm_eventset_t none = 0;
    CHECK(dm_set_eventlist(sid, fsh, fshlen, DM_NO_TOKEN, &none, DM_EVENT_MAX) == 0, "events off");
  }
  MPI_Barrier(MPI_COMM_WORLD);
  CHECK(dm_destroy_session(sid) == 0, "dm_destroy_session");
  dm_handle_free(fsh, fshlen);
  CHECK(pdm_stop() == 0, "pdm_stop");
  MPI_Finalize();
  return 0;
}

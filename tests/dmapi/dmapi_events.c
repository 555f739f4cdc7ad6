/* Synchronous and asynchronous namespace events through <pdm/dmapi.h>, as an
 * outside DM application would use them (C99, 4 ranks; CLAIMS.md B2, B7,
 * B20). Rank 1 is the DM application: it enables and disposes CREATE,
 * POSTCREATE, REMOVE and DESTROY to its session and answers every event,
 * aborting creates of names starting with "deny" with EACCES. Ranks 0, 2, 3
 * create a file (CREATE continued), try to create "deny-*" (aborted with
 * EACCES) and unlink the file (REMOVE continued, then DESTROY). Finally an
 * enabled event without disposition fails its operation with EIO. */
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

static void serve(dm_sessid_t sid, int expected) {
  static char buf[65536];
  int seen[DM_EVENT_MAX] = {0};
  int got = 0;
  while (got < expected) {
    size_t rlen = 0;
    CHECK(dm_get_events(sid, 16, DM_EV_WAIT, sizeof buf, buf, &rlen) == 0, "dm_get_events");
    for (dm_eventmsg_t *m = (dm_eventmsg_t *)buf; m != NULL;
         m = DM_STEP_TO_NEXT(m, dm_eventmsg_t *)) {
      ++got;
      ++seen[m->ev_type];
      if (m->ev_type == DM_EVENT_DESTROY) {
        dm_destroy_event_t *d = DM_GET_VALUE(m, ev_data, dm_destroy_event_t *);
        CHECK(dm_handle_is_valid(DM_GET_VALUE(d, ds_handle, void *), DM_GET_LEN(d, ds_handle)),
              "DESTROY carries the object's handle");
        continue;
      }
      dm_namesp_event_t *ne = DM_GET_VALUE(m, ev_data, dm_namesp_event_t *);
      const char *name = DM_GET_VALUE(ne, ne_name1, char *);
      CHECK(DM_GET_LEN(ne, ne_name1) > 0 &&
                (strncmp(name, "f-", 2) == 0 || strncmp(name, "deny-", 5) == 0),
            "event %d names '%s'", m->ev_type, name);
      CHECK(dm_handle_is_valid(DM_GET_VALUE(ne, ne_handle1, void *), DM_GET_LEN(ne, ne_handle1)),
            "the parent directory's handle");
      if (m->ev_type == DM_EVENT_POSTCREATE) {
        CHECK(m->ev_token == DM_INVALID_TOKEN, "asynchronous events carry no token");
        CHECK(ne->ne_retcode == 0 && dm_handle_is_valid(DM_GET_VALUE(ne, ne_handle2, void *),
                                                        DM_GET_LEN(ne, ne_handle2)),
              "POSTCREATE: the new file's handle");
        continue;
      }
      /* Synchronous: the token is ours until we answer. */
      dm_token_t tokens[64];
      unsigned int ntokens = 0;
      CHECK(dm_getall_tokens(sid, 64, tokens, &ntokens) == 0, "dm_getall_tokens");
      int held = 0;
      for (unsigned int i = 0; i < ntokens; ++i) held |= tokens[i] == m->ev_token;
      CHECK(held, "the session holds token %d", m->ev_token);
      if (strncmp(name, "deny-", 5) == 0) {
        CHECK(dm_respond_event(sid, m->ev_token, DM_RESP_ABORT, EACCES, 0, NULL) == 0, "abort");
      } else {
        CHECK(dm_respond_event(sid, m->ev_token, DM_RESP_CONTINUE, 0, 0, NULL) == 0, "continue");
      }
      CHECK(
          dm_respond_event(sid, m->ev_token, DM_RESP_CONTINUE, 0, 0, NULL) == -1 && errno == ESRCH,
          "a response is accepted once");
    }
  }
  CHECK(seen[DM_EVENT_CREATE] == 2 * 3 && seen[DM_EVENT_POSTCREATE] == 3 &&
            seen[DM_EVENT_REMOVE] == 3 && seen[DM_EVENT_DESTROY] == 3,
        "CREATE %d POSTCREATE %d REMOVE %d DESTROY %d", seen[DM_EVENT_CREATE],
        seen[DM_EVENT_POSTCREATE], seen[DM_EVENT_REMOVE], seen[DM_EVENT_DESTROY]);
}

int main(int argc, char **argv) {
  int provided, size;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  CHECK(argc == 2 && size == 4, "usage: mpiexec -n 4 dmapi_events FS_CONFIG");
  CHECK(pdm_start(MPI_COMM_WORLD, argv[1]) == 0, "pdm_start");

  void *fsh = NULL;
  size_t fshlen = 0;
  CHECK(dm_path_to_fshandle("/", &fsh, &fshlen) == 0, "dm_path_to_fshandle");
  /* dm_get_config_events names exactly the events pdm generates. */
  dm_eventset_t generated = 0;
  unsigned int nelem = 0;
  CHECK(dm_get_config_events(fsh, fshlen, DM_EVENT_MAX, &generated, &nelem) == 0 &&
            nelem == DM_EVENT_MAX,
        "dm_get_config_events");
  CHECK(DMEV_ISSET(DM_EVENT_CREATE, generated) && DMEV_ISSET(DM_EVENT_POSTCREATE, generated) &&
            DMEV_ISSET(DM_EVENT_REMOVE, generated) && DMEV_ISSET(DM_EVENT_DESTROY, generated) &&
            !DMEV_ISSET(DM_EVENT_LINK, generated) && !DMEV_ISSET(DM_EVENT_DEBUT, generated) &&
            !DMEV_ISSET(DM_EVENT_SYMLINK, generated),
        "generated set %#llx", (unsigned long long)generated);
  CHECK(dm_get_config_events(fsh, fshlen, 1, &generated, &nelem) == -1 && errno == E2BIG,
        "nelem below DM_EVENT_MAX is E2BIG");
  dm_size_t value = 0;
  CHECK(dm_get_config(fsh, fshlen, DM_CONFIG_MAX_HANDLE_SIZE, &value) == 0 && value == fshlen,
        "DM_CONFIG_MAX_HANDLE_SIZE is the handle size");
  CHECK(dm_get_config(fsh, fshlen, DM_CONFIG_PUNCH_HOLE, &value) == 0 && value == 1,
        "dm_punch_hole is supported");
  dm_sessid_t sid = DM_NO_SESSION;
  if (rank == kDm) {
    char info[] = "events-test";
    CHECK(dm_create_session(DM_NO_SESSION, info, &sid) == 0, "dm_create_session");
    dm_eventset_t set = 0;
    DMEV_SET(DM_EVENT_CREATE, set);
    DMEV_SET(DM_EVENT_POSTCREATE, set);
    DMEV_SET(DM_EVENT_REMOVE, set);
    DMEV_SET(DM_EVENT_DESTROY, set);
    CHECK(dm_set_disp(sid, fsh, fshlen, DM_NO_TOKEN, &set, DM_EVENT_MAX) == 0, "dm_set_disp");
    CHECK(dm_set_eventlist(sid, fsh, fshlen, DM_NO_TOKEN, &set, DM_EVENT_MAX) == 0,
          "dm_set_eventlist");
    size_t rlen = 0;
    char none[8];
    CHECK(dm_get_events(sid, 1, 0, sizeof none, none, &rlen) == -1 && errno == EAGAIN,
          "no event yet and no DM_EV_WAIT: EAGAIN");
  }
  MPI_Bcast(&sid, 1, MPI_INT, kDm, MPI_COMM_WORLD);
  /* B7, B20: events of file operations on every other rank reach the session. */
  if (rank == kDm) {
    serve(sid, 5 * 3);
  } else {
    char path[64];
    snprintf(path, sizeof path, "/f-%d", rank);
    int fd = pdm_open(path, O_CREAT | O_EXCL | O_WRONLY, 0644);
    CHECK(fd >= 0, "create %s (continued)", path);
    CHECK(pdm_close(fd) == 0, "close");
    snprintf(path, sizeof path, "/deny-%d", rank);
    CHECK(pdm_open(path, O_CREAT | O_WRONLY, 0644) == -1 && errno == EACCES,
          "ABORT(EACCES) fails the create with EACCES");
    struct stat st;
    CHECK(pdm_stat(path, &st) == -1 && errno == ENOENT, "the aborted file does not exist");
    snprintf(path, sizeof path, "/f-%d", rank);
    CHECK(pdm_unlink(path) == 0, "unlink %s (continued)", path);
  }
  MPI_Barrier(MPI_COMM_WORLD);
  /* An enabled event with no disposition fails the operation with EIO. */
  if (rank == kDm) {
    dm_eventset_t set = 0;
    DMEV_SET(DM_EVENT_RENAME, set);
    CHECK(dm_set_eventlist(sid, fsh, fshlen, DM_NO_TOKEN, &set, DM_EVENT_MAX) == 0, "rename on");
  }
  MPI_Barrier(MPI_COMM_WORLD);
  if (rank == 0) {
    int fd = pdm_open("/r", O_CREAT | O_WRONLY, 0644);
    CHECK(fd >= 0 && pdm_close(fd) == 0, "create /r (CREATE no longer enabled)");
    CHECK(pdm_rename("/r", "/s") == -1 && errno == EIO, "RENAME enabled without disposition: EIO");
  }
  MPI_Barrier(MPI_COMM_WORLD);
  if (rank == kDm) {
    dm_eventset_t none = 0;
    CHECK(dm_set_eventlist(sid, fsh, fshlen, DM_NO_TOKEN, &none, DM_EVENT_MAX) == 0, "events off");
    CHECK(dm_destroy_session(sid) == 0, "dm_destroy_session");
  }
  dm_handle_free(fsh, fshlen);
  CHECK(pdm_stop() == 0, "pdm_stop");
  MPI_Finalize();
  return 0;
}

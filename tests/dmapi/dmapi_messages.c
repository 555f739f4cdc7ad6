/* USER events, tokens and the mount/unmount and NOSPACE events through
 * <pdm/dmapi.h> (C99, 4 ranks; CLAIMS.md B2, B15, B20). Rank 1 holds
 * sessions A and B, rank 2 session C.
 *   1. dm_create_userevent, dm_find_eventmsg, dm_pending, dm_move_event,
 *      dm_respond_event on a token with no operation behind it; destroying
 *      a session that holds a token is EBUSY.
 *   2. dm_send_msg ASYNC across ranks; a session with an undelivered event
 *      cannot be destroyed (EBUSY), from its own rank or another.
 *   3. dm_send_msg SYNC: the sender waits for the answer, ABORT's errno;
 *      an event moved to another session is answered from there.
 *   4. MOUNT, when B takes the MOUNT disposition, and dm_get_mountinfo.
 *   5. NOSPACE: rank 2 runs with fault.nospace_writes = 3 (its first three
 *      data transfers fail with ENOSPC as on a full volume): CONTINUE
 *      retries the write, ABORT fails it with the session's errno.
 *   6. PREUNMOUNT and UNMOUNT, received by a thread of rank 1 while every
 *      rank is in pdm_stop.
 * Every errno path named by the XDSM manual pages of these functions. */
#define _POSIX_C_SOURCE 200809L /* setenv */
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

static int rank;

enum { kDm = 1, kOther = 2 };

static dm_sessid_t a, b, c;
static void *fsh;
static size_t fshlen;
static char buf[65536];
static int unmount_seen[DM_EVENT_MAX];

/* One event of a session, waiting for it. */
static dm_eventmsg_t *next_event(dm_sessid_t sid) {
  size_t rlen = 0;
  CHECK(dm_get_events(sid, 1, DM_EV_WAIT, sizeof buf, buf, &rlen) == 0, "dm_get_events");
  return (dm_eventmsg_t *)buf;
}

static void tokens_and_user_events(void) {
  char data[] = "hello";
  dm_token_t token = 0, moved = 0, held[4];
  unsigned int n = 0;
  size_t rlen = 0;
  char small[8];
  static char msgbuf[4096];
  dm_timestruct_t delay = {10, 0};

  CHECK(dm_create_userevent(a, sizeof data, data, &token) == 0 && token != DM_INVALID_TOKEN,
        "dm_create_userevent");
  CHECK(dm_getall_tokens(a, 4, held, &n) == 0 && n == 1 && held[0] == token,
        "the user event's token is held by A");
  CHECK(dm_create_userevent(c, sizeof data, data, &token) == -1 && errno == EINVAL,
        "a session of another rank: EINVAL");
  CHECK(dm_create_userevent(a, (size_t)1 << 20, buf, &token) == -1 && errno == E2BIG,
        "too much data: E2BIG");
  CHECK(dm_getall_tokens(a, 4, held, &n) == 0 && n == 1, "still one token");
  token = held[0];

  CHECK(dm_find_eventmsg(a, token, sizeof small, small, &rlen) == -1 && errno == E2BIG &&
            rlen > sizeof small,
        "dm_find_eventmsg: E2BIG with the length");
  CHECK(rlen <= sizeof msgbuf, "message of %zu bytes", rlen);
  CHECK(dm_find_eventmsg(a, token, sizeof msgbuf, msgbuf, &rlen) == 0, "dm_find_eventmsg");
  dm_eventmsg_t *m = (dm_eventmsg_t *)msgbuf;
  CHECK(m->ev_type == DM_EVENT_USER && m->ev_token == token, "USER event, type %d", m->ev_type);
  CHECK(DM_GET_LEN(m, ev_data) == sizeof data &&
            memcmp(DM_GET_VALUE(m, ev_data, char *), data, sizeof data) == 0,
        "the user data");
  CHECK(
      dm_find_eventmsg(a, DM_INVALID_TOKEN, sizeof msgbuf, msgbuf, &rlen) == -1 && errno == EINVAL,
      "invalid token: EINVAL");
  CHECK(dm_find_eventmsg(a, token + 1, sizeof msgbuf, msgbuf, &rlen) == -1 && errno == ESRCH,
        "a token A does not hold: ESRCH");
  CHECK(dm_find_eventmsg(a + 1000, token, sizeof msgbuf, msgbuf, &rlen) == -1 && errno == EINVAL,
        "unknown session: EINVAL");

  CHECK(dm_pending(a, token, &delay) == 0, "dm_pending");
  CHECK(dm_pending(a, token + 1, &delay) == -1 && errno == ESRCH, "dm_pending: ESRCH");
  CHECK(dm_pending(a + 1000, token, &delay) == -1 && errno == EINVAL, "dm_pending: EINVAL");

  CHECK(dm_destroy_session(a) == -1 && errno == EBUSY, "A holds a token: EBUSY");

  CHECK(dm_move_event(a, token, c, &moved) == -1 && errno == EINVAL,
        "dm_move_event to another rank's session: EINVAL");
  CHECK(dm_move_event(a, token, a + 1000, &moved) == -1 && errno == EINVAL,
        "dm_move_event to no session: EINVAL");
  CHECK(dm_move_event(a, token + 1, b, &moved) == -1 && errno == ESRCH,
        "dm_move_event of a token A does not hold: ESRCH");
  CHECK(dm_move_event(a, token, b, &moved) == 0 && moved == token, "dm_move_event");
  CHECK(dm_getall_tokens(a, 4, held, &n) == 0 && n == 0, "A holds nothing now");
  CHECK(dm_getall_tokens(b, 4, held, &n) == 0 && n == 1 && held[0] == moved, "B holds it");
  CHECK(dm_find_eventmsg(b, moved, sizeof msgbuf, msgbuf, &rlen) == 0 &&
            ((dm_eventmsg_t *)msgbuf)->ev_type == DM_EVENT_USER,
        "B finds the message");
  CHECK(dm_respond_event(a, moved, DM_RESP_CONTINUE, 0, 0, NULL) == -1 && errno == ESRCH,
        "A can no longer answer it");
  CHECK(dm_respond_event(b, moved, DM_RESP_CONTINUE, 0, 0, NULL) == 0, "B answers it");
  CHECK(dm_getall_tokens(b, 4, held, &n) == 0 && n == 0, "answered: gone");
  CHECK(dm_destroy_session(a) == 0, "A is idle: destroyed");
}

static void async_messages(void) {
  char text[32];
  snprintf(text, sizeof text, "async from %d", rank);
  if (rank == 0) CHECK(dm_send_msg(b, DM_MSGTYPE_ASYNC, strlen(text) + 1, text) == 0, "to B");
  if (rank == 3) CHECK(dm_send_msg(c, DM_MSGTYPE_ASYNC, strlen(text) + 1, text) == 0, "to C");
  MPI_Barrier(MPI_COMM_WORLD);
  /* B15 + XDSM: a session with an undelivered event is busy. */
  if (rank == kOther) CHECK(dm_destroy_session(c) == -1 && errno == EBUSY, "C busy (own rank)");
  if (rank == 0) CHECK(dm_destroy_session(c) == -1 && errno == EBUSY, "C busy (from rank 0)");
  MPI_Barrier(MPI_COMM_WORLD);
  if (rank == kDm || rank == kOther) {
    dm_eventmsg_t *m = next_event(rank == kDm ? b : c);
    CHECK(m->ev_type == DM_EVENT_USER && m->ev_token == DM_INVALID_TOKEN, "async USER event");
    CHECK(strcmp(DM_GET_VALUE(m, ev_data, char *), rank == kDm ? "async from 0" : "async from 3") ==
              0,
          "data '%s'", DM_GET_VALUE(m, ev_data, char *));
  }
  MPI_Barrier(MPI_COMM_WORLD);
}

static void sync_messages(void) {
  char text[] = "sync";
  if (rank == 3) {
    CHECK(dm_send_msg(b, DM_MSGTYPE_SYNC, sizeof text, text) == -1 && errno == EPERM,
          "ABORT(EPERM) comes back to the sender");
    CHECK(dm_send_msg(b, DM_MSGTYPE_SYNC, sizeof text, text) == 0, "CONTINUE");
  } else if (rank == kDm) {
    /* The first is aborted by B; the second is moved to D and answered
     * there: the waiting sender must still get the answer. */
    char info[] = "d";
    dm_sessid_t d = DM_NO_SESSION;
    dm_token_t moved = 0;
    CHECK(dm_create_session(DM_NO_SESSION, info, &d) == 0, "session D");
    for (int i = 0; i < 2; ++i) {
      dm_eventmsg_t *m = next_event(b);
      CHECK(m->ev_type == DM_EVENT_USER && m->ev_token != DM_INVALID_TOKEN, "sync USER event");
      if (i == 0) {
        CHECK(dm_respond_event(b, m->ev_token, DM_RESP_ABORT, EPERM, 0, NULL) == 0, "abort");
      } else {
        CHECK(dm_move_event(b, m->ev_token, d, &moved) == 0, "move to D");
        CHECK(dm_destroy_session(d) == -1 && errno == EBUSY, "D holds the token: EBUSY");
        CHECK(dm_respond_event(d, moved, DM_RESP_CONTINUE, 0, 0, NULL) == 0, "D answers");
      }
    }
    CHECK(dm_destroy_session(d) == 0, "D is idle");
  } else if (rank == 0) {
    CHECK(dm_send_msg(b, DM_MSGTYPE_INVALID, sizeof text, text) == -1 && errno == EINVAL,
          "invalid msgtype: EINVAL");
    CHECK(dm_send_msg(b + 1000, DM_MSGTYPE_ASYNC, sizeof text, text) == -1 && errno == EINVAL,
          "unknown session: EINVAL");
    CHECK(dm_send_msg(b, DM_MSGTYPE_ASYNC, (size_t)1 << 20, buf) == -1 && errno == E2BIG,
          "too much data: E2BIG");
  }
  MPI_Barrier(MPI_COMM_WORLD);
}

static int same_handle(void *h, size_t hlen, const char *path) {
  void *p = NULL;
  size_t plen = 0;
  CHECK(dm_path_to_handle((char *)path, &p, &plen) == 0, "handle of %s", path);
  int same = dm_handle_cmp(h, hlen, p, plen) == 0;
  dm_handle_free(p, plen);
  return same;
}

static void check_mount_event(dm_mount_event_t *me) {
  CHECK(dm_handle_cmp(DM_GET_VALUE(me, me_handle1, void *), DM_GET_LEN(me, me_handle1), fsh,
                      fshlen) == 0,
        "me_handle1: the file system");
  CHECK(same_handle(DM_GET_VALUE(me, me_roothandle, void *), DM_GET_LEN(me, me_roothandle), "/"),
        "me_roothandle: the root directory");
  CHECK(strcmp(DM_GET_VALUE(me, me_name1, char *), "/") == 0, "me_name1: the mount point");
  CHECK(DM_GET_LEN(me, me_name2) > 1, "me_name2: the file system's id");
}

static void mount_event(void) {
  if (rank != kDm) return;
  dm_eventset_t set = 0;
  DMEV_SET(DM_EVENT_MOUNT, set);
  CHECK(dm_set_disp(b, DM_GLOBAL_HANP, DM_GLOBAL_HLEN, DM_NO_TOKEN, &set, DM_EVENT_MAX) == 0,
        "MOUNT on the global handle");
  dm_eventmsg_t *m = next_event(b);
  CHECK(m->ev_type == DM_EVENT_MOUNT && m->ev_token != DM_INVALID_TOKEN, "MOUNT (synchronous)");
  check_mount_event(DM_GET_VALUE(m, ev_data, dm_mount_event_t *));
  CHECK(dm_respond_event(b, m->ev_token, DM_RESP_CONTINUE, 0, 0, NULL) == 0, "respond");

  static char info[4096];
  size_t rlen = 0;
  CHECK(dm_get_mountinfo(b, fsh, fshlen, DM_NO_TOKEN, 8, info, &rlen) == -1 && errno == E2BIG &&
            rlen > 8 && rlen <= sizeof info,
        "dm_get_mountinfo: E2BIG with the length");
  CHECK(dm_get_mountinfo(b, fsh, fshlen, DM_NO_TOKEN, sizeof info, info, &rlen) == 0,
        "dm_get_mountinfo");
  check_mount_event((dm_mount_event_t *)info);
  CHECK(dm_get_mountinfo(b, DM_GLOBAL_HANP, DM_GLOBAL_HLEN, DM_NO_TOKEN, sizeof info, info,
                         &rlen) == -1 &&
            errno == EINVAL,
        "not a file system handle: EINVAL");
  CHECK(dm_get_mountinfo(b + 1000, fsh, fshlen, DM_NO_TOKEN, sizeof info, info, &rlen) == -1 &&
            errno == EINVAL,
        "unknown session: EINVAL");
}

static void nospace_event(void) {
  if (rank == kDm) {
    dm_eventset_t set = 0;
    DMEV_SET(DM_EVENT_NOSPACE, set);
    DMEV_SET(DM_EVENT_PREUNMOUNT, set);
    DMEV_SET(DM_EVENT_UNMOUNT, set);
    CHECK(dm_set_disp(b, fsh, fshlen, DM_NO_TOKEN, &set, DM_EVENT_MAX) == 0, "dm_set_disp");
    CHECK(dm_set_eventlist(b, fsh, fshlen, DM_NO_TOKEN, &set, DM_EVENT_MAX) == 0, "event list");
  }
  if (rank == kOther) {
    int fd = pdm_open("/ns", O_CREAT | O_RDWR, 0644);
    CHECK(fd >= 0 && pdm_close(fd) == 0, "create /ns");
  }
  MPI_Barrier(MPI_COMM_WORLD);
  if (rank == kDm) {
    /* Write 1: CONTINUE (retry), ABORT (it fails); write 2: CONTINUE, and
     * its retry succeeds (no fault left). */
    for (int i = 0; i < 3; ++i) {
      dm_eventmsg_t *m = next_event(b);
      CHECK(m->ev_type == DM_EVENT_NOSPACE && m->ev_token != DM_INVALID_TOKEN, "NOSPACE");
      dm_namesp_event_t *ne = DM_GET_VALUE(m, ev_data, dm_namesp_event_t *);
      CHECK(same_handle(DM_GET_VALUE(ne, ne_handle1, void *), DM_GET_LEN(ne, ne_handle1), "/ns"),
            "NOSPACE names the file");
      CHECK(dm_respond_event(b, m->ev_token, i != 1 ? DM_RESP_CONTINUE : DM_RESP_ABORT,
                             i != 1 ? 0 : EDQUOT, 0, NULL) == 0,
            "respond");
    }
  } else if (rank == kOther) {
    char data[] = "written after a NOSPACE event";
    char back[sizeof data];
    int fd = pdm_open("/ns", O_RDWR, 0);
    CHECK(fd >= 0, "open /ns");
    CHECK(pdm_pwrite(fd, data, sizeof data, 0) == -1 && errno == EDQUOT,
          "CONTINUE retried, then ABORT(EDQUOT) failed the write");
    CHECK(pdm_pwrite(fd, data, sizeof data, 0) == (ssize_t)sizeof data, "CONTINUE retries");
    CHECK(pdm_pread(fd, back, sizeof back, 0) == (ssize_t)sizeof back &&
              memcmp(back, data, sizeof data) == 0,
          "the data is there");
    CHECK(pdm_pwrite(fd, data, sizeof data, 0) == (ssize_t)sizeof data, "no fault, no event");
    CHECK(pdm_close(fd) == 0, "close");
  }
  MPI_Barrier(MPI_COMM_WORLD);
}

/* Rank 1's DM thread while pdm_stop runs: PREUNMOUNT, then UNMOUNT. */
static void *unmount_handler(void *unused) {
  (void)unused;
  while (!unmount_seen[DM_EVENT_UNMOUNT]) {
    dm_eventmsg_t *m = next_event(b);
    ++unmount_seen[m->ev_type];
    dm_namesp_event_t *ne = DM_GET_VALUE(m, ev_data, dm_namesp_event_t *);
    CHECK(dm_handle_cmp(DM_GET_VALUE(ne, ne_handle1, void *), DM_GET_LEN(ne, ne_handle1), fsh,
                        fshlen) == 0,
          "event %d names the file system", m->ev_type);
    if (m->ev_type == DM_EVENT_PREUNMOUNT) {
      CHECK(m->ev_token != DM_INVALID_TOKEN && !unmount_seen[DM_EVENT_UNMOUNT],
            "PREUNMOUNT: synchronous, first");
      CHECK(dm_respond_event(b, m->ev_token, DM_RESP_CONTINUE, 0, 0, NULL) == 0, "respond");
    } else {
      CHECK(m->ev_type == DM_EVENT_UNMOUNT && m->ev_token == DM_INVALID_TOKEN, "UNMOUNT");
    }
  }
  return NULL;
}

int main(int argc, char **argv) {
  int provided, size;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  CHECK(argc == 2 && size == 4, "usage: mpiexec -n 4 dmapi_messages FS_CONFIG");
  /* NOSPACE: a documented fault injection setting, on one rank. */
  if (rank == kOther) setenv("PDM_FAULT_NOSPACE_WRITES", "3", 1);
  CHECK(pdm_start(MPI_COMM_WORLD, argv[1]) == 0, "pdm_start");
  CHECK(dm_path_to_fshandle("/", &fsh, &fshlen) == 0, "dm_path_to_fshandle");
  /* What dm_get_config(_events) report now. */
  dm_size_t value = 0;
  dm_eventset_t generated = 0;
  unsigned int nelem = 0;
  CHECK(dm_get_config(fsh, fshlen, DM_CONFIG_PENDING, &value) == 0 && value == 1, "PENDING");
  CHECK(dm_get_config(fsh, fshlen, DM_CONFIG_PERS_EVENTS, &value) == 0 && value == 1,
        "PERS_EVENTS");
  CHECK(dm_get_config(fsh, fshlen, DM_CONFIG_MAX_MESSAGE_DATA, &value) == 0 && value >= 4096,
        "MAX_MESSAGE_DATA %llu", (unsigned long long)value);
  CHECK(dm_get_config_events(fsh, fshlen, DM_EVENT_MAX, &generated, &nelem) == 0,
        "dm_get_config_events");
  CHECK(DMEV_ISSET(DM_EVENT_MOUNT, generated) && DMEV_ISSET(DM_EVENT_PREUNMOUNT, generated) &&
            DMEV_ISSET(DM_EVENT_UNMOUNT, generated) && DMEV_ISSET(DM_EVENT_CLOSE, generated) &&
            DMEV_ISSET(DM_EVENT_NOSPACE, generated) && DMEV_ISSET(DM_EVENT_USER, generated),
        "generated %#llx", (unsigned long long)generated);
  char info[] = "messages";
  if (rank == kDm) {
    CHECK(dm_create_session(DM_NO_SESSION, info, &a) == 0, "session A");
    CHECK(dm_create_session(DM_NO_SESSION, info, &b) == 0, "session B");
  }
  if (rank == kOther) CHECK(dm_create_session(DM_NO_SESSION, info, &c) == 0, "session C");
  MPI_Bcast(&a, 1, MPI_INT, kDm, MPI_COMM_WORLD);
  MPI_Bcast(&b, 1, MPI_INT, kDm, MPI_COMM_WORLD);
  MPI_Bcast(&c, 1, MPI_INT, kOther, MPI_COMM_WORLD);

  if (rank == kDm) tokens_and_user_events();
  MPI_Barrier(MPI_COMM_WORLD);
  async_messages();
  sync_messages();
  mount_event();
  MPI_Barrier(MPI_COMM_WORLD);
  nospace_event();
  if (rank == kOther) CHECK(dm_destroy_session(c) == 0, "C is idle now");

  pthread_t thread;
  if (rank == kDm) CHECK(pthread_create(&thread, NULL, unmount_handler, NULL) == 0, "thread");
  CHECK(pdm_stop() == 0, "pdm_stop");
  if (rank == kDm) {
    CHECK(pthread_join(thread, NULL) == 0, "join");
    CHECK(unmount_seen[DM_EVENT_PREUNMOUNT] == 1 && unmount_seen[DM_EVENT_UNMOUNT] == 1,
          "PREUNMOUNT %d UNMOUNT %d", unmount_seen[DM_EVENT_PREUNMOUNT],
          unmount_seen[DM_EVENT_UNMOUNT]);
  }
  dm_handle_free(fsh, fshlen);
  MPI_Finalize();
  return 0;
}

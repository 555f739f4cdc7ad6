/* Access rights through <pdm/dmapi.h>, as an outside DM application uses
 * them (C99, 4 ranks; issue #3, XDSM ch. 5 dm_request_right,
 * dm_release_right, dm_query_right, dm_upgrade_right, dm_downgrade_right).
 * Rank 1 is the DM application with two sessions: A holds CREATE, B holds
 * REMOVE. Rank 0 creates a file and rank 2 removes one; both wait for their
 * events, whose tokens A and B then use to hold rights on "/locked". Rank 1
 * answers both at the end, which releases the tokens' rights. */
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

/* The next event of a session: its token. */
static dm_token_t next_token(dm_sessid_t sid, int type) {
  static char buf[4096];
  size_t rlen = 0;
  dm_eventmsg_t *m = (dm_eventmsg_t *)buf;
  CHECK(dm_get_events(sid, 1, DM_EV_WAIT, sizeof buf, buf, &rlen) == 0, "dm_get_events");
  CHECK(m->ev_type == type && m->ev_token != DM_INVALID_TOKEN, "event %d", (int)m->ev_type);
  return m->ev_token;
}

static dm_right_t query(dm_sessid_t sid, void *h, size_t hlen, dm_token_t token) {
  dm_right_t right = DM_RIGHT_EXCL;
  CHECK(dm_query_right(sid, h, hlen, token, &right) == 0, "dm_query_right");
  return right;
}

int main(int argc, char **argv) {
  int provided, size;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  CHECK(argc == 2 && size == 4, "usage: mpiexec -n 4 dmapi_rights FS_CONFIG");
  CHECK(pdm_start(MPI_COMM_WORLD, argv[1]) == 0, "pdm_start");
  if (rank == 0) {
    int fd = pdm_open("/locked", O_CREAT | O_WRONLY, 0644);
    CHECK(fd >= 0 && pdm_close(fd) == 0, "create /locked");
    fd = pdm_open("/victim", O_CREAT | O_WRONLY, 0644);
    CHECK(fd >= 0 && pdm_close(fd) == 0, "create /victim");
  }
  MPI_Barrier(MPI_COMM_WORLD);
  if (rank == kDm) {
    void *fsh = NULL, *h = NULL;
    size_t fshlen = 0, hlen = 0;
    dm_sessid_t a, b;
    dm_eventset_t create = 0, remove = 0, both, none = 0;
    dm_token_t ta, tb;
    dm_size_t lock_upgrade = 0;
    char info_a[] = "rights-a", info_b[] = "rights-b", junk[32];
    CHECK(dm_path_to_fshandle("/locked", &fsh, &fshlen) == 0, "fs handle");
    CHECK(dm_path_to_handle("/locked", &h, &hlen) == 0, "handle");
    CHECK(
        dm_get_config(fsh, fshlen, DM_CONFIG_LOCK_UPGRADE, &lock_upgrade) == 0 && lock_upgrade == 1,
        "DM_CONFIG_LOCK_UPGRADE");
    CHECK(dm_create_session(DM_NO_SESSION, info_a, &a) == 0, "session A");
    CHECK(dm_create_session(DM_NO_SESSION, info_b, &b) == 0, "session B");
    DMEV_SET(DM_EVENT_CREATE, create);
    DMEV_SET(DM_EVENT_REMOVE, remove);
    both = create | remove;
    CHECK(dm_set_disp(a, fsh, fshlen, DM_NO_TOKEN, &create, DM_EVENT_MAX) == 0, "disp A");
    CHECK(dm_set_disp(b, fsh, fshlen, DM_NO_TOKEN, &remove, DM_EVENT_MAX) == 0, "disp B");
    CHECK(dm_set_eventlist(a, fsh, fshlen, DM_NO_TOKEN, &both, DM_EVENT_MAX) == 0, "events on");
    MPI_Barrier(MPI_COMM_WORLD); /* events enabled */
    ta = next_token(a, DM_EVENT_CREATE);
    tb = next_token(b, DM_EVENT_REMOVE);

    /* Errno paths. */
    memset(junk, 0, sizeof junk);
    CHECK(FAILS_WITH(dm_request_right(a, h, hlen, ta, 0, DM_RIGHT_NULL), EINVAL), "NULL right");
    CHECK(FAILS_WITH(dm_request_right(a, h, hlen, ta, 0x4, DM_RIGHT_SHARED), EINVAL), "flags");
    CHECK(FAILS_WITH(dm_request_right(a, h, hlen, DM_NO_TOKEN, 0, DM_RIGHT_SHARED), EINVAL),
          "DM_NO_TOKEN");
    CHECK(FAILS_WITH(dm_request_right(a, h, hlen, tb, 0, DM_RIGHT_SHARED), ESRCH),
          "a token the session does not hold");
    CHECK(FAILS_WITH(dm_request_right(a, junk, sizeof junk, ta, 0, DM_RIGHT_SHARED), EBADF),
          "not a handle");
    CHECK(FAILS_WITH(dm_request_right(a, fsh, fshlen, ta, 0, DM_RIGHT_SHARED), EINVAL),
          "a file system handle");
    CHECK(FAILS_WITH(dm_release_right(a, h, hlen, ta), EACCES), "release without a right");
    CHECK(FAILS_WITH(dm_upgrade_right(a, h, hlen, ta), EPERM), "upgrade from NULL");
    CHECK(FAILS_WITH(dm_downgrade_right(a, h, hlen, ta), EPERM), "downgrade from NULL");
    CHECK(query(a, h, hlen, ta) == DM_RIGHT_NULL, "no right yet");

    /* EXCL excludes every other token's right. */
    CHECK(dm_request_right(a, h, hlen, ta, 0, DM_RIGHT_EXCL) == 0, "A: EXCL");
    CHECK(query(a, h, hlen, ta) == DM_RIGHT_EXCL, "A holds EXCL");
    CHECK(FAILS_WITH(dm_request_right(b, h, hlen, tb, 0, DM_RIGHT_SHARED), EAGAIN), "B: SHARED");
    CHECK(FAILS_WITH(dm_request_right(b, h, hlen, tb, 0, DM_RIGHT_EXCL), EAGAIN), "B: EXCL");
    /* A value C allows but XDSM does not know (the C++ boundary must read
     * it without undefined behaviour: run under PDM_ASAN). */
    CHECK(FAILS_WITH(dm_request_right(a, h, hlen, ta, 0, (dm_right_t)7), EINVAL), "right 7");
    CHECK(FAILS_WITH(dm_respond_event(a, ta, (dm_response_t)9, 0, 0, NULL), EINVAL), "response 9");
    CHECK(FAILS_WITH(dm_send_msg(a, (dm_msgtype_t)9, 1, "x"), EINVAL), "msgtype 9");
    /* SHARED goes with SHARED; upgrade waits for nobody: EAGAIN. */
    CHECK(dm_downgrade_right(a, h, hlen, ta) == 0 && query(a, h, hlen, ta) == DM_RIGHT_SHARED,
          "A: downgrade");
    CHECK(dm_request_right(b, h, hlen, tb, DM_RR_WAIT, DM_RIGHT_SHARED) == 0, "B: SHARED");
    CHECK(FAILS_WITH(dm_upgrade_right(a, h, hlen, ta), EAGAIN), "A: upgrade while B shares");
    CHECK(dm_release_right(b, h, hlen, tb) == 0, "B: release");
    CHECK(dm_upgrade_right(a, h, hlen, ta) == 0 && query(a, h, hlen, ta) == DM_RIGHT_EXCL,
          "A: upgrade");
    /* DM calls made with a token need its right on the object: SHARED to
     * read, EXCL to change (EACCES otherwise). (DM_NO_TOKEN calls take a
     * short-term right and would wait here: tests/mpi/rights_test.cpp.) */
    {
      dm_attrname_t name;
      char value[] = "v", got[8];
      size_t rlen = 0;
      memset(&name, 0, sizeof name);
      memcpy(name.an_chars, "pdm.t", 5);
      CHECK(dm_set_dmattr(a, h, hlen, ta, &name, 0, 1, value) == 0, "A: set_dmattr under EXCL");
      CHECK(FAILS_WITH(dm_set_dmattr(b, h, hlen, tb, &name, 0, 1, value), EACCES),
            "B: set_dmattr with a token holding no right");
      CHECK(FAILS_WITH(dm_get_dmattr(b, h, hlen, tb, &name, sizeof got, got, &rlen), EACCES),
            "B: get_dmattr with a token holding no right");
      CHECK(FAILS_WITH(dm_read_invis(b, h, hlen, tb, 0, sizeof got, got), EACCES),
            "B: read_invis with a token holding no right");
      CHECK(dm_downgrade_right(a, h, hlen, ta) == 0, "A: downgrade to SHARED");
      CHECK(dm_get_dmattr(a, h, hlen, ta, &name, sizeof got, got, &rlen) == 0 && rlen == 1,
            "A: get_dmattr under SHARED");
      CHECK(FAILS_WITH(dm_remove_dmattr(a, h, hlen, ta, 0, &name), EACCES),
            "A: remove_dmattr needs EXCL");
      CHECK(dm_upgrade_right(a, h, hlen, ta) == 0, "A: upgrade again");
      CHECK(dm_remove_dmattr(a, h, hlen, ta, 0, &name) == 0, "A: remove_dmattr under EXCL");
    }
    /* Answering A's event releases its rights; B can then have EXCL, and a
     * DM_NO_TOKEN call (which takes a right for its duration) goes through. */
    CHECK(dm_respond_event(a, ta, DM_RESP_CONTINUE, 0, 0, NULL) == 0, "answer A");
    {
      dm_attrname_t name;
      char value[] = "v";
      memset(&name, 0, sizeof name);
      memcpy(name.an_chars, "pdm.t", 5);
      CHECK(dm_set_dmattr(b, h, hlen, DM_NO_TOKEN, &name, 0, 1, value) == 0 &&
                dm_remove_dmattr(b, h, hlen, DM_NO_TOKEN, 0, &name) == 0,
            "DM_NO_TOKEN calls once no right excludes them");
    }
    CHECK(FAILS_WITH(dm_query_right(a, h, hlen, ta, &(dm_right_t){DM_RIGHT_NULL}), ESRCH),
          "an answered token holds nothing");
    CHECK(dm_request_right(b, h, hlen, tb, 0, DM_RIGHT_EXCL) == 0, "B: EXCL after A answered");
    CHECK(dm_respond_event(b, tb, DM_RESP_CONTINUE, 0, 0, NULL) == 0, "answer B");
    /* A token moved by dm_move_event keeps its rights: destroying the session
     * it came from drops nothing. */
    {
      dm_sessid_t c, d;
      dm_token_t tu, moved, tb2;
      char info_c[] = "rights-c", info_d[] = "rights-d";
      CHECK(dm_create_session(DM_NO_SESSION, info_c, &c) == 0, "session C");
      CHECK(dm_create_session(DM_NO_SESSION, info_d, &d) == 0, "session D");
      CHECK(dm_create_userevent(c, 0, NULL, &tu) == 0, "C: a user token");
      CHECK(dm_request_right(c, h, hlen, tu, 0, DM_RIGHT_EXCL) == 0, "C: EXCL");
      CHECK(dm_move_event(c, tu, d, &moved) == 0 && moved == tu, "move C's token to D");
      CHECK(dm_destroy_session(c) == 0, "destroy C");
      CHECK(query(d, h, hlen, tu) == DM_RIGHT_EXCL, "D holds the moved EXCL");
      CHECK(dm_create_userevent(b, 0, NULL, &tb2) == 0, "B: a user token");
      CHECK(FAILS_WITH(dm_request_right(b, h, hlen, tb2, 0, DM_RIGHT_SHARED), EAGAIN),
            "the moved EXCL still excludes B");
      CHECK(dm_respond_event(d, tu, DM_RESP_CONTINUE, 0, 0, NULL) == 0, "D answers");
      CHECK(dm_request_right(b, h, hlen, tb2, 0, DM_RIGHT_SHARED) == 0, "B: SHARED after D");
      CHECK(dm_respond_event(b, tb2, DM_RESP_CONTINUE, 0, 0, NULL) == 0, "B answers");
      CHECK(dm_destroy_session(d) == 0, "destroy D");
    }
    CHECK(dm_set_eventlist(a, fsh, fshlen, DM_NO_TOKEN, &none, DM_EVENT_MAX) == 0, "events off");
    CHECK(dm_destroy_session(a) == 0 && dm_destroy_session(b) == 0, "destroy sessions");
    dm_handle_free(h, hlen);
    dm_handle_free(fsh, fshlen);
  } else {
    MPI_Barrier(MPI_COMM_WORLD); /* events enabled */
    if (rank == 0) {
      int fd = pdm_open("/token-a", O_CREAT | O_WRONLY, 0644);
      CHECK(fd >= 0 && pdm_close(fd) == 0, "create /token-a (continued)");
    }
    if (rank == 2) CHECK(pdm_unlink("/victim") == 0, "unlink /victim (continued)");
  }
  MPI_Barrier(MPI_COMM_WORLD);
  /* Nothing is locked any more: every rank writes the file. */
  {
    int fd = pdm_open("/locked", O_WRONLY, 0);
    char byte = (char)('0' + rank);
    CHECK(fd >= 0 && pdm_pwrite(fd, &byte, 1, rank) == 1 && pdm_close(fd) == 0, "write");
  }
  CHECK(pdm_stop() == 0, "pdm_stop");
  MPI_Finalize();
  return 0;
}

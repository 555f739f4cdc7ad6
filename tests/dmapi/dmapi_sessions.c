/* Sessions and dispositions through <pdm/dmapi.h>, written as an outside DM
 * application would (C99, 4 ranks; CLAIMS.md B2, B6, B8, B9, B10, B11, B15,
 * B17). Usage: mpiexec -n 4 dmapi_sessions FS_CONFIG. Exits non-zero, naming
 * the check, on the first failure of any rank. */
#include <errno.h>
#include <mpi.h>
#include <pdm/dmapi.h>
#include <pdm/pdm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "port_check.h"

static int rank;

int main(int argc, char **argv) {
  int provided, size;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  CHECK(argc == 2, "usage: dmapi_sessions FS_CONFIG");
  CHECK(pdm_start(MPI_COMM_WORLD, argv[1]) == 0, "pdm_start");

  char *version = NULL;
  CHECK(dm_init_service(&version) == 0 && version != NULL, "dm_init_service");

  /* B2, B6, B10, B11, B17: every rank (the manager's too) creates a session. */
  char info[64];
  snprintf(info, sizeof info, "port-test-%d", rank);
  dm_sessid_t mine = DM_NO_SESSION;
  CHECK(dm_create_session(DM_NO_SESSION, info, &mine) == 0, "dm_create_session");
  CHECK(mine != DM_NO_SESSION, "a real id");
  dm_sessid_t *all = malloc(sizeof(dm_sessid_t) * (size_t)size);
  MPI_Allgather(&mine, 1, MPI_INT, all, 1, MPI_INT, MPI_COMM_WORLD);
  for (int i = 0; i < size; ++i) {
    for (int j = i + 1; j < size; ++j) CHECK(all[i] != all[j], "ids unique (B17)");
    char got[DM_SESSION_INFO_LEN];
    size_t rlen = 0;
    char want[64];
    snprintf(want, sizeof want, "port-test-%d", i);
    CHECK(dm_query_session(all[i], sizeof got, got, &rlen) == 0, "dm_query_session %d", all[i]);
    CHECK(strcmp(got, want) == 0, "info of rank %d's session is '%s'", i, got);
    CHECK(rlen == strlen(want) + 1, "rlen");
    CHECK(
        dm_query_session(all[i], 2, got, &rlen) == -1 && errno == E2BIG && rlen == strlen(want) + 1,
        "E2BIG with the needed length");
  }
  unsigned int n = 0;
  CHECK(dm_getall_sessions(0, NULL, &n) == -1 && errno == E2BIG && n >= (unsigned)size,
        "dm_getall_sessions E2BIG tells the count");
  dm_sessid_t ids[256];
  CHECK(dm_getall_sessions(256, ids, &n) == 0, "dm_getall_sessions");
  CHECK(dm_query_session(999999, sizeof info, info, &(size_t){0}) == -1 && errno == EINVAL,
        "unknown session is EINVAL");
  char toolong[DM_SESSION_INFO_LEN + 2];
  memset(toolong, 'x', sizeof toolong - 1);
  toolong[sizeof toolong - 1] = '\0';
  dm_sessid_t unused;
  CHECK(dm_create_session(DM_NO_SESSION, toolong, &unused) == -1 && errno == E2BIG,
        "over-long info is E2BIG");

  /* B8, B9: rank 3 (not the session node) disposes READ|WRITE of the file
   * system to rank 1's session; rank 2 then asks WRITE|TRUNCATE for its own
   * session and is refused; every rank sees the same partition. */
  void *fshanp = NULL;
  size_t fshlen = 0;
  CHECK(dm_path_to_fshandle("/", &fshanp, &fshlen) == 0, "dm_path_to_fshandle");
  CHECK(dm_handle_is_valid(fshanp, fshlen) == DM_TRUE, "a valid handle");
  const dm_sessid_t hsm = all[1 % size];
  MPI_Barrier(MPI_COMM_WORLD);
  if (rank == 3 % size) {
    dm_eventset_t set = 0;
    DMEV_SET(DM_EVENT_READ, set);
    DMEV_SET(DM_EVENT_WRITE, set);
    CHECK(dm_set_disp(hsm, fshanp, fshlen, DM_NO_TOKEN, &set, DM_EVENT_MAX) == 0, "dm_set_disp");
  }
  MPI_Barrier(MPI_COMM_WORLD);
  if (rank == 2 % size) {
    dm_eventset_t set = 0;
    DMEV_SET(DM_EVENT_WRITE, set);
    DMEV_SET(DM_EVENT_TRUNCATE, set);
    CHECK(
        dm_set_disp(mine, fshanp, fshlen, DM_NO_TOKEN, &set, DM_EVENT_MAX) == -1 && errno == EBUSY,
        "a conflicting disposition is refused with EBUSY (B9)");
  }
  MPI_Barrier(MPI_COMM_WORLD);
  char buf[1024];
  size_t rlen = 0;
  CHECK(dm_getall_disp(hsm, 0, NULL, &rlen) == -1 && errno == E2BIG && rlen > 0,
        "dm_getall_disp E2BIG tells the size");
  CHECK(dm_getall_disp(hsm, sizeof buf, buf, &rlen) == 0, "dm_getall_disp");
  dm_dispinfo_t *d = (dm_dispinfo_t *)buf;
  CHECK(DMEV_ISSET(DM_EVENT_READ, d->di_eventset) && DMEV_ISSET(DM_EVENT_WRITE, d->di_eventset) &&
            !DMEV_ISSET(DM_EVENT_TRUNCATE, d->di_eventset),
        "the partition as set");
  CHECK(dm_handle_cmp(DM_GET_VALUE(d, di_fshandle, void *), DM_GET_LEN(d, di_fshandle), fshanp,
                      fshlen) == 0,
        "the disposition names the file system handle");
  CHECK(DM_STEP_TO_NEXT(d, dm_dispinfo_t *) == NULL, "one file system");
  dm_eventset_t read_only = 0;
  DMEV_SET(DM_EVENT_READ, read_only);
  CHECK(dm_set_disp(mine, DM_GLOBAL_HANP, DM_GLOBAL_HLEN, DM_NO_TOKEN, &read_only, DM_EVENT_MAX) ==
                -1 &&
            errno == EINVAL,
        "only MOUNT on the global handle");
  dm_handle_free(fshanp, fshlen);
  MPI_Barrier(MPI_COMM_WORLD);
  free(all);
  CHECK(dm_destroy_session(mine) == 0, "dm_destroy_session (B15)");
  CHECK(dm_destroy_session(mine) == -1 && errno == EINVAL, "destroying twice is EINVAL");
  CHECK(pdm_stop() == 0, "pdm_stop");
  MPI_Finalize();
  return 0;
}

// The job of the dm_status scenario (tests/jobs/dm_status.sh): a small DM
// application whose state the driver looks at from outside the job with
// `pdm sessions` and `pdm events`.
//
//   dm_status_job FS DIR   2 ranks. Each rank creates session "status-<rank>";
//                          rank 1's session holds CREATE (synchronous) and
//                          POSTCREATE (asynchronous) of the file system.
//                          Rank 0 creates /a in a thread, which raises CREATE;
//                          rank 1 takes it and leaves it unanswered, then
//                          writes DIR/ready and waits for DIR/go. Then it
//                          answers CONTINUE, the creation completes and rank 1
//                          takes the POSTCREATE; both sessions are destroyed
//                          and the job unmounts.
#include <fcntl.h>
#include <pdm/dmapi.h>
#include <pdm/pdm.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "tests/jobs/job_util.h"

namespace pdm::jobs {
namespace {

constexpr double kGoTimeout = 120;

bool call(int result, std::string_view what) {
  if (result == 0) return true;
  report("{}: {} ({})", what, std::strerror(errno), pdm_last_error());
  return false;
}

// One event of sid, waiting for it; its type and token, or false.
bool take_event(dm_sessid_t sid, dm_eventtype_t expected, dm_token_t &token) {
  std::vector<char> buffer(4096);
  size_t length = 0;
  if (!call(dm_get_events(sid, 1, DM_EV_WAIT, buffer.size(), buffer.data(), &length),
            "dm_get_events")) {
    return false;
  }
  const auto *m = reinterpret_cast<const dm_eventmsg_t *>(buffer.data());
  if (m->ev_type != expected) {
    report("got event {}, expected {}", static_cast<int>(m->ev_type), static_cast<int>(expected));
    return false;
  }
  token = m->ev_token;
  return true;
}

int run(const std::string &fs, const std::string &dir) {
  if (!call(pdm_start(MPI_COMM_WORLD, fs.c_str()), "pdm_start " + fs)) return 1;
  bool ok = true;
  dm_sessid_t sid = DM_NO_SESSION;
  const std::string info = fmt::format("status-{}", rank());
  ok = call(dm_create_session(DM_NO_SESSION, const_cast<char *>(info.c_str()), &sid),
            "dm_create_session") &&
       ok;
  if (ok && rank() == 1) {
    void *fsh = nullptr;
    size_t fshlen = 0;
    ok = call(dm_path_to_fshandle(const_cast<char *>("/"), &fsh, &fshlen), "dm_path_to_fshandle");
    dm_eventset_t set;
    DMEV_ZERO(set);
    DMEV_SET(DM_EVENT_CREATE, set);
    DMEV_SET(DM_EVENT_POSTCREATE, set);
    ok = ok && call(dm_set_disp(sid, fsh, fshlen, DM_NO_TOKEN, &set, DM_EVENT_MAX), "dm_set_disp");
    ok = ok && call(dm_set_eventlist(sid, fsh, fshlen, DM_NO_TOKEN, &set, DM_EVENT_MAX),
                    "dm_set_eventlist");
    if (fsh != nullptr) dm_handle_free(fsh, fshlen);
  }
  ok = all(ok);
  if (ok) {
    std::thread creator;
    bool created = true;
    if (rank() == 0) {
      creator = std::thread([&] {
        const int fd = pdm_open("/a", O_CREAT | O_EXCL | O_RDWR, 0644);
        created = fd >= 0 ? call(pdm_close(fd), "pdm_close /a") : call(-1, "pdm_open /a");
      });
    }
    if (rank() == 1) {
      dm_token_t token = DM_NO_TOKEN;
      ok = take_event(sid, DM_EVENT_CREATE, token);
      ok = ok && write_local_file(dir + "/ready", "ready\n");
      if (ok && !wait_for_local_file(dir + "/go", kGoTimeout)) {
        report("no {}/go within {} s", dir, kGoTimeout);
        ok = false;
      }
      ok = ok &&
           call(dm_respond_event(sid, token, DM_RESP_CONTINUE, 0, 0, nullptr), "dm_respond_event");
      dm_token_t none = DM_NO_TOKEN;
      ok = ok && take_event(sid, DM_EVENT_POSTCREATE, none);
    }
    if (creator.joinable()) creator.join();
    ok = created && ok;
  }
  ok = all(ok);
  if (sid != DM_NO_SESSION) ok = call(dm_destroy_session(sid), "dm_destroy_session") && ok;
  ok = call(pdm_stop(), "pdm_stop") && ok;
  return ok ? 0 : 1;
}

}  // namespace
}  // namespace pdm::jobs

int main(int argc, char **argv) {
  using namespace pdm::jobs;
  init_mpi(argc, argv);
  int code = 2;
  if (argc != 3) {
    report("usage: dm_status_job FS DIR");
  } else {
    code = run(argv[1], argv[2]);
  }
  MPI_Finalize();
  return code;
}

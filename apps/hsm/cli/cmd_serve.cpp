// pdm-hsm serve: every rank's recall agent handles events until SIGTERM or
// SIGINT, then every rank leaves cleanly (agent stopped, session
// destroyed, file system unmounted).
#include <fcntl.h>
#include <unistd.h>

#include <csignal>
#include <cstring>

#include <fmt/format.h>

#include "apps/hsm/cli/hsm_commands.h"
#include "apps/hsm/cli/hsm_job.h"

namespace pdm::cli {
namespace {

// The signal handler only writes the signal number to a pipe: whichever
// thread of the process gets the signal (MPI's and pdm's threads do not
// block it), the main thread reads it.
int g_signal_pipe[2] = {-1, -1};

extern "C" void on_stop_signal(int signal) {
  const unsigned char byte = static_cast<unsigned char>(signal);
  [[maybe_unused]] const ssize_t n = ::write(g_signal_pipe[1], &byte, 1);
}

int run(Invocation &invocation) {
  if (::pipe2(g_signal_pipe, O_CLOEXEC) != 0) {
    return invocation.fail(system_error(errno, "cannot create", "a signal pipe"));
  }
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  ::sigaction(SIGTERM, &action, nullptr);
  ::sigaction(SIGINT, &action, nullptr);
  return with_hsm(invocation, [&](HsmJob &job) {
    if (invocation.is_root()) {
      fmt::print(
          "pdm-hsm serve: {} ranks handle READ, WRITE and TRUNCATE events of migrated "
          "files (session group {}); SIGTERM or SIGINT stops\n",
          invocation.size(), hsm::kDefaultGroup);
      std::fflush(stdout);
    }
    unsigned char signal = 0;
    while (::read(g_signal_pipe[0], &signal, 1) < 0 && errno == EINTR) {
    }
    const hsm::RecallStats stats = job.agent.stats();
    const auto total = sum_over_ranks(
        invocation.world(),
        std::array<std::uint64_t, 4>{stats.events, stats.recalls, stats.stale, stats.failed});
    if (invocation.is_root()) {
      fmt::print(
          "pdm-hsm serve: stopping on {}: {} events, {} recalls, {} files made resident "
          "by a write or truncate, {} failed\n",
          signal != 0 ? ::strsignal(signal) : "a signal", total[0], total[1], total[2], total[3]);
      std::fflush(stdout);
    }
    return kExitOk;
  });
}

}  // namespace

Command serve_command() {
  Command command;
  command.name = "serve";
  command.summary = "handle the events of migrated files until stopped";
  command.arguments = "";
  command.description =
      "Runs the recall agent on every rank and waits: a read, write or truncate of a\n"
      "migrated file on a rank is handled by that rank's agent (one session per rank in\n"
      "the session group 'pdm-hsm'), which recalls the file from its archive. SIGTERM or\n"
      "SIGINT (to the ranks, or to mpiexec, which forwards it) makes every rank answer\n"
      "what it still has, destroy its session and unmount; rank 0 then prints what the\n"
      "agents did. Every other pdm-hsm command runs the same agent while it works.\n"
      "A file system is mounted by one job at a time (DESIGN.md section 2): serve handles\n"
      "the file operations of its own job, so today programs that run in-process with\n"
      "the agent (pdm-hsm's commands, pdm get) are how files are read back.";
  command.add_options = add_agent_options;
  command.run = run;
  return command;
}

}  // namespace pdm::cli

// pdm sessions: the DM sessions, their waiting events and the dispositions of
// the job that has the file system mounted, read from the status files the
// job publishes (runtime/node/status_publisher.h). It does not mount the file
// system: the job that has it mounted holds the mount lease.
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "apps/pdm/commands.h"
#include "apps/pdm/job_status.h"
#include "pfs/config/fs_config.h"
#include "pfs/config/lease.h"

namespace pdm::cli {
namespace {

using Json = nlohmann::ordered_json;

void print_human(const pfs::LeaseHolder &holder, const Json &status) {
  fmt::print(
      "mounted by pid {} on host {} since {}: {} ranks, manager {}, epoch {}, table version {}\n",
      holder.pid, holder.host, holder.since_text(), status["members"].size(),
      status["manager"].get<int>(), status["epoch"].get<std::uint64_t>(),
      status["version"].get<std::uint64_t>());
  std::vector<std::vector<std::string>> sessions{
      {"SESSION", "NODE", "GROUP", "STATE", "UNDELIVERED", "OUTSTANDING", "INFO"}};
  for (const Json &s : status["sessions"]) {
    const std::string group = s["group"].get<std::string>();
    sessions.push_back(
        {std::to_string(s["id"].get<int>()), std::to_string(s["node"].get<int>()),
         group.empty() ? "-" : group,
         s["state"].get<std::string>() + (s.value("standby", false) ? ", standby" : ""),
         std::to_string(s["undelivered"].get<int>()), std::to_string(s["outstanding"].get<int>()),
         s["info"].get<std::string>()});
  }
  if (sessions.size() == 1) {
    fmt::print("no sessions\n");
  } else {
    print_table(sessions);
  }
  for (const Json &fs : status["file_systems"]) {
    std::string list;
    for (const Json &event : fs["eventlist"])
      list += (list.empty() ? "" : " ") + event.get<std::string>();
    fmt::print("\nfile system {}: event list: {}\n", fs["fs"].get<std::string>(),
               list.empty() ? "(empty)" : list);
    std::vector<std::vector<std::string>> rows{{"EVENT", "DISPOSED TO"}};
    for (const auto &[event, target] : fs["dispositions"].items()) {
      rows.push_back({event, target.contains("session")
                                 ? fmt::format("session {}", target["session"].get<int>())
                                 : fmt::format("group {}", target["group"].get<std::string>())});
    }
    if (rows.size() == 1) {
      fmt::print("no dispositions\n");
    } else {
      print_table(rows);
    }
  }
}

int run(Invocation &invocation) {
  return run_job_show(
      invocation, JobShow{[](const Json &status) { return status; }, print_human, "; no sessions"});
}

}  // namespace

Command sessions_command() {
  Command command;
  command.name = "sessions";
  command.summary = "list the DM sessions and dispositions of the job that has the fs mounted";
  command.arguments = "";
  command.description =
      "Shows the DMAPI state of the job that has the file system mounted, without\n"
      "mounting it (that job holds the mount lease): the job, its ranks, the session\n"
      "manager, then one line per session (id, session node, group, state, events queued\n"
      "and not yet taken by dm_get_events, synchronous events taken and not answered,\n"
      "info), then per file system its event list and which session or group each\n"
      "event is disposed to. Every rank of the running job publishes this in the metadata\n"
      "volume's run/ directory and refreshes it within about 0.2 s of a change, so what\n"
      "this shows may be that old. With no job mounted (or one that ended without\n"
      "unmounting) it says so: sessions live as long as the job that made them.";
  command.exit_status =
      "0 ok (also when no job has the file system mounted), 1 the state could not be read,\n"
      "2 usage error";
  command.min_args = 0;
  command.max_args = 0;
  command.add_options = [](po::options_description &options) {
    options.add_options()("json", po::bool_switch(), "print one JSON object instead of tables");
  };
  command.run = run;
  return command;
}

}  // namespace pdm::cli

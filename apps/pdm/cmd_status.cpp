// pdm status: the view of the job that has the file system mounted (epoch,
// live and dead ranks, session manager, metadata server, volume owners,
// view changes) and its sessions, orphans first — what an operator asks
// after a node died (issue #4). Read from the status the job's manager
// publishes, like `pdm sessions`; it mounts nothing.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "apps/pdm/commands.h"
#include "apps/pdm/job_status.h"
#include "pfs/config/fs_config.h"

namespace pdm::cli {
namespace {

using Json = nlohmann::ordered_json;

void print_human(const pfs::LeaseHolder &holder, const Json &status) {
  const auto members = status["members"].get<std::vector<int>>();
  const auto dead = status["dead"].get<std::vector<int>>();
  fmt::print("job: pid {} on host {} since {}\n", holder.pid, holder.host, holder.since_text());
  fmt::print("view: epoch {}, {} of {} ranks live [{}]{}\n", status["epoch"].get<std::uint64_t>(),
             members.size(), status["ranks"].get<int>(), fmt::join(members, ","),
             dead.empty() ? std::string() : fmt::format(", dead [{}]", fmt::join(dead, ",")));
  fmt::print("session manager: rank {}\n", status["manager"].get<int>());
  fmt::print("metadata server: rank {}\n", status["metadata_server"].get<int>());
  const auto view_changes = status["view_changes"].get<std::uint64_t>();
  if (view_changes == 0) {
    fmt::print("view changes: none\n");
  } else {
    fmt::print("view changes: {}, last: {}\n", view_changes,
               status["last_view_change"].get<std::string>());
  }
  std::vector<std::vector<std::string>> volumes{{"VOLUME", "OWNER"}};
  int volume = 0;
  for (const Json &owner : status["volume_owners"]) {
    volumes.push_back({std::to_string(volume++), fmt::format("rank {}", owner.get<int>())});
  }
  fmt::print("\n");
  print_table(volumes);
  int active = 0;
  std::vector<std::vector<std::string>> orphans{
      {"ORPHANED SESSION", "DEAD NODE", "GROUP", "UNDELIVERED", "OUTSTANDING", "INFO"}};
  for (const Json &s : status["sessions"]) {
    if (s["state"] != "orphaned") {
      ++active;
      continue;
    }
    const std::string group = s["group"].get<std::string>();
    orphans.push_back({std::to_string(s["id"].get<int>()), std::to_string(s["node"].get<int>()),
                       group.empty() ? "-" : group, std::to_string(s["undelivered"].get<int>()),
                       std::to_string(s["outstanding"].get<int>()), s["info"].get<std::string>()});
  }
  fmt::print("\nsessions: {} active, {} orphaned\n", active, orphans.size() - 1);
  fmt::print("asynchronous events kept at their sources until handed out: {}\n",
             status.value("kept_async", std::uint64_t{0}));
  if (orphans.size() > 1) print_table(orphans);
}

// The --json document: the view part of the published status.
Json view_document(const Json &status) {
  Json view;
  for (const char *key :
       {"job", "written", "epoch", "ranks", "members", "dead", "manager", "metadata_server",
        "volume_owners", "view_changes", "last_view_change", "version", "sessions", "kept_async"}) {
    if (status.contains(key)) view[key] = status[key];
  }
  return view;
}

int run(Invocation &invocation) {
  return run_job_show(invocation, JobShow{view_document, print_human, ""});
}

}  // namespace

Command status_command() {
  Command command;
  command.name = "status";
  command.summary = "show the view of the job that has the fs mounted: ranks, manager, owners";
  command.arguments = "";
  command.description =
      "Shows the cluster view of the job that has the file system mounted, without\n"
      "mounting it (that job holds the mount lease): the view's epoch, which ranks are\n"
      "live and which died, the session manager, the metadata server, the owner of every\n"
      "volume, how many view changes the job went through and why the last one happened,\n"
      "and the sessions, with the orphaned ones (their node died and nobody assumed them\n"
      "yet) listed. The manager of the current view publishes this in the metadata\n"
      "volume's run/ directory and refreshes it within about 0.2 s of a change, so what\n"
      "this shows may be that old. With no job mounted it says so. `pdm sessions` shows\n"
      "the sessions' dispositions and event lists.";
  command.exit_status =
      "0 ok (also when no job has the file system mounted), 1 the state could not be read,\n"
      "2 usage error";
  command.min_args = 0;
  command.max_args = 0;
  command.add_options = [](po::options_description &options) {
    options.add_options()("json", po::bool_switch(), "print one JSON object instead of text");
  };
  command.run = run;
  return command;
}

}  // namespace pdm::cli

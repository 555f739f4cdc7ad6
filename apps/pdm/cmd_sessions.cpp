// pdm sessions: the DM sessions, their waiting events and the dispositions of
// the job that has the file system mounted, read from the status files the
// job publishes (runtime/node/status_publisher.h). It does not mount the file
// system: the job that has it mounted holds the mount lease.
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <optional>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "apps/pdm/commands.h"
#include "pfs/config/fs_config.h"
#include "pfs/config/lease.h"
#include "runtime/node/status_publisher.h"

namespace pdm::cli {
namespace {

using Json = nlohmann::ordered_json;

std::optional<Json> read_json(const std::string &path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  Json doc = Json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return std::nullopt;
  return doc;
}

std::string holder_text(const pfs::LeaseHolder &holder) {
  return fmt::format("{}:{}:{}", holder.host, holder.pid, holder.since);
}

bool pid_gone(const pfs::LeaseHolder &holder) {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0 || holder.host != host) return false;
  return kill(static_cast<pid_t>(holder.pid), 0) != 0 && errno == ESRCH;
}

// status.json with each session's waiting events merged in from the
// queues-<member>.json files of the same job.
Json merged_status(const std::string &run_dir, Json status) {
  const std::string job = status.value("job", "");
  for (Json &session : status["sessions"]) {
    session["undelivered"] = 0;
    session["outstanding"] = 0;
  }
  for (const Json &member : status["members"]) {
    auto queues = read_json(node::StatusPublisher::queues_path(run_dir, member.get<int>()));
    if (!queues || queues->value("job", "") != job) continue;
    for (Json &session : status["sessions"]) {
      const std::string id = std::to_string(session["id"].get<int>());
      if (!(*queues)["sessions"].contains(id)) continue;
      const Json &counts = (*queues)["sessions"][id];
      session["undelivered"] = session["undelivered"].get<int>() + counts["undelivered"].get<int>();
      session["outstanding"] = session["outstanding"].get<int>() + counts["outstanding"].get<int>();
    }
  }
  return status;
}

void print_table(const std::vector<std::vector<std::string>> &rows) {
  std::vector<std::size_t> widths;
  for (const auto &row : rows) {
    widths.resize(std::max(widths.size(), row.size()));
    for (std::size_t c = 0; c < row.size(); ++c) widths[c] = std::max(widths[c], row[c].size());
  }
  for (const auto &row : rows) {
    std::string line;
    for (std::size_t c = 0; c < row.size(); ++c) {
      line += c + 1 == row.size() ? row[c] : fmt::format("{:<{}}  ", row[c], widths[c]);
    }
    fmt::print("{}\n", line);
  }
}

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
    sessions.push_back({std::to_string(s["id"].get<int>()), std::to_string(s["node"].get<int>()),
                        group.empty() ? "-" : group, s["state"].get<std::string>(),
                        std::to_string(s["undelivered"].get<int>()),
                        std::to_string(s["outstanding"].get<int>()), s["info"].get<std::string>()});
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

int show(Invocation &invocation) {
  auto config = pfs::FsConfig::load(invocation.fs_config());
  if (!config.ok()) return invocation.fail(config.error());
  const std::string volume0 = config->volumes.front();
  auto holder = pfs::MountLease::read_holder(volume0);
  if (!holder.ok()) return invocation.fail(holder.error(), "mount lease");
  const bool json = invocation.flag("json");
  auto not_running = [&](const std::string &why) {
    if (json) {
      fmt::print("{}\n", Json{{"mounted", false}, {"reason", why}}.dump(2));
    } else {
      fmt::print("{}: {}; no sessions\n", config->path, why);
    }
    return kExitOk;
  };
  if (!holder->has_value()) return not_running("no job has the file system mounted");
  if (pid_gone(**holder)) {
    return not_running(
        fmt::format("the job that mounted it (pid {}) ended without unmounting", (*holder)->pid));
  }
  const std::string run_dir = volume0 + "/run";
  auto status = read_json(node::StatusPublisher::status_path(run_dir));
  if (!status || status->value("job", "") != holder_text(**holder)) {
    return invocation.fail(make_error(
        EAGAIN,
        "{}: the job holding the mount (pid {} on {}) has published no status yet (it is "
        "starting, or runs a pdm older than this tool); try again",
        config->path, (*holder)->pid, (*holder)->host));
  }
  Json merged = merged_status(run_dir, std::move(*status));
  if (json) {
    merged["mounted"] = true;
    fmt::print("{}\n", merged.dump(2));
  } else {
    print_human(**holder, merged);
  }
  return kExitOk;
}

int run(Invocation &invocation) {
  const int code = invocation.is_root() ? show(invocation) : kExitOk;
  auto shared = share_from_root(invocation.world(), code);
  return shared.ok() ? *shared : kExitFailed;
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

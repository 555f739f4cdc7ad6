// pdm events [--follow]: the DMAPI events the sessions of the job that has
// the file system mounted received, as the job logs them
// (runtime/node/status_publisher.h: run/events-<member>.log). It does not
// mount the file system, so it can watch a running job from outside.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "apps/pdm/commands.h"
#include "pfs/config/fs_config.h"
#include "pfs/config/lease.h"
#include "runtime/node/status_publisher.h"

namespace pdm::cli {
namespace {

using Json = nlohmann::ordered_json;
constexpr auto kPollInterval = std::chrono::milliseconds(200);

std::string job_of(const pfs::LeaseHolder &holder) {
  return fmt::format("{}:{}:{}", holder.host, holder.pid, holder.since);
}

// The job whose mount lease is held now, or "" (none, or one that died).
std::string live_job(const std::string &volume0) {
  auto holder = pfs::MountLease::read_holder(volume0);
  if (!holder.ok() || !holder->has_value()) return {};
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) == 0 && (*holder)->host == host &&
      kill(static_cast<pid_t>((*holder)->pid), 0) != 0 && errno == ESRCH) {
    return {};
  }
  return job_of(**holder);
}

// One rank's event log, read incrementally.
struct LogReader {
  std::string path;
  std::string job;  // from the first line
  std::streamoff offset = 0;
  std::string partial;  // a line not yet complete

  // The complete lines appended since the last call. A log that was
  // started anew (shorter than what was read) is read from its beginning.
  std::vector<Json> read_new() {
    std::vector<Json> out;
    std::error_code error;
    const auto size = static_cast<std::streamoff>(std::filesystem::file_size(path, error));
    if (error) return out;
    if (size < offset) {
      offset = 0;
      partial.clear();
      job.clear();
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) return out;
    in.seekg(offset);
    std::string chunk((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    offset += static_cast<std::streamoff>(chunk.size());
    partial += chunk;
    std::size_t start = 0;
    for (std::size_t end; (end = partial.find('\n', start)) != std::string::npos; start = end + 1) {
      Json line = Json::parse(partial.substr(start, end - start), nullptr, false);
      if (line.is_discarded()) continue;
      if (line.contains("job") && line.contains("member") && !line.contains("event")) {
        job = line["job"].get<std::string>();
        continue;
      }
      out.push_back(std::move(line));
    }
    partial.erase(0, start);
    return out;
  }
};

std::string clock_text(double time) {
  const auto seconds = static_cast<std::time_t>(time);
  std::tm local{};
  localtime_r(&seconds, &local);
  return fmt::format("{:02}:{:02}:{:02}.{:03}", local.tm_hour, local.tm_min, local.tm_sec,
                     static_cast<int>((time - static_cast<double>(seconds)) * 1000));
}

std::string human_line(const Json &e) {
  if (e.contains("dropped")) {
    return fmt::format("... {} events not logged (the job's log buffer was full)",
                       e["dropped"].get<std::uint64_t>());
  }
  std::string line =
      fmt::format("{}  session {}  {:<11} token {}  seq {}  from rank {}",
                  clock_text(e.value("time", 0.0)), e.value("session", 0), e.value("event", "?"),
                  e.value("token", 0), e.value("sequence", 0), e.value("source", -1));
  auto object = [&](const char *key, const char *label) {
    if (!e.contains(key) || e[key].value("ino", 0ull) == 0) return;
    line += fmt::format("  {} {}:{}", label, e[key]["ino"].get<std::uint64_t>(),
                        e[key]["generation"].get<std::uint64_t>());
  };
  object("object1", "object");
  object("object2", "object2");
  if (!e.value("name1", "").empty())
    line += fmt::format("  name \"{}\"", e["name1"].get<std::string>());
  if (!e.value("name2", "").empty())
    line += fmt::format("  new name \"{}\"", e["name2"].get<std::string>());
  if (e.value("mode", 0u) != 0) line += fmt::format("  mode {:o}", e["mode"].get<std::uint32_t>());
  if (e.value("retcode", 0) != 0) line += fmt::format("  retcode {}", e["retcode"].get<int>());
  const std::string event = e.value("event", "");
  if (event == "read" || event == "write" || event == "truncate") {
    line += fmt::format("  offset {} length {}", e.value("offset", 0ull), e.value("length", 0ull));
  }
  if (!e.value("data", "").empty()) {
    line += fmt::format("  data {} bytes", e["data"].get<std::string>().size());
  }
  return line;
}

class Tail {
 public:
  Tail(std::string run_dir, bool json, std::optional<int> session)
      : run_dir_(std::move(run_dir)), json_(json), session_(session) {}

  // Prints what the logs of `job` gained since the last call, in time order.
  void print_new(const std::string &job) {
    discover();
    std::vector<Json> lines;
    for (auto &[path, reader] : readers_) {
      for (Json &line : reader.read_new()) {
        if (reader.job == job) lines.push_back(std::move(line));
      }
    }
    std::stable_sort(lines.begin(), lines.end(), [](const Json &a, const Json &b) {
      return a.value("time", 0.0) < b.value("time", 0.0);
    });
    for (const Json &line : lines) {
      if (session_ && line.contains("session") && line["session"].get<int>() != *session_) continue;
      fmt::print("{}\n", json_ ? line.dump(-1, ' ', false, Json::error_handler_t::replace)
                               : human_line(line));
    }
    std::fflush(stdout);
  }

  // The job the logs name (the one that last mounted), or "".
  std::string logged_job() {
    discover();
    for (auto &[path, reader] : readers_) {
      if (reader.job.empty()) reader.read_new();
      if (!reader.job.empty()) return reader.job;
    }
    return {};
  }

 private:
  void discover() {
    std::error_code error;
    for (const auto &entry : std::filesystem::directory_iterator(run_dir_, error)) {
      const std::string name = entry.path().filename().string();
      if (name.rfind("events-", 0) == 0 && name.size() > 4 &&
          name.compare(name.size() - 4, 4, ".log") == 0 && !readers_.contains(name)) {
        readers_[name] = LogReader{entry.path().string()};
      }
    }
  }

  std::string run_dir_;
  bool json_;
  std::optional<int> session_;
  std::map<std::string, LogReader> readers_;
};

int show(Invocation &invocation) {
  auto config = pfs::FsConfig::load(invocation.fs_config());
  if (!config.ok()) return invocation.fail(config.error());
  const std::string volume0 = config->volumes.front();
  std::optional<int> session;
  if (invocation.options().count("session")) session = invocation.options()["session"].as<int>();
  Tail tail(volume0 + "/run", invocation.flag("json"), session);
  if (!invocation.flag("follow")) {
    // The current job's events, or the last job's when none is mounted.
    std::string job = live_job(volume0);
    if (job.empty()) job = tail.logged_job();
    if (!job.empty()) tail.print_new(job);
    return kExitOk;
  }
  // Wait for a job (the current one, else the next), then follow it until it unmounts.
  std::string job;
  while ((job = live_job(volume0)).empty()) {
    const std::string logged = tail.logged_job();
    if (!logged.empty()) {  // a job ran and ended before we looked: print it and stop
      tail.print_new(logged);
      return kExitOk;
    }
    std::this_thread::sleep_for(kPollInterval);
  }
  while (true) {
    const bool still_mounted = live_job(volume0) == job;
    tail.print_new(job);  // after the check: what a job logged before it unmounted is printed
    if (!still_mounted) return kExitOk;
    std::this_thread::sleep_for(kPollInterval);
  }
}

int run(Invocation &invocation) {
  const int code = invocation.is_root() ? show(invocation) : kExitOk;
  auto shared = share_from_root(invocation.world(), code);
  return shared.ok() ? *shared : kExitFailed;
}

}  // namespace

Command events_command() {
  Command command;
  command.name = "events";
  command.summary =
      "print the DM events the job that has the fs mounted delivered (--follow: live)";
  command.arguments = "";
  command.description =
      "Prints the DMAPI events the sessions of the job that has the file system mounted\n"
      "received, one line per event as dm_get_events hands it to the DM application: time,\n"
      "session, event type, token (0 for asynchronous events), sequence number, the rank\n"
      "that raised it, then what it names (objects as inode:generation, names, mode,\n"
      "return code). It does not mount the file system: every rank of the running job logs\n"
      "the events its sessions receive in the metadata volume's run/ directory (within\n"
      "about 0.2 s), and this reads those logs. With no job mounted it prints the events\n"
      "of the last job that was.\n"
      "\n"
      "With --follow it waits for a job to mount the file system if none has, then prints\n"
      "events as they arrive until that job unmounts (like tail -f); if a job ran and\n"
      "ended before it looked, it prints that job's events and exits.";
  command.min_args = 0;
  command.max_args = 0;
  command.add_options = [](po::options_description &options) {
    options.add_options()("follow,f", po::bool_switch(),
                          "keep printing events as they arrive, until the job unmounts")(
        "json", po::bool_switch(), "print each event as one JSON object per line")(
        "session", po::value<int>(), "only the events of this session id");
  };
  command.run = run;
  return command;
}

}  // namespace pdm::cli

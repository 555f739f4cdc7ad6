#include "apps/pdm/job_status.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>

#include <fmt/format.h>

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
// queues-<member>.json files of the same job, and the asynchronous events
// the members keep for their sessions summed ("kept_async").
Json merged_status(const std::string &run_dir, Json status) {
  const std::string job = status.value("job", "");
  for (Json &session : status["sessions"]) {
    session["undelivered"] = 0;
    session["outstanding"] = 0;
  }
  std::uint64_t kept_async = 0;
  for (const Json &member : status["members"]) {
    auto queues = read_json(node::StatusPublisher::queues_path(run_dir, member.get<int>()));
    if (!queues || queues->value("job", "") != job) continue;
    kept_async += queues->value("kept_async", std::uint64_t{0});
    for (Json &session : status["sessions"]) {
      const std::string id = std::to_string(session["id"].get<int>());
      if (!(*queues)["sessions"].contains(id)) continue;
      const Json &counts = (*queues)["sessions"][id];
      session["undelivered"] = session["undelivered"].get<int>() + counts["undelivered"].get<int>();
      session["outstanding"] = session["outstanding"].get<int>() + counts["outstanding"].get<int>();
    }
  }
  status["kept_async"] = kept_async;
  return status;
}

}  // namespace

Result<std::optional<RunningJob>> read_running_job(const pfs::FsConfig &config,
                                                   std::string *why_not) {
  const std::string volume0 = config.volumes.front();
  auto holder = pfs::MountLease::read_holder(volume0);
  if (!holder.ok())
    return make_error(holder.error().code, "mount lease: {}", holder.error().message);
  if (!holder->has_value()) {
    *why_not = "no job has the file system mounted";
    return std::optional<RunningJob>{};
  }
  if (pid_gone(**holder)) {
    *why_not =
        fmt::format("the job that mounted it (pid {}) ended without unmounting", (*holder)->pid);
    return std::optional<RunningJob>{};
  }
  const std::string run_dir = volume0 + "/run";
  auto status = read_json(node::StatusPublisher::status_path(run_dir));
  if (!status || status->value("job", "") != holder_text(**holder)) {
    return make_error(
        EAGAIN,
        "{}: the job holding the mount (pid {} on {}) has published no status yet (it is "
        "starting, or runs a pdm older than this tool); try again",
        config.path, (*holder)->pid, (*holder)->host);
  }
  return std::optional<RunningJob>{
      RunningJob{**holder, merged_status(run_dir, std::move(*status))}};
}

namespace {

int show_job(Invocation &invocation, const JobShow &show) {
  auto config = pfs::FsConfig::load(invocation.fs_config());
  if (!config.ok()) return invocation.fail(config.error());
  const bool json = invocation.flag("json");
  std::string why_not;
  auto job = read_running_job(*config, &why_not);
  if (!job.ok()) return invocation.fail(job.error());
  if (!job->has_value()) {
    if (json) {
      fmt::print("{}\n", Json{{"mounted", false}, {"reason", why_not}}.dump(2));
    } else {
      fmt::print("{}: {}{}\n", config->path, why_not, show.none_suffix);
    }
    return kExitOk;
  }
  if (json) {
    Json doc = show.json((*job)->status);
    doc["mounted"] = true;
    fmt::print("{}\n", doc.dump(2));
  } else {
    show.human((*job)->holder, (*job)->status);
  }
  return kExitOk;
}

}  // namespace

int run_job_show(Invocation &invocation, const JobShow &show) {
  const int code = invocation.is_root() ? show_job(invocation, show) : kExitOk;
  auto shared = share_from_root(invocation.world(), code);
  return shared.ok() ? *shared : kExitFailed;
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

}  // namespace pdm::cli

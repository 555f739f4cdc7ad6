#include "runtime/node/status_publisher.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "pfs/dm_events.h"
#include "pfs/volume_map.h"

namespace pdm::node {
namespace {

using Json = nlohmann::ordered_json;

Json event_names(dm::EventSet set) {
  Json names = Json::array();
  for (int event = 0; event < dm::kEventTypes; ++event) {
    if ((set & dm::event_bit(event)) != 0) names.push_back(pfs::dm_event::name(event));
  }
  return names;
}

// Session infos, file names and USER event data are bytes, not always
// UTF-8: invalid sequences become U+FFFD rather than an exception.
std::string dump_text(const Json &doc, int indent) {
  return doc.dump(indent, ' ', false, Json::error_handler_t::replace);
}
std::string dump_line(const Json &doc) {
  return dump_text(doc, -1);
}

// Writes text to path through a temporary file and a rename, so that a
// reader sees the old file or the new one, never a part.
void write_atomically(const std::string &path, const std::string &text) {
  const std::string temporary = path + ".tmp";
  std::FILE *file = std::fopen(temporary.c_str(), "w");
  if (file == nullptr) {
    spdlog::debug("status: cannot write {}: {}", temporary, std::strerror(errno));
    return;
  }
  const bool written = std::fwrite(text.data(), 1, text.size(), file) == text.size();
  if (std::fclose(file) != 0 || !written || std::rename(temporary.c_str(), path.c_str()) != 0) {
    spdlog::debug("status: cannot write {}: {}", path, std::strerror(errno));
    std::remove(temporary.c_str());
  }
}

}  // namespace

std::string JobIdentity::text() const {
  return fmt::format("{}:{}:{}", host, pid, since);
}

StatusPublisher::StatusPublisher(std::string run_dir, JobIdentity job,
                                 const cluster::Membership &membership,
                                 const cluster::FailureDetector &detector, std::uint32_t volumes,
                                 dm::ControlPlane &control, dm::EventService &events,
                                 dm::EventTap &tap)
    : run_dir_(std::move(run_dir)),
      job_(std::move(job)),
      membership_(membership),
      detector_(detector),
      volumes_(volumes),
      member_(membership.current()->self()),
      job_ranks_(static_cast<int>(membership.current()->members().size())),
      control_(control),
      events_(events),
      tap_(tap) {
  std::error_code ignored;
  std::filesystem::create_directories(run_dir_, ignored);
  start_log();
  publish(/*force=*/true);
  thread_ = std::thread([this] { loop(); });
}

StatusPublisher::~StatusPublisher() {
  stop_thread();
}

void StatusPublisher::stop_thread() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void StatusPublisher::remove() {
  stop_thread();
  append_events();
  std::remove(queues_path(run_dir_, member_).c_str());
  const auto view = membership_.current();
  if (view->manager() == view->self()) std::remove(status_path(run_dir_).c_str());
}

std::string StatusPublisher::status_path(const std::string &run_dir) {
  return run_dir + "/status.json";
}

std::string StatusPublisher::events_path(const std::string &run_dir, int member) {
  return fmt::format("{}/events-{}.log", run_dir, member);
}

Json StatusPublisher::event_json(const dm::EventTap::Entry &entry) {
  const dm::EventMessage &m = entry.message;
  return {{"time", entry.time},
          {"session", m.session},
          {"token", m.token},
          {"sequence", m.sequence},
          {"event", pfs::dm_event::name(m.type)},
          {"source", m.source},
          {"object1", {{"ino", m.object1.ino}, {"generation", m.object1.generation}}},
          {"object2", {{"ino", m.object2.ino}, {"generation", m.object2.generation}}},
          {"name1", m.name1},
          {"name2", m.name2},
          {"mode", m.mode},
          {"retcode", m.retcode},
          {"offset", m.offset},
          {"length", m.length},
          {"data", m.data}};
}

void StatusPublisher::start_log() {
  const std::string path = events_path(run_dir_, member_);
  std::FILE *file = std::fopen(path.c_str(), "w");
  if (file == nullptr) {
    spdlog::debug("status: cannot write {}: {}", path, std::strerror(errno));
    return;
  }
  const std::string header = Json{{"job", job_.text()}, {"member", member_}}.dump() + "\n";
  std::fwrite(header.data(), 1, header.size(), file);
  std::fclose(file);
  log_bytes_ = header.size();
}

void StatusPublisher::append_events() {
  std::uint64_t dropped = 0;
  const auto entries = tap_.take(dropped);
  if (entries.empty() && dropped == 0) return;
  std::string text;
  if (dropped != 0) text += Json{{"dropped", dropped}}.dump() + "\n";
  for (const auto &entry : entries) text += dump_line(event_json(entry)) + "\n";
  if (log_bytes_ + text.size() > kMaxLogBytes) {
    const std::string path = events_path(run_dir_, member_);
    std::rename(path.c_str(), (path + ".1").c_str());
    start_log();
  }
  const std::string path = events_path(run_dir_, member_);
  std::FILE *file = std::fopen(path.c_str(), "a");
  if (file == nullptr) {
    spdlog::debug("status: cannot append to {}: {}", path, std::strerror(errno));
    return;
  }
  std::fwrite(text.data(), 1, text.size(), file);
  std::fclose(file);
  log_bytes_ += text.size();
}

std::string StatusPublisher::queues_path(const std::string &run_dir, int member) {
  return fmt::format("{}/queues-{}.json", run_dir, member);
}

Json StatusPublisher::status_document() const {
  const auto view = membership_.current();
  Json doc;
  doc["job"] = job_.text();
  doc["written"] = static_cast<std::int64_t>(std::time(nullptr));
  doc["epoch"] = view->epoch();
  doc["ranks"] = job_ranks_;
  doc["members"] = view->members();
  Json dead = Json::array();
  for (int rank = 0; rank < job_ranks_; ++rank) {
    if (!view->is_live(rank)) dead.push_back(rank);
  }
  doc["dead"] = std::move(dead);
  doc["manager"] = view->manager();
  doc["metadata_server"] = pfs::metadata_owner(*view);
  Json owners = Json::array();
  for (std::uint32_t volume = 0; volume < volumes_; ++volume) {
    owners.push_back(pfs::owner_of(volume, *view));
  }
  doc["volume_owners"] = std::move(owners);
  doc["view_changes"] = detector_.view_changes();
  doc["last_view_change"] = detector_.last_reason();
  control_.read([&](const dm::SessionTable &table) {
    doc["version"] = table.version();
    Json sessions = Json::array();
    for (const auto &[id, s] : table.sessions()) {
      sessions.push_back({{"id", id},
                          {"node", s.node},
                          {"group", s.group},
                          {"info", s.info},
                          {"standby", s.standby},
                          {"state", s.state == dm::SessionState::kActive ? "active" : "orphaned"}});
    }
    doc["sessions"] = std::move(sessions);
    Json groups = Json::object();
    for (const auto &[id, s] : table.sessions()) {
      if (!s.group.empty() && !groups.contains(s.group)) {
        groups[s.group] = {{"async_to_all", table.group_options(s.group).async_to_all}};
      }
    }
    doc["groups"] = std::move(groups);
    Json file_systems = Json::array();
    for (const auto &[fs, state] : table.file_systems()) {
      Json dispositions = Json::object();
      for (int event = 0; event < dm::kEventTypes; ++event) {
        const dm::DispTarget &target = state.dispositions[static_cast<std::size_t>(event)];
        if (target.empty()) continue;
        dispositions[std::string(pfs::dm_event::name(event))] =
            target.session != 0 ? Json{{"session", target.session}} : Json{{"group", target.group}};
      }
      file_systems.push_back({{"fs", fs == dm::kGlobalFs ? "global" : fmt::format("{:016x}", fs)},
                              {"eventlist", event_names(state.eventlist)},
                              {"dispositions", std::move(dispositions)}});
    }
    doc["file_systems"] = std::move(file_systems);
  });
  return doc;
}

Json StatusPublisher::queues_document() const {
  Json doc;
  doc["job"] = job_.text();
  doc["member"] = member_;
  Json sessions = Json::object();
  for (const auto &[session, counts] : events_.queue_counts()) {
    sessions[std::to_string(session)] = {{"undelivered", counts.undelivered},
                                         {"outstanding", counts.outstanding}};
  }
  doc["sessions"] = std::move(sessions);
  // Asynchronous events raised here that their sessions have not handed out
  // yet: sent again if a session's node dies (EventCourier).
  doc["kept_async"] = events_.kept_async();
  return doc;
}

void StatusPublisher::publish(bool force) {
  const auto view = membership_.current();
  if (view->manager() == view->self()) {
    const std::uint64_t version =
        control_.read([](const dm::SessionTable &t) { return t.version(); });
    if (force || version != published_version_ || view->epoch() != published_epoch_) {
      write_atomically(status_path(run_dir_), dump_text(status_document(), 2) + "\n");
      published_version_ = version;
      published_epoch_ = view->epoch();
    }
  }
  Json queues = queues_document();
  std::string counts = queues["sessions"].dump() + queues["kept_async"].dump();
  if (force || counts != published_queues_) {
    write_atomically(queues_path(run_dir_, member_), dump_text(queues, 2) + "\n");
    published_queues_ = std::move(counts);
  }
}

void StatusPublisher::loop() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    wake_.wait_for(lock, kInterval, [this] { return stopping_; });
    if (stopping_) break;
    lock.unlock();
    publish(/*force=*/false);
    append_events();
    lock.lock();
  }
}

}  // namespace pdm::node

#include "apps/hsm/agent/recall_agent.h"

#include <sys/stat.h>

#include <chrono>

#include <spdlog/spdlog.h>

#include "apps/hsm/agent/gone_list.h"
#include "apps/hsm/agent/recall_settings.h"
#include "runtime/dm/api/handles.h"
#include "runtime/dm/api/right.h"
#include "runtime/dm/session_table.h"
#include "runtime/node/node.h"
#include "runtime/node/process_node.h"

namespace pdm::hsm {
namespace {

// The USER message an agent sends itself to end its event thread.
constexpr const char *kStopMessage = "pdm-hsm-agent-stop";
constexpr unsigned kEventsPerCall = 16;

dm::EventSet data_events() {
  return api::event_bit(api::EventType::kRead) | api::event_bit(api::EventType::kWrite) |
         api::event_bit(api::EventType::kTruncate);
}

// REMOVE is enabled in the file system's event list while an agent runs;
// it comes before the unlink, while the file's record can still be read.
const dm::EventSet kRemoveEvent = api::event_bit(api::EventType::kRemove);

bool is_removal(const api::Event &event) {
  const auto *ns = event.as<api::NamespaceEvent>();
  return ns != nullptr && ns->type == api::EventType::kRemove;
}

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool is_stop(const api::Event &event) {
  const auto *user = event.as<api::UserEvent>();
  return user != nullptr && user->data == kStopMessage;
}

}  // namespace

Result<std::unique_ptr<RecallAgent>> RecallAgent::start(std::shared_ptr<ArchiveSet> archives,
                                                        RecallAgentOptions options) {
  auto *node = node::process_node();
  if (node == nullptr)
    return make_error(EINVAL, "the recall agent needs a started pdm (pdm_start)");
  unsigned max_recalls = 0;
  if (options.max_recalls) {
    max_recalls = *options.max_recalls;
    if (max_recalls < 1 || max_recalls > kMaxMaxRecalls) {
      return make_error(EINVAL, "max_recalls {} must be from 1 to {}", max_recalls, kMaxMaxRecalls);
    }
  } else {
    PDM_ASSIGN_OR_RETURN(max_recalls,
                         resolve_max_recalls(max_recalls_sources(node->fs().config())));
  }
  PDM_ASSIGN_OR_RETURN(auto session,
                       api::Session::create(fmt::format("pdm-hsm agent rank {}", node->rank())));
  PDM_TRY(session.join_group(options.group));
  // Every instance is a standby of the others: when a rank dies, the
  // recalls its instance had pending go to a live one (issue #4).
  PDM_TRY(session.set_standby(true));
  // Every member sets the same set: whichever comes first makes the group
  // the holder, the others replace it with itself (idempotent).
  PDM_TRY(api::set_group_disposition(options.group, data_events() | kRemoveEvent));
  // Then REMOVE in the file system's list (never enabled before it has a
  // disposition): every member adds the bit, which is idempotent.
  PDM_ASSIGN_OR_RETURN(const dm::EventSet list, session.eventlist());
  if ((list & kRemoveEvent) == 0) PDM_TRY(session.set_eventlist(list | kRemoveEvent));
  std::unique_ptr<RecallAgent> agent(
      new RecallAgent(std::move(session), std::move(archives), std::move(options), max_recalls));
  return agent;
}

RecallAgent::RecallAgent(api::Session session, std::shared_ptr<ArchiveSet> archives,
                         RecallAgentOptions options, unsigned max_recalls)
    : session_(std::move(session)),
      archives_(std::move(archives)),
      options_(std::move(options)),
      max_recalls_(max_recalls) {
  for (unsigned i = 0; i < max_recalls_; ++i) {
    workers_.emplace_back([this] { worker_loop(); });
  }
  event_thread_ = std::thread([this] { event_loop(); });
}

RecallAgent::~RecallAgent() {
  if (auto stopped = stop(); !stopped.ok()) {
    spdlog::error("pdm-hsm: stopping the recall agent: {}", stopped.error().message);
  }
}

void RecallAgent::event_loop() {
  for (;;) {
    auto events = session_.get_events(kEventsPerCall, true);
    if (!events.ok()) {
      if (stopping_) return;
      spdlog::error("pdm-hsm: waiting for events of session {}: {}", session_.id(),
                    events.error().message);
      return;
    }
    for (api::Event &event : *events) {
      if (is_stop(event)) {
        if (stopping_) return;
        continue;
      }
      if (event.as<api::DataEvent>() == nullptr && !is_removal(event)) {
        // Nothing else is disposed to the group; answer what comes anyway so
        // that no operation waits on us.
        if (event.synchronous()) (void)session_.respond(event, api::Continue{});
        continue;
      }
      std::lock_guard lock(mutex_);
      queue_.push_back(std::move(event));
      ready_.notify_one();
    }
  }
}

void RecallAgent::worker_loop() {
  for (;;) {
    api::Event event;
    {
      std::unique_lock lock(mutex_);
      ready_.wait(lock, [&] { return closing_ || !queue_.empty(); });
      if (queue_.empty()) return;
      event = std::move(queue_.front());
      queue_.pop_front();
    }
    handle(event);
  }
}

void RecallAgent::handle(const api::Event &event) {
  if (is_removal(event)) return handle_removal(event);
  const auto *data = event.as<api::DataEvent>();
  if (data == nullptr) return;
  ++events_;
  const std::uint64_t active = ++active_;
  for (std::uint64_t peak = peak_.load();
       active > peak && !peak_.compare_exchange_weak(peak, active);) {
  }
  Status outcome = [&]() -> Status {
    PDM_ASSIGN_OR_RETURN(auto right,
                         session_.request_right(event.token, data->object, dm::Right::kExcl, true));
    PDM_ASSIGN_OR_RETURN(const StepOutcome step,
                         recall_locked(session_, data->object, event.token, *archives_));
    if (step == StepOutcome::kDone) ++recalls_;
    if (data->type != api::EventType::kRead) {
      PDM_TRY(mark_stale(session_, data->object, event.token));
      ++stale_;
    }
    return right.release();
  }();
  --active_;
  if (!outcome.ok()) {
    report_failure(data->object, outcome.error());
    if (auto answered = session_.respond(event, api::Abort{EIO}); !answered.ok()) {
      spdlog::error("pdm-hsm: answering event {}: {}", event.token, answered.error().message);
    }
    return;
  }
  if (auto answered = session_.respond(event, api::Continue{}); !answered.ok()) {
    spdlog::error("pdm-hsm: answering event {}: {}", event.token, answered.error().message);
  }
}

Status RecallAgent::note_removal(const api::Event &event) {
  const auto &removal = *event.as<api::NamespaceEvent>();
  if (!S_ISREG(removal.mode)) return {};
  // The event names the directory and the entry; the file is found by path.
  PDM_ASSIGN_OR_RETURN(const std::string dir, api::path_of(removal.parent, removal.parent));
  const std::string path = dir.ends_with('/') ? dir + removal.name : dir + "/" + removal.name;
  auto file = api::handle_of(path);
  if (!file.ok()) return file.error().code == ENOENT ? Status{} : Status(file.error());
  PDM_ASSIGN_OR_RETURN(const auto record, read_record(session_, *file));
  if (!record || !record->location) return {};
  // A file with other links keeps its record and copy: `remove` finds the
  // copy referenced and forgets the line.
  PDM_ASSIGN_OR_RETURN(const api::Handle root, api::handle_of("/"));
  PDM_ASSIGN_OR_RETURN(auto right,
                       session_.request_right(event.token, root, dm::Right::kExcl, true));
  PDM_TRY(note_removed(session_, root, event.token, {record->location->encode()}, now_ns()));
  ++removals_;
  return right.release();
}

void RecallAgent::handle_removal(const api::Event &event) {
  ++events_;
  // The removal goes on whatever happens here: a copy not noted now is an
  // orphan that `pdm-hsm remove` finds by its scan.
  if (auto noted = note_removal(event); !noted.ok()) {
    const auto &removal = *event.as<api::NamespaceEvent>();
    spdlog::warn("pdm-hsm: noting the archive copy of removed '{}' (directory {}): {}",
                 removal.name, removal.parent.to_string(), noted.error().message);
  }
  if (auto answered = session_.respond(event, api::Continue{}); !answered.ok()) {
    spdlog::error("pdm-hsm: answering event {}: {}", event.token, answered.error().message);
  }
}

void RecallAgent::report_failure(const api::Handle &file, const Error &error) {
  ++failed_;
  // The path, as the archive recorded it, makes the log line useful to a
  // person; the handle is all the event has.
  std::string path;
  if (auto record = read_record(session_, file); record.ok() && *record && (*record)->location) {
    if (auto archive = archives_->get((*record)->location->archive_id); archive.ok()) {
      if (auto described = (*archive)->describe(*(*record)->location); described.ok()) {
        path = described->path;
      }
    }
  }
  spdlog::error("pdm-hsm: recall of {}{} failed (the access gets EIO): {}",
                path.empty() ? "" : path + ", ", file.to_string(), error.message);
}

Result<StepOutcome> RecallAgent::recall(const api::Handle &file) {
  PDM_ASSIGN_OR_RETURN(auto lock, ExclusiveFile::take(session_, file));
  auto step = recall_locked(session_, file, lock.token(), *archives_);
  if (step.ok() && *step == StepOutcome::kDone) ++recalls_;
  return step;
}

RecallStats RecallAgent::stats() const {
  return RecallStats{events_.load(), recalls_.load(), failed_.load(),
                     stale_.load(),  peak_.load(),    removals_.load()};
}

Status RecallAgent::stop() {
  if (stopped_) return {};
  stopped_ = true;
  Status first;
  auto note = [&](Status status) {
    if (!status.ok() && first.ok()) first = std::move(status);
  };
  stopping_ = true;
  note(api::send_message(session_.id(), false, kStopMessage));
  if (event_thread_.joinable()) event_thread_.join();
  // No new events come to a session out of the group; those already queued
  // for it are answered here. The last member to leave also takes REMOVE
  // out of the file system's list, in the same replicated change: an
  // enabled event without a disposition would fail every unlink with EIO
  // (DESIGN.md section 5), and a leave followed by a separate change left a
  // moment when it did.
  note(session_.leave_group(kRemoveEvent));
  for (;;) {
    auto events = session_.get_events(kEventsPerCall, false);
    if (!events.ok()) {
      if (events.error().code != EAGAIN) note(events.error());
      break;
    }
    for (const api::Event &event : *events) {
      if (event.as<api::DataEvent>() != nullptr || is_removal(event)) {
        handle(event);
      } else if (event.synchronous()) {
        (void)session_.respond(event, api::Continue{});
      }
    }
  }
  {
    std::lock_guard lock(mutex_);
    closing_ = true;
  }
  ready_.notify_all();
  for (auto &worker : workers_) worker.join();
  workers_.clear();
  note(session_.destroy());
  return first;
}

}  // namespace pdm::hsm

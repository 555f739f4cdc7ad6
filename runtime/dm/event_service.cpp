#include "runtime/dm/event_service.h"

#include "pfs/dm_events.h"
#include "runtime/mpi/typed_rpc.h"

namespace pdm::dm {
namespace {

constexpr mpi::MsgType kDeliver = 0x0410;  // source -> session node: queue an event
constexpr mpi::MsgType kRespond = 0x0411;  // session node -> source: the outcome of a token

struct Response {
  Token token = 0;
  std::int32_t error = 0;
  auto fields() { return std::tie(token, error); }
};

int source_of(Token token) {
  return (token >> 20) - 1;
}

// READ, WRITE, TRUNCATE: enabled by managed regions, not by the event list (XFS).
bool is_data_event(int type) {
  return type == pfs::dm_event::kRead || type == pfs::dm_event::kWrite ||
         type == pfs::dm_event::kTruncate;
}

}  // namespace

EventService::EventService(mpi::RpcEngine &engine, ControlPlane &control, FsId fs)
    : engine_(engine), control_(control), fs_(fs) {}

void EventService::attach() {
  engine_.register_handler(kDeliver, mpi::make_handler<EventMessage>(
                                         [this](const EventMessage &m, const mpi::Request &) {
                                           {
                                             std::lock_guard lock(mutex_);
                                             Queue &queue = queues_[m.session];
                                             EventMessage queued = m;
                                             queued.sequence = queue.next_sequence++;
                                             queue.undelivered.push_back(std::move(queued));
                                           }
                                           changed_.notify_all();
                                           return Status{};
                                         }));
  engine_.register_handler(
      kRespond, mpi::make_handler<Response>([this](const Response &r, const mpi::Request &) {
        {
          std::lock_guard lock(mutex_);
          auto it = pending_.find(r.token);
          if (it == pending_.end() || it->second.outcome) {
            return Status(make_error(ESRCH, "token {} is not pending here", r.token));
          }
          it->second.outcome = r.error;
        }
        changed_.notify_all();
        return Status{};
      }));
}

bool EventService::wanted(int type) const {
  return (control_.read([&](const SessionTable &t) { return t.eventlist(fs_); }) &
          event_bit(type)) != 0;
}

Result<std::vector<Session>> EventService::targets_of(int type, bool synchronous) const {
  const int self = engine_.membership().current()->self();
  return control_.read([&](const SessionTable &t) -> Result<std::vector<Session>> {
    const DispTarget target = t.disposition(fs_, type);
    if (target.empty()) {
      return make_error(EIO, "event {} is enabled but disposed to no session", type);
    }
    if (target.session != 0) {
      const Session *s = t.session(target.session);
      if (s == nullptr || s->state != SessionState::kActive) {
        return make_error(EIO, "event {}: session {} is not active", type, target.session);
      }
      return std::vector<Session>{*s};
    }
    std::vector<Session> active;
    for (const Session *m : t.members(target.group)) {
      if (m->state == SessionState::kActive) active.push_back(*m);
    }
    if (active.empty()) {
      return make_error(EIO, "event {}: group '{}' has no active member", type, target.group);
    }
    if (!synchronous && t.group_options(target.group).async_to_all) return active;  // B19
    for (const Session &m : active) {
      if (m.node == self) return std::vector<Session>{m};  // B18: handled where it arises
    }
    return std::vector<Session>{active.front()};
  });
}

Token EventService::make_token() {
  const int self = engine_.membership().current()->self();
  std::lock_guard lock(mutex_);
  next_token_ = (next_token_ + 1) & 0xfffff;
  if (next_token_ == 0) next_token_ = 1;
  return static_cast<Token>(((self + 1) << 20) | static_cast<int>(next_token_));
}

Status EventService::raise(const pfs::FsEvent &event, bool synchronous) {
  if (!is_data_event(event.type) && !wanted(event.type)) return {};
  auto targets = targets_of(event.type, synchronous);
  if (!targets.ok()) {
    // XDSM/GPFS: an enabled event nobody holds fails a synchronous operation;
    // an asynchronous one is dropped.
    return synchronous ? Status(std::move(targets).error()) : Status{};
  }
  EventMessage m;
  m.type = event.type;
  m.source = engine_.membership().current()->self();
  m.object1 = {event.object1.ino, event.object1.generation};
  m.object2 = {event.object2.ino, event.object2.generation};
  m.name1 = event.name1;
  m.name2 = event.name2;
  m.mode = event.mode;
  m.retcode = event.retcode;
  m.offset = event.offset;
  m.length = event.length;
  if (!synchronous) {
    // Every target at once; an asynchronous event never fails the operation.
    std::vector<mpi::PendingCall> calls;
    for (const Session &target : *targets) {
      m.session = target.id;
      calls.push_back(engine_.start(target.node, kDeliver, mpi::encode_message(m)));
    }
    engine_.wait_all(calls);
    return {};
  }
  const Session &target = targets->front();
  m.session = target.id;
  m.token = make_token();
  {
    std::lock_guard lock(mutex_);
    pending_[m.token] = Pending{};
  }
  auto delivered = engine_.call(target.node, kDeliver, mpi::encode_message(m));
  if (!delivered.ok()) {
    std::lock_guard lock(mutex_);
    pending_.erase(m.token);
    return make_error(EIO, "event {} could not reach session {}: {}", event.type, target.id,
                      delivered.error().message);
  }
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] { return pending_[m.token].outcome.has_value(); });
  const int error = *pending_[m.token].outcome;
  pending_.erase(m.token);
  if (error != 0) return make_error(error, "aborted by DM session {}", target.id);
  return {};
}

Status EventService::check_local_session(SessionId session) const {
  const int self = engine_.membership().current()->self();
  return control_.read([&](const SessionTable &t) -> Status {
    const Session *s = t.session(session);
    if (s == nullptr) return make_error(EINVAL, "session {} does not exist", session);
    if (s->node != self) {
      return make_error(EINVAL, "session {} lives on rank {}, not here", session, s->node);
    }
    return {};
  });
}

Result<std::vector<EventMessage>> EventService::get_events(
    SessionId session, unsigned max_messages, bool wait,
    const std::function<bool(std::size_t, const EventMessage &)> &fits) {
  PDM_TRY(check_local_session(session));
  std::unique_lock lock(mutex_);
  Queue &queue = queues_[session];
  if (queue.undelivered.empty()) {
    if (!wait) return make_error(EAGAIN, "no event for session {}", session);
    changed_.wait(lock, [&] { return !queue.undelivered.empty(); });
  }
  std::vector<EventMessage> out;
  while (!queue.undelivered.empty() && out.size() < std::max(1u, max_messages) &&
         fits(out.size(), queue.undelivered.front())) {
    EventMessage m = std::move(queue.undelivered.front());
    queue.undelivered.pop_front();
    if (m.token != 0) queue.outstanding.emplace(m.token, m);
    out.push_back(std::move(m));
  }
  if (out.empty()) return make_error(E2BIG, "the next event of session {} does not fit", session);
  return out;
}

Status EventService::respond(SessionId session, Token token, int error) {
  PDM_TRY(check_local_session(session));
  {
    std::lock_guard lock(mutex_);
    Queue &queue = queues_[session];
    if (queue.outstanding.erase(token) == 0) {
      return make_error(ESRCH, "session {} holds no token {}", session, token);
    }
  }
  return mpi::call_status(engine_, source_of(token), kRespond, Response{token, error});
}

Result<std::vector<Token>> EventService::tokens(SessionId session) {
  PDM_TRY(check_local_session(session));
  std::lock_guard lock(mutex_);
  std::vector<Token> out;
  for (const auto &[token, m] : queues_[session].outstanding) out.push_back(token);
  return out;
}

}  // namespace pdm::dm

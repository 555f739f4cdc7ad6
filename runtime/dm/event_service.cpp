#include "runtime/dm/event_service.h"

#include <chrono>
#include <limits>
#include <thread>

#include <spdlog/spdlog.h>

#include "pfs/dm_events.h"
#include "runtime/base/failpoint.h"
#include "runtime/dm/event_tap.h"
#include "runtime/mpi/backoff.h"
#include "runtime/mpi/typed_rpc.h"

namespace pdm::dm {
namespace {

// source -> session node: queue an event. A synchronous event from another
// rank is answered when its session responds (a deferred reply carrying an
// Answer); everything else is answered with an empty body once queued.
constexpr mpi::MsgType kDeliver = 0x0410;
constexpr mpi::MsgType kCloseSession = 0x0412;   // any rank -> session node: close for destroy
constexpr mpi::MsgType kReopenSession = 0x0413;  // any rank -> session node: undo the close

namespace ev = pfs::dm_event;

// The session's response to a synchronous event: 0 continues the operation.
struct Answer {
  std::int32_t error = 0;
  auto fields() { return std::tie(error); }
};

// How many answers a session node keeps for repeated deliveries, and how long.
constexpr std::size_t kAnswersKept = 1 << 16;
constexpr auto kAnswersKeptFor = std::chrono::minutes(2);
// How long the two ends of a synchronous event poll without pausing (the
// source for the answer, the session's waiting reader for deliveries)
// before they back off, and how long the reader serves deliveries at all
// before it sleeps until the progress thread queues one. A round trip takes
// a few µs; a sleep and a wake-up take 40 µs or more (mpi::Backoff).
constexpr auto kEventBusy = std::chrono::microseconds(50);
constexpr auto kReaderServes = std::chrono::microseconds(200);

struct SessionRequest {
  SessionId session = 0;
  auto fields() { return std::tie(session); }
};

bool is_rename(int type) {
  return type == ev::kRename || type == ev::kPostrename;
}

// READ, WRITE, TRUNCATE: enabled by managed regions, not by the event list (XFS).
bool is_data_event(int type) {
  return type == pfs::dm_event::kRead || type == pfs::dm_event::kWrite ||
         type == pfs::dm_event::kTruncate;
}

}  // namespace

EventService::EventService(mpi::RpcEngine &engine, ControlPlane &control, FsId fs)
    : engine_(engine),
      control_(control),
      fs_(fs),
      answers_(kAnswersKept, kAnswersKeptFor),
      async_queued_(kAnswersKept, kAnswersKeptFor),
      courier_(engine, control, [this](int node, const EventMessage &m) {
        return mpi::call_status(engine_, node, kDeliver, m);
      }) {}

void EventService::set_orphan_timeout(std::chrono::milliseconds limit) {
  orphan_timeout_ = limit;
  courier_.set_orphan_timeout(limit);
}

void EventService::attach() {
  courier_.attach();
  engine_.set_express(kDeliver);
  engine_.register_handler(kDeliver, [this](const mpi::Request &request, mpi::Encoder &) -> Status {
    PDM_ASSIGN_OR_RETURN(auto m, mpi::decode_payload<EventMessage>(request.payload));
    // A refusal that time does not cure, for the courier's drop test.
    if (failpoint::hit("event_service.refuse_delivery")) {
      return make_error(EPROTO, "delivery of event {} refused (failpoint)", m.type);
    }
    // A synchronous event from another rank: its call waits for the answer.
    std::optional<mpi::ReplyAddress> reply_to;
    if (m.token != 0 && m.source >= 0) reply_to = engine_.defer(request);
    return enqueue(m, std::move(reply_to));
  });
  engine_.register_handler(kCloseSession,
                           mpi::make_handler<SessionRequest>(
                               [this](const SessionRequest &r, const mpi::Request &) -> Status {
                                 return close_local(r.session);
                               }));
  engine_.register_handler(kReopenSession,
                           mpi::make_handler<SessionRequest>(
                               [this](const SessionRequest &r, const mpi::Request &) -> Status {
                                 {
                                   std::lock_guard lock(mutex_);
                                   queues_[r.session].closed = false;
                                 }
                                 return Status{};
                               }));
}

Status EventService::enqueue(const EventMessage &m, std::optional<mpi::ReplyAddress> reply_to) {
  const int self = engine_.membership().current()->self();
  const bool here = control_.read([&](const SessionTable &t) {
    const Session *s = t.session(m.session);
    return s != nullptr && s->node == self;
  });
  std::optional<int> answered;
  {
    std::lock_guard lock(mutex_);
    if (reply_to) {
      // The source sends an event again when a view change cut its call
      // (the session may have moved the token meanwhile: dm_move_event).
      // Queued here already: answer the new call. Answered already: now.
      if (auto known = reply_to_.find(m.token); known != reply_to_.end()) {
        known->second = std::move(*reply_to);
        failpoint::hit("event_service.repeat_queued");  // for failure_sync_cut_*
        return {};
      }
      if (const int *answer = answers_.find(m.token); answer != nullptr) {
        answered = *answer;
        failpoint::hit("event_service.repeat_answered");
      }
    }
    // An asynchronous event its source keeps a copy of (EventCourier).
    const bool kept_at_source = !reply_to && m.receipt != 0 && m.source >= 0;
    if (kept_at_source && async_queued_.find({m.source, m.receipt}) != nullptr) {
      // An asynchronous event whose delivery a view change cut after it was
      // queued here: its source sent it again. Queued (or handed out) once.
      failpoint::hit("event_service.repeat_async");
      return {};
    }
    if (!answered) {
      if (!here) return make_error(ESRCH, "session {} is not on rank {}", m.session, self);
      Queue &queue = queues_[m.session];
      if (queue.closed) return make_error(ESRCH, "session {} is being destroyed", m.session);
      if (kept_at_source) async_queued_.put({m.source, m.receipt}, true);
      EventMessage queued = m;
      queued.sequence = queue.next_sequence++;
      if (tap_ != nullptr) tap_->record(queued);
      queue.undelivered.push_back(std::move(queued));
      queued_.fetch_add(1, std::memory_order_release);
      if (reply_to) reply_to_.emplace(m.token, std::move(*reply_to));
    }
  }
  if (answered) return send_answer(*reply_to, m.token, *answered);
  changed_.notify_all();
  return {};
}

Status EventService::send_answer(const mpi::ReplyAddress &to, Token token, int error) {
  Status sent = engine_.reply(to, mpi::encode_message(Answer{error}));
  // ESTALE: a view change cut the source's call; it sends the event again
  // and gets the answer kept in answers_.
  if (!sent.ok() && sent.error().code != ESTALE) {
    spdlog::warn("token {}: the answer could not be sent: {}", token, sent.error().message);
  }
  return {};
}

bool EventService::wanted(int type) const {
  return (control_.read([&](const SessionTable &t) {
           return t.eventlist(fs_) | t.object_events_union(fs_);
         }) &
          event_bit(type)) != 0;
}

bool EventService::wanted(int type, pfs::EventObject governing) const {
  const EventSet set = control_.read([&](const SessionTable &t) {
    if (governing.valid()) {
      if (auto own = t.object_eventlist(fs_, governing.ino, governing.generation)) return *own;
    }
    return t.eventlist(fs_);
  });
  return (set & event_bit(type)) != 0;
}

void EventService::object_gone(pfs::EventObject object) {
  const bool listed = control_.read([&](const SessionTable &t) {
    return t.object_eventlist(fs_, object.ino, object.generation).has_value();
  });
  if (!listed) return;
  Update u;
  u.kind = Update::Kind::kDropObjectEventList;
  u.fs = fs_;
  u.ino = object.ino;
  u.generation = object.generation;
  if (auto done = control_.submit(u); !done.ok()) {
    // Harmless: inode numbers are never reused, and the stored list is gone.
    spdlog::warn("could not drop the event list of inode {}: {}", object.ino, done.error().message);
  }
}

Result<std::vector<Session>> EventService::targets_of(FsId fs, int type, bool synchronous) {
  const int self = engine_.membership().current()->self();
  // A group with no member here: one of `candidates`, chosen outside the
  // table's lock (least_loaded takes the courier's, whose thread reads the
  // table while holding it).
  bool by_load = false;
  auto targets = control_.read([&](const SessionTable &t) -> Result<std::vector<Session>> {
    const DispTarget target = t.disposition(fs, type);
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
    by_load = true;
    return active;
  });
  if (!targets.ok() || !by_load) return targets;
  return std::vector<Session>{least_loaded(*targets)};
}

Session EventService::least_loaded(const std::vector<Session> &members) {
  // The load a source can see without asking anyone: the events it sent to
  // each member that are not done (synchronous ones not answered,
  // asynchronous ones not handed out). Ties go to the lowest session id.
  std::map<SessionId, std::size_t> load;
  {
    std::lock_guard lock(mutex_);
    for (const auto &[token, pending] : pending_) {
      if (!pending.outcome) ++load[pending.session];
    }
  }
  const Session *best = &members.front();
  std::size_t best_load = std::numeric_limits<std::size_t>::max();
  for (const Session &m : members) {
    const std::size_t l = load[m.id] + courier_.kept_for(m.id);
    if (l < best_load) {
      best = &m;
      best_load = l;
    }
  }
  return *best;
}

Token EventService::make_token() {
  const int self = engine_.membership().current()->self();
  std::lock_guard lock(mutex_);
  next_token_ = (next_token_ + 1) & 0xfffff;
  if (next_token_ == 0) next_token_ = 1;
  return static_cast<Token>(((self + 1) << 20) | static_cast<int>(next_token_));
}

Status EventService::raise(const pfs::FsEvent &event, bool synchronous) {
  // Data events are enabled by the file's managed regions, not by event lists.
  bool governed = is_data_event(event.type) || wanted(event.type, event.object1);
  if (!governed && is_rename(event.type) && event.object2.valid()) {
    governed = wanted(event.type, event.object2);  // either directory may ask for it
  }
  if (!governed) return {};
  auto targets = targets_of(fs_, event.type, synchronous);
  if (!targets.ok()) {
    // XDSM/GPFS: an enabled event nobody holds fails a synchronous operation;
    // an asynchronous one is dropped.
    return synchronous ? Status(std::move(targets).error()) : Status{};
  }
  EventMessage m;
  m.type = event.type;
  m.object1 = {event.object1.ino, event.object1.generation};
  m.object2 = {event.object2.ino, event.object2.generation};
  m.name1 = event.name1;
  m.name2 = event.name2;
  m.mode = event.mode;
  m.retcode = event.retcode;
  m.offset = event.offset;
  m.length = event.length;
  return deliver(std::move(m), *targets, synchronous);
}

Status EventService::deliver(EventMessage m, const std::vector<Session> &targets,
                             bool synchronous) {
  m.source = engine_.membership().current()->self();
  if (!synchronous) {
    // Every target at once; an asynchronous event never fails the operation.
    // The courier keeps a copy of each until its session hands it out, and
    // sends it again if a view change cut this call or the session moves
    // (issue #4: no event lost; at least once, documented in FAILURES.md).
    std::vector<mpi::PendingCall> calls;
    std::vector<std::uint64_t> receipts;
    for (const Session &target : targets) {
      m.session = target.id;
      courier_.keep(m, target.node);
      receipts.push_back(m.receipt);
      calls.push_back(engine_.start(target.node, kDeliver, mpi::encode_message(m)));
    }
    auto results = engine_.wait_all(calls);
    for (std::size_t i = 0; i < results.size(); ++i) {
      courier_.sent(receipts[i], results[i].ok() ? Status{} : Status(results[i].error()));
    }
    // A test sends the last one again, as the courier does when a view
    // change cut a delivery that its node had queued.
    if (failpoint::hit("event_service.deliver_async_again")) {
      (void)mpi::call_status(engine_, targets.back().node, kDeliver, m);
    }
    return {};
  }
  const Session &target = targets.front();
  m.session = target.id;
  m.token = make_token();
  {
    std::lock_guard lock(mutex_);
    pending_[m.token] = Pending{std::nullopt, m.session};
  }
  // Failure handling (issue #4, B4): this rank keeps the event until it is
  // answered. If the session's node dies the session is orphaned; when a
  // live rank assumes it (dm_create_session(oldsid)) the event goes to that
  // rank again with its original token, and when its group's standby takes
  // it over, to the standby's session. An event orphaned longer than the
  // orphan timeout fails the operation with EIO.
  auto forget = [&] {
    std::lock_guard lock(mutex_);
    pending_.erase(m.token);
  };
  int delivered_to = -1;
  bool sent_before = false;
  // When the session was first seen unreachable (time_point{}: reachable).
  std::chrono::steady_clock::time_point orphaned_since{};
  for (;;) {
    auto view = engine_.membership().current();
    std::uint64_t seen_version = 0;  // of the replica `where` comes from
    // Read before the replica: if every rank had applied seen_version
    // already, an ESRCH from the session's node is real. Read after the
    // call it could have advanced meanwhile and hide a replica that was
    // behind when the call arrived.
    const std::uint64_t acknowledged_before = control_.acknowledged();
    auto where = control_.read([&](const SessionTable &t) -> std::optional<Session> {
      seen_version = t.version();
      // A standby that took the session over answers for it (kTakeOver).
      const Session *s = t.session(t.successor(m.session));
      if (s == nullptr) return std::nullopt;
      return *s;
    });
    if (where && where->id != m.session) {
      spdlog::info("event {} (token {}) of session {} goes to its standby, session {}", m.type,
                   m.token, m.session, where->id);
      m.session = where->id;
      delivered_to = -1;
      std::lock_guard lock(mutex_);
      pending_[m.token].session = m.session;
    }
    // A session that is gone may have moved the token to another session of
    // its rank (dm_move_event) before it was destroyed: keep waiting for the
    // answer, as before failure handling.
    const bool reachable =
        !where || (where->state == SessionState::kActive && view->is_live(where->node));
    if (!where && delivered_to < 0) {
      forget();
      return make_error(EIO, "session {} of event {} was destroyed before it got the event",
                        m.session, m.type);
    }
    if (where && reachable && where->node != delivered_to) {
      orphaned_since = {};
      // Another rank's session answers this call when it responds; the
      // session on this rank answers through pending_ (below).
      // A repeat after a cut call, which a test may hold here (failure_sync_cut_*).
      if (sent_before) failpoint::hit("event_service.deliver_again");
      sent_before = true;
      auto call = engine_.start(where->node, kDeliver, mpi::encode_message(m));
      auto delivered = engine_.wait(call, kEventBusy);
      if (delivered.ok()) {
        if (where->node != target.node) {
          spdlog::info("event {} (token {}) re-sent to session {} on rank {} after takeover",
                       m.type, m.token, m.session, where->node);
        }
        if (!delivered->payload().empty()) {
          forget();
          auto answer = mpi::decode_payload<Answer>(delivered->payload());
          if (!answer.ok()) return std::move(answer).error();
          if (answer->error != 0) {
            return make_error(answer->error, "aborted by DM session {}", m.session);
          }
          return {};
        }
        delivered_to = where->node;
      } else if (delivered.error().code == ESRCH && where->node != target.node &&
                 acknowledged_before < seen_version) {
        // A takeover: this replica already names the new node, whose own
        // replica may not yet (every rank applies a batch on its own). Once
        // every rank acknowledged that version, deliver again.
        if (auto waited = control_.wait_beyond(seen_version - 1); !waited.ok()) {
          forget();
          return waited;
        }
      } else if (engine_.membership().current() != view) {
        // The view changed meanwhile (a cut call ends with ESTALE): look again.
      } else if (delivered.error().code == ESTALE) {
        // The session's node refused this view's epoch: it has not
        // installed the view yet (every rank installs it on its own).
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      } else {
        forget();
        return make_error(EIO, "event {} could not reach session {}: {}", m.type, m.session,
                          delivered.error().message);
      }
      continue;
    }
    if (!reachable) {
      const auto now = std::chrono::steady_clock::now();
      if (orphaned_since == std::chrono::steady_clock::time_point{}) orphaned_since = now;
      if (now - orphaned_since > orphan_timeout_) {
        forget();
        return make_error(EIO, "session {} stayed orphaned for more than {} ms (event {})",
                          m.session, orphan_timeout_.count(), m.type);
      }
      delivered_to = -1;  // whoever assumes the session gets the event again
    }
    std::unique_lock lock(mutex_);
    // Bounded: a view change or a takeover needs no notification here.
    if (changed_.wait_for(lock, std::chrono::milliseconds(20),
                          [&] { return pending_[m.token].outcome.has_value(); })) {
      const int error = *pending_[m.token].outcome;
      pending_.erase(m.token);
      if (error != 0) return make_error(error, "aborted by DM session {}", m.session);
      return {};
    }
  }
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

Result<int> EventService::node_of(SessionId session) const {
  auto node = control_.read([&](const SessionTable &t) {
    const Session *s = t.session(session);
    return s == nullptr ? -1 : s->node;
  });
  if (node < 0) return make_error(EINVAL, "session {} does not exist", session);
  return node;
}

Result<std::vector<EventMessage>> EventService::get_events(
    SessionId session, unsigned max_messages, bool wait,
    const std::function<bool(std::size_t, const EventMessage &)> &fits) {
  PDM_TRY(check_local_session(session));
  // A reader counts as inside until it returns, not only while it waits:
  // after taking its events it still notifies and tells the courier, and
  // shutdown() (after which the service is destroyed) waits for it.
  {
    std::lock_guard lock(mutex_);
    ++readers_;
  }
  auto taken = take_events(session, max_messages, wait, fits);
  bool stopping = false;
  {
    std::lock_guard lock(mutex_);
    --readers_;
    stopping = shut_down_;
  }
  if (stopping) changed_.notify_all();  // shutdown() waits for readers_ == 0
  return taken;
}

Result<std::vector<EventMessage>> EventService::take_events(
    SessionId session, unsigned max_messages, bool wait,
    const std::function<bool(std::size_t, const EventMessage &)> &fits) {
  std::unique_lock lock(mutex_);
  Queue &queue = queues_[session];
  if (queue.undelivered.empty()) {
    if (!wait || shut_down_) return make_error(EAGAIN, "no event for session {}", session);
    ++queue.readers;
    // For a while, take deliveries off the wire here (express requests)
    // rather than sleep until the progress thread has queued one: the two
    // wake-ups would cost more than the event's whole round trip.
    // The queues are not looked at meanwhile: their mutex is what the
    // deliveries need.
    const std::uint64_t seen = queued_.load(std::memory_order_acquire);
    lock.unlock();
    const auto serve_until = std::chrono::steady_clock::now() + kReaderServes;
    mpi::Backoff backoff(kEventBusy);
    while (queued_.load(std::memory_order_acquire) == seen &&
           std::chrono::steady_clock::now() < serve_until) {
      if (engine_.serve_express()) {
        backoff.reset();
      } else {
        backoff.pause();
      }
    }
    lock.lock();
    changed_.wait(lock, [&] { return !queue.undelivered.empty() || shut_down_; });
    --queue.readers;
    if (queue.undelivered.empty()) {
      return make_error(ESHUTDOWN, "pdm is stopping: no more events for session {}", session);
    }
  }
  std::vector<EventMessage> out;
  while (!queue.undelivered.empty() && out.size() < std::max(1u, max_messages) &&
         fits(out.size(), queue.undelivered.front())) {
    EventMessage m = std::move(queue.undelivered.front());
    queue.undelivered.pop_front();
    if (m.token != 0) queue.outstanding.emplace(m.token, Outstanding{m, false});
    out.push_back(std::move(m));
  }
  if (out.empty()) return make_error(E2BIG, "the next event of session {} does not fit", session);
  lock.unlock();
  changed_.notify_all();   // wait_unmount_taken() watches the queues
  courier_.consumed(out);  // their sources may forget the asynchronous ones
  return out;
}

Result<EventService::Outstanding *> EventService::held(SessionId session, Token token) {
  if (token <= 0) return make_error(EINVAL, "token {} is not a valid token", token);
  Queue &queue = queues_[session];
  auto it = queue.outstanding.find(token);
  if (it == queue.outstanding.end()) {
    return make_error(ESRCH, "session {} holds no token {}", session, token);
  }
  return &it->second;
}

Status EventService::respond(SessionId session, Token token, int error) {
  PDM_TRY(check_local_session(session));
  int source = -1;
  std::optional<mpi::ReplyAddress> reply_to;
  {
    std::lock_guard lock(mutex_);
    Queue &queue = queues_[session];
    auto it = queue.outstanding.find(token);
    if (it == queue.outstanding.end()) {
      return make_error(ESRCH, "session {} holds no token {}", session, token);
    }
    source = it->second.message.source;
    queue.outstanding.erase(it);
    if (auto r = reply_to_.find(token); r != reply_to_.end()) {
      reply_to = std::move(r->second);
      reply_to_.erase(r);
      answers_.put(token, error);
    }
  }
  // The token's rights go before the operation goes on: it may touch the object.
  Status released = on_answered_ ? on_answered_(token) : Status{};
  if (source < 0) return released;  // nobody waits for this token
  if (!engine_.membership().current()->is_live(source)) {
    // The operation died with its rank: the answer is accepted and ignored.
    spdlog::info("token {}: its source rank {} is gone; the answer is ignored", token, source);
    return released;
  }
  if (reply_to) {
    PDM_TRY(send_answer(*reply_to, token, error));
    return released;
  }
  // The source is this rank (every event from another rank came with an
  // address to answer): its deliver() waits on pending_.
  {
    std::lock_guard lock(mutex_);
    auto it = pending_.find(token);
    if (it != pending_.end() && !it->second.outcome) it->second.outcome = error;
  }
  changed_.notify_all();
  return released;
}

Status EventService::holds_token(SessionId session, Token token) {
  PDM_TRY(check_local_session(session));
  std::lock_guard lock(mutex_);
  if (queues_[session].outstanding.count(token) == 0) {
    return make_error(ESRCH, "session {} holds no token {}", session, token);
  }
  return {};
}

Result<std::vector<Token>> EventService::tokens(SessionId session) {
  PDM_TRY(check_local_session(session));
  std::lock_guard lock(mutex_);
  std::vector<Token> out;
  for (const auto &[token, m] : queues_[session].outstanding) out.push_back(token);
  return out;
}

std::map<SessionId, EventService::QueueCounts> EventService::queue_counts() {
  std::lock_guard lock(mutex_);
  std::map<SessionId, QueueCounts> counts;
  for (const auto &[session, queue] : queues_) {
    counts[session] = {queue.undelivered.size(), queue.outstanding.size()};
  }
  return counts;
}

Result<EventMessage> EventService::find(SessionId session, Token token) {
  PDM_TRY(check_local_session(session));
  std::lock_guard lock(mutex_);
  PDM_ASSIGN_OR_RETURN(Outstanding * entry, held(session, token));
  return entry->message;
}

Status EventService::move(SessionId from, Token token, SessionId to) {
  PDM_TRY(check_local_session(from));
  PDM_TRY(check_local_session(to));
  std::lock_guard lock(mutex_);
  PDM_ASSIGN_OR_RETURN(Outstanding * entry, held(from, token));
  Queue &target = queues_[to];
  if (target.closed) return make_error(EINVAL, "session {} is being destroyed", to);
  Outstanding moved = std::move(*entry);
  moved.message.session = to;
  queues_[from].outstanding.erase(token);
  target.outstanding.emplace(token, std::move(moved));
  return {};
}

Status EventService::mark_pending(SessionId session, Token token) {
  PDM_TRY(check_local_session(session));
  std::lock_guard lock(mutex_);
  PDM_ASSIGN_OR_RETURN(Outstanding * entry, held(session, token));
  entry->pending = true;
  return {};
}

Status EventService::send_message(SessionId target, bool synchronous, std::string data) {
  if (data.size() > kMaxUserData) {
    return make_error(E2BIG, "a message of {} bytes exceeds {}", data.size(), kMaxUserData);
  }
  auto session = control_.read([&](const SessionTable &t) -> std::optional<Session> {
    const Session *s = t.session(target);
    return s ? std::optional<Session>(*s) : std::nullopt;
  });
  if (!session) return make_error(EINVAL, "session {} does not exist", target);
  EventMessage m;
  m.type = ev::kUser;
  m.data = std::move(data);
  return deliver(std::move(m), {*session}, synchronous);
}

Result<Token> EventService::create_user_event(SessionId session, std::string data) {
  if (data.size() > kMaxUserData) {
    return make_error(E2BIG, "a message of {} bytes exceeds {}", data.size(), kMaxUserData);
  }
  PDM_TRY(check_local_session(session));
  EventMessage m;
  m.type = ev::kUser;
  m.session = session;
  m.source = -1;  // no operation waits for the answer
  m.data = std::move(data);
  m.token = make_token();
  std::lock_guard lock(mutex_);
  Queue &queue = queues_[session];
  if (queue.closed) return make_error(EINVAL, "session {} is being destroyed", session);
  m.sequence = queue.next_sequence++;
  const Token token = m.token;
  queue.outstanding.emplace(token, Outstanding{std::move(m), false});
  return token;
}

Status EventService::close_local(SessionId session) {
  std::lock_guard lock(mutex_);
  Queue &queue = queues_[session];
  if (!queue.undelivered.empty() || !queue.outstanding.empty() || queue.readers > 0) {
    return make_error(EBUSY,
                      "session {} has {} undelivered events, {} tokens and {} waiting readers",
                      session, queue.undelivered.size(), queue.outstanding.size(), queue.readers);
  }
  queue.closed = true;
  return {};
}

Status EventService::close_session(SessionId session) {
  PDM_ASSIGN_OR_RETURN(int node, node_of(session));
  const bool orphaned = control_.read([&](const SessionTable &t) {
    const Session *s = t.session(session);
    return s != nullptr && s->state == SessionState::kOrphaned;
  });
  // An orphaned session's node is gone, and its queues with it: nothing to check.
  if (orphaned) return {};
  if (node == engine_.membership().current()->self()) return close_local(session);
  return mpi::call_status(engine_, node, kCloseSession, SessionRequest{session});
}

Status EventService::reopen_session(SessionId session) {
  PDM_ASSIGN_OR_RETURN(int node, node_of(session));
  return mpi::call_status(engine_, node, kReopenSession, SessionRequest{session});
}

EventMessage EventService::mount_message(pfs::EventObject root) const {
  EventMessage m;
  m.type = ev::kMount;
  m.object2 = {root.ino, root.generation};  // the mount point: pdm's root directory
  m.name1.assign(1, '/');  // the mount point in pdm's namespace (not = "/": GCC 12 -Wrestrict)
  m.name2 = fmt::format("{:016x}", fs_);  // the "device": the file system's id
  return m;
}

Status EventService::deliver_mount(SessionId session, pfs::EventObject root) {
  PDM_ASSIGN_OR_RETURN(int node, node_of(session));
  EventMessage m = mount_message(root);
  m.session = session;
  m.source = -1;
  m.token = make_token();
  return mpi::call_status(engine_, node, kDeliver, m);
}

Status EventService::unmount(pfs::EventObject root) {
  pfs::FsEvent pre;
  pre.type = ev::kPreunmount;
  pre.object2 = root;
  Status answer = raise(pre, true);
  pfs::FsEvent done;
  done.type = ev::kUnmount;
  done.object2 = root;
  (void)raise(done, false);
  return answer;
}

void EventService::wait_unmount_taken() {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] {
    for (const auto &[id, queue] : queues_) {
      for (const auto &m : queue.undelivered) {
        if (m.type == ev::kUnmount) return false;
      }
    }
    return true;
  });
}

void EventService::shutdown() {
  {
    std::unique_lock lock(mutex_);
    shut_down_ = true;
    changed_.notify_all();
    changed_.wait(lock, [&] { return readers_ == 0; });
  }
  courier_.stop();
}

}  // namespace pdm::dm

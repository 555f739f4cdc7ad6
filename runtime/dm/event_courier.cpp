#include "runtime/dm/event_courier.h"

#include <algorithm>
#include <set>

#include <spdlog/spdlog.h>

#include "runtime/mpi/typed_rpc.h"

namespace pdm::dm {
namespace {

// session node -> source: these asynchronous events were handed out.
constexpr mpi::MsgType kConsumed = 0x0414;

struct Receipts {
  std::vector<std::uint64_t> receipts;
  auto fields() { return std::tie(receipts); }
};

// How often copies queued nowhere are tried again while their session is
// unreachable (a takeover needs no notification here).
constexpr auto kRetryInterval = std::chrono::milliseconds(20);

}  // namespace

EventCourier::EventCourier(mpi::RpcEngine &engine, ControlPlane &control, Send send)
    : engine_(engine), control_(control), send_(std::move(send)) {}

EventCourier::~EventCourier() {
  stop();
}

void EventCourier::attach() {
  engine_.register_handler(
      kConsumed, mpi::make_handler<Receipts>([this](const Receipts &r, const mpi::Request &) {
        forget(r.receipts);
        return Status{};
      }));
  thread_ = std::thread([this] { run(); });
}

void EventCourier::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void EventCourier::keep(EventMessage &message, int node) {
  bool first = false;
  {
    std::lock_guard lock(mutex_);
    message.receipt = ++next_receipt_;
    first = kept_.empty();
    kept_.emplace(message.receipt, Copy{message, node, {}});
    ++per_session_[message.session];
  }
  // The thread sleeps without a deadline while it keeps nothing; from now on
  // it must watch the view and the table.
  if (first) wake_.notify_all();
}

void EventCourier::sent(std::uint64_t receipt, const Status &outcome) {
  if (outcome.ok()) return;
  {
    std::lock_guard lock(mutex_);
    auto it = kept_.find(receipt);
    if (it == kept_.end()) return;
    if (dropped_if_refused(it, outcome.error())) return;
    mark_unqueued(it->second);
  }
  wake_.notify_all();
}

std::size_t EventCourier::kept() const {
  std::lock_guard lock(mutex_);
  return kept_.size();
}

std::size_t EventCourier::kept_for(SessionId session) const {
  std::lock_guard lock(mutex_);
  auto it = per_session_.find(session);
  return it == per_session_.end() ? 0 : it->second;
}

bool EventCourier::dropped_if_refused(std::map<std::uint64_t, Copy>::iterator it,
                                      const Error &error) {
  // ESTALE: a view change cut the call (the node may be dead); ESRCH: the
  // node's replica does not show the session there yet, or it is being
  // destroyed. Both are a matter of time: the thread tries again.
  if (error.code == ESTALE || error.code == ESRCH) return false;
  spdlog::warn("asynchronous event {} for session {} not delivered: {}", it->second.message.type,
               it->second.message.session, error.message);
  erase(it);
  return true;
}

std::map<std::uint64_t, EventCourier::Copy>::iterator EventCourier::erase(
    std::map<std::uint64_t, Copy>::iterator it) {
  count_off(it->second.message.session);
  return kept_.erase(it);
}

void EventCourier::count_off(SessionId session) {
  auto it = per_session_.find(session);
  if (it != per_session_.end() && --it->second == 0) per_session_.erase(it);
}

void EventCourier::consumed(const std::vector<EventMessage> &handed_out) {
  // Synchronous events (no receipt) cost nothing here: waking the thread for
  // them would put a context switch into every round trip.
  const auto kept = [](const EventMessage &m) { return m.receipt != 0; };
  if (std::none_of(handed_out.begin(), handed_out.end(), kept)) return;
  const int self = engine_.membership().current()->self();
  bool remote = false;
  {
    std::lock_guard lock(mutex_);
    for (const EventMessage &m : handed_out) {
      if (!kept(m)) continue;
      if (m.source == self) {
        if (auto it = kept_.find(m.receipt); it != kept_.end()) erase(it);
      } else {
        to_confirm_[m.source].push_back(m.receipt);
        remote = true;
      }
    }
  }
  if (remote) wake_.notify_all();
}

void EventCourier::forget(const std::vector<std::uint64_t> &receipts) {
  std::lock_guard lock(mutex_);
  for (std::uint64_t receipt : receipts) {
    if (auto it = kept_.find(receipt); it != kept_.end()) erase(it);
  }
}

void EventCourier::mark_unqueued(Copy &copy) {
  if (copy.node >= 0 || copy.unqueued_since == std::chrono::steady_clock::time_point{}) {
    copy.unqueued_since = std::chrono::steady_clock::now();
  }
  copy.node = -1;
  retry_due_ = true;
}

void EventCourier::run() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    if (!to_confirm_.empty()) {
      auto batch = std::move(to_confirm_);
      to_confirm_.clear();
      lock.unlock();
      acknowledge(std::move(batch));
      lock.lock();
      continue;
    }
    auto todo = due_resends();
    if (!todo.empty()) {
      lock.unlock();
      resend(std::move(todo));
      lock.lock();
      continue;
    }
    // Copies are checked again at the next change of view or table; the
    // timeout bounds how late that is noticed, and retries copies queued
    // nowhere.
    if (kept_.empty()) {
      wake_.wait(lock, [&] { return stopping_ || !to_confirm_.empty() || !kept_.empty(); });
    } else {
      wake_.wait_for(lock, kRetryInterval, [&] { return stopping_ || !to_confirm_.empty(); });
    }
  }
}

void EventCourier::acknowledge(std::map<int, std::vector<std::uint64_t>> receipts) {
  for (auto &[source, batch] : receipts) {
    if (!engine_.membership().current()->is_live(source)) continue;  // it keeps nothing now
    for (std::size_t first = 0; first < batch.size(); first += mpi::kMaxItems) {
      const auto last = std::min(batch.size(), first + mpi::kMaxItems);
      Receipts part{{batch.begin() + static_cast<std::ptrdiff_t>(first),
                     batch.begin() + static_cast<std::ptrdiff_t>(last)}};
      // Lost only with the source or a view change: then the source sends
      // the events again (at least once).
      if (auto told = mpi::call_status(engine_, source, kConsumed, part); !told.ok()) {
        spdlog::debug("could not tell rank {} that {} events were handed out: {}", source,
                      part.receipts.size(), told.error().message);
      }
    }
  }
}

std::vector<EventCourier::Resend> EventCourier::due_resends() {
  std::vector<Resend> todo;
  if (kept_.empty()) return todo;
  const auto view = engine_.membership().current();
  const std::uint64_t version = control_.read([](const SessionTable &t) { return t.version(); });
  const auto now = std::chrono::steady_clock::now();
  const bool changed = view->epoch() != checked_epoch_ || version != checked_version_;
  const bool retry = retry_due_ && now - last_retry_ >= kRetryInterval;
  if (!changed && !retry) return todo;
  checked_epoch_ = view->epoch();
  checked_version_ = version;
  last_retry_ = now;
  retry_due_ = false;  // mark_unqueued() sets it again for every copy queued nowhere
  control_.read([&](const SessionTable &t) {
    for (auto it = kept_.begin(); it != kept_.end();) {
      Copy &copy = it->second;
      const Session *where = t.session(t.successor(copy.message.session));
      if (where == nullptr) {
        spdlog::info("asynchronous event {} dropped: its session {} was destroyed",
                     copy.message.type, copy.message.session);
        it = erase(it);
        continue;
      }
      const bool reachable = where->state == SessionState::kActive && view->is_live(where->node);
      const bool in_place = copy.node >= 0 && where->id == copy.message.session &&
                            where->node == copy.node && view->is_live(copy.node);
      if (in_place) {
        ++it;
        continue;
      }
      mark_unqueued(copy);
      if (reachable) {
        EventMessage m = copy.message;
        m.session = where->id;
        todo.push_back(Resend{it->first, std::move(m), where->node});
      } else if (now - copy.unqueued_since > orphan_timeout_) {
        spdlog::warn(
            "asynchronous event {} dropped: session {} stayed unreachable for more "
            "than {} ms",
            copy.message.type, copy.message.session, orphan_timeout_.count());
        it = erase(it);
        continue;
      }
      ++it;
    }
  });
  return todo;
}

void EventCourier::resend(std::vector<Resend> todo) {
  std::size_t again = 0;
  // Sessions whose copy failed in this batch: their later copies wait for
  // the next try, so that a session gets its events in their order (a
  // replica that does not show a takeover yet refuses the first with ESRCH
  // and would take the next one a moment later).
  std::set<SessionId> held_back;
  for (Resend &r : todo) {
    if (held_back.count(r.message.session) != 0) continue;
    Status queued = send_(r.node, r.message);
    std::lock_guard lock(mutex_);
    auto it = kept_.find(r.receipt);
    if (it == kept_.end()) continue;  // handed out meanwhile
    if (!queued.ok()) {
      held_back.insert(r.message.session);
      (void)dropped_if_refused(it, queued.error());
    } else {
      if (it->second.message.session != r.message.session) {
        count_off(it->second.message.session);
        ++per_session_[r.message.session];
        it->second.message.session = r.message.session;
      }
      it->second.node = r.node;
      ++again;
    }
  }
  if (again > 0) {
    spdlog::info("{} asynchronous events sent again to their sessions' new nodes", again);
  }
}

}  // namespace pdm::dm

#include "runtime/dm/rights_service.h"

#include <vector>

#include "runtime/mpi/backoff.h"
#include "runtime/mpi/typed_rpc.h"

namespace pdm::dm {
namespace {

constexpr mpi::MsgType kInFlight = 0x0480;  // requester -> every rank: conflicting ops in flight?

struct InFlightQuery {
  std::uint64_t ino = 0;
  Right right = Right::kNull;
  auto fields() { return std::tie(ino, right); }
};

struct InFlightCount {
  std::uint64_t count = 0;
  auto fields() { return std::tie(count); }
};

}  // namespace

RightsService::RightsService(mpi::RpcEngine &engine, ControlPlane &control)
    : engine_(engine), control_(control) {}

void RightsService::attach() {
  engine_.register_handler(
      kInFlight,
      mpi::make_handler<InFlightQuery>([this](const InFlightQuery &q, const mpi::Request &) {
        // Takes the control plane's mutex briefly; never waits.
        return Result<InFlightCount>(InFlightCount{
            control_.read([&](const SessionTable &) { return busy(q.ino, q.right); })});
      }));
}

std::uint64_t RightsService::busy(std::uint64_t ino, Right right) const {
  std::uint64_t n = unresolved_.modifies;
  if (right == Right::kExcl) n += unresolved_.reads;
  auto it = counts_.find(ino);
  if (it != counts_.end()) {
    n += it->second.modifies;
    if (right == Right::kExcl) n += it->second.reads;
  }
  return n;
}

void RightsService::forget_if_idle(std::uint64_t ino) {
  auto it = counts_.find(ino);
  if (it != counts_.end() && it->second.idle()) counts_.erase(it);
}

Status RightsService::change(const RightChange &change, bool wait) {
  Update u;
  u.kind = Update::Kind::kChangeRight;
  u.right = change;
  for (;;) {
    const std::uint64_t seen = control_.read([](const SessionTable &t) { return t.version(); });
    auto done = control_.submit(u);
    if (done.ok()) return {};
    if (done.error().code != EAGAIN || !wait) return std::move(done).error();
    // The conflicting right goes with some later update; wait for one and retry.
    PDM_TRY(control_.wait_beyond(seen));
  }
}

Status RightsService::drain(std::uint64_t ino, Right right) {
  if (right == Right::kNull) return {};  // released meanwhile (its token was answered)
  mpi::Backoff backoff;
  bool counted = false;  // in draining_
  struct Uncount {
    std::atomic<std::uint32_t> &draining;
    bool &counted;
    ~Uncount() {
      if (counted) --draining;
    }
  } uncount{draining_, counted};
  for (;;) {
    auto view = engine_.membership().current();
    std::vector<mpi::PendingCall> calls;
    for (int member : view->members()) {
      calls.push_back(
          engine_.start(member, kInFlight, mpi::encode_message(InFlightQuery{ino, right})));
    }
    std::uint64_t total = 0;
    for (auto &response : engine_.wait_all(calls)) {
      if (!response.ok()) return std::move(response).error();
      PDM_ASSIGN_OR_RETURN(auto count, mpi::decode_payload<InFlightCount>(response->payload()));
      total += count.count;
    }
    if (total == 0) return {};
    if (!counted) ++draining_;
    counted = true;
    backoff.pause();  // operations that started before the grant are finishing
  }
}

Status RightsService::request(SessionId session, Token token, std::uint64_t ino, Right right,
                              bool wait) {
  PDM_TRY(change({RightChange::Op::kRequest, token, session, ino, right}, wait));
  return drain(ino, query(token, ino));
}

Status RightsService::release(SessionId session, Token token, std::uint64_t ino) {
  return change({RightChange::Op::kRelease, token, session, ino, Right::kNull}, false);
}

Status RightsService::upgrade(SessionId session, Token token, std::uint64_t ino) {
  PDM_TRY(change({RightChange::Op::kUpgrade, token, session, ino, Right::kExcl}, false));
  return drain(ino, Right::kExcl);
}

Status RightsService::downgrade(SessionId session, Token token, std::uint64_t ino) {
  return change({RightChange::Op::kDowngrade, token, session, ino, Right::kShared}, false);
}

Right RightsService::query(Token token, std::uint64_t ino) const {
  return control_.read([&](const SessionTable &t) { return t.rights().held(ino, token); });
}

Status RightsService::release_token(Token token) {
  if (!control_.read([&](const SessionTable &t) { return t.rights().token_holds_any(token); })) {
    return {};
  }
  Update u;
  u.kind = Update::Kind::kReleaseToken;
  u.right.token = token;
  PDM_TRY(control_.submit(u));
  return {};
}

Status RightsService::move_token(Token token, SessionId session) {
  if (!control_.read([&](const SessionTable &t) { return t.rights().token_holds_any(token); })) {
    return {};
  }
  Update u;
  u.kind = Update::Kind::kMoveToken;
  u.right.token = token;
  u.right.session = session;
  PDM_TRY(control_.submit(u));
  return {};
}

Result<pfs::AccessGuard> RightsService::begin(pfs::InodeNumber ino, pfs::AccessKind kind) {
  bool counted_waiting = false;
  for (;;) {
    std::uint64_t seen = 0;
    const bool go = control_.read([&](const SessionTable &t) {
      seen = t.version();
      Counts &c = counts_[ino];
      if (t.rights().excludes(ino, kind)) {
        if (!counted_waiting) ++c.waiting;
        counted_waiting = true;
        return false;
      }
      if (counted_waiting) --c.waiting;
      ++(kind == pfs::AccessKind::kRead ? c.reads : c.modifies);
      return true;
    });
    if (go) return pfs::AccessGuard(this, ino, kind);
    if (auto waited = control_.wait_beyond(seen); !waited.ok()) {
      control_.read([&](const SessionTable &) {
        --counts_[ino].waiting;
        forget_if_idle(ino);
        return 0;
      });
      return std::move(waited).error();
    }
  }
}

std::optional<pfs::AccessGuard> RightsService::begin_unresolved(pfs::AccessKind kind) {
  const bool counted = control_.read([&](const SessionTable &t) {
    if (!t.rights().empty()) return false;
    ++(kind == pfs::AccessKind::kRead ? unresolved_.reads : unresolved_.modifies);
    return true;
  });
  if (!counted) return std::nullopt;
  return pfs::AccessGuard(this, 0, kind);
}

void RightsService::end(pfs::InodeNumber ino, pfs::AccessKind kind) {
  control_.read([&](const SessionTable &) {
    Counts &c = ino == 0 ? unresolved_ : counts_[ino];
    --(kind == pfs::AccessKind::kRead ? c.reads : c.modifies);
    if (ino != 0) forget_if_idle(ino);
    return 0;
  });
}

std::uint32_t RightsService::waiting(std::uint64_t ino) const {
  return control_.read([&](const SessionTable &) {
    auto it = counts_.find(ino);
    return it == counts_.end() ? 0u : it->second.waiting;
  });
}

}  // namespace pdm::dm

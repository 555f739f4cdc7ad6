#include "runtime/dm/control_plane.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <set>

#include "runtime/mpi/backoff.h"
#include "runtime/mpi/typed_rpc.h"

namespace pdm::dm {
namespace {

constexpr mpi::MsgType kSubmit = 0x0401;
constexpr std::uint32_t kSlotMagic = 0x31544c53;  // "SLT1"

// A broadcast slot: magic, final flag, the batch of updates.
struct Batch {
  std::uint32_t magic = kSlotMagic;
  bool final = false;
  std::vector<Update> updates;
  auto fields() { return std::tie(magic, final, updates); }
};

}  // namespace

ControlPlane::ControlPlane(mpi::RpcEngine &engine)
    : engine_(engine), slot_(std::make_unique<std::vector<std::byte>>(kSlotBytes)) {}

ControlPlane::~ControlPlane() = default;

bool ControlPlane::is_manager() const {
  auto view = engine_.membership().current();
  return view->manager() == view->self();
}

void ControlPlane::attach() {
  engine_.register_handler(
      kSubmit, mpi::make_handler<Update>([this](const Update &update, const mpi::Request &request) {
        Update u = update;
        // The session node is the rank that asked (B2); it cannot be named by the wire.
        if (u.kind == Update::Kind::kCreateSession || u.kind == Update::Kind::kAssumeSession) {
          u.session.node = request.source;
        }
        return accept(std::move(u));
      }));
  engine_.add_poller([this] { return poll(); });
}

Result<ControlPlane::Accepted> ControlPlane::accept(Update update) {
  auto view = engine_.membership().current();
  if (view->manager() != view->self()) {
    return make_error(ESTALE, "this rank is not the session manager");
  }
  std::lock_guard lock(mutex_);
  if (synced_epoch_ != view->epoch()) {
    // EINPROGRESS, not EAGAIN: EAGAIN is an answer of the table itself (a
    // conflicting right without DM_RR_WAIT) that submit must return at once.
    return make_error(EINPROGRESS, "the session manager is resynchronising after a view change");
  }
  if (shutdown_requested_) return make_error(ESHUTDOWN, "the session manager is shutting down");
  update.version = table_.version() + 1;
  if (update.kind == Update::Kind::kCreateSession) {
    update.session.id = table_.last_session_id() + 1;  // B17: the manager assigns ids
  }
  PDM_TRY(table_.apply(update));
  queued_.push_back(update);
  // A session that became a standby (or a standby assumed by hand) takes
  // over its group's orphans now, in the same batch.
  if (update.kind == Update::Kind::kModifySession || update.kind == Update::Kind::kAssumeSession) {
    queue_takeovers();
  }
  return Accepted{update.version, update.session.id};
}

Result<Update> ControlPlane::submit(Update update) {
  update.version = 0;
  auto view = engine_.membership().current();
  auto call = mpi::call_typed<Accepted>(engine_, view->manager(), kSubmit, update);
  // A new manager refuses (EINPROGRESS, applied nowhere) until it
  // resynchronised the table after the view change: ask again, a bounded
  // number of times, then report EAGAIN (retry later).
  mpi::Backoff backoff;
  for (int tries = 0; !call.ok() && call.error().code == EINPROGRESS && tries < 100000; ++tries) {
    backoff.pause();
    view = engine_.membership().current();
    call = mpi::call_typed<Accepted>(engine_, view->manager(), kSubmit, update);
  }
  if (!call.ok() && call.error().code == EINPROGRESS) {
    return make_error(EAGAIN, "{} (retry)", call.error().message);
  }
  PDM_ASSIGN_OR_RETURN(auto accepted, std::move(call));
  std::unique_lock lock(mutex_);
  // The first resynchronisation after the epoch the update was accepted in
  // decides: every survivor continued from a version below it -> lost.
  auto lost = [&] {
    auto resync = resyncs_.upper_bound(view->epoch());
    return resync != resyncs_.end() && resync->second < accepted.version;
  };
  while (acknowledged_ < accepted.version || lost()) {
    if (lost()) {
      return make_error(EAGAIN,
                        "the session manager failed before update {} reached any survivor; "
                        "it was not applied (retry)",
                        accepted.version);
    }
    if (phase_ == Phase::kClosed) {
      return make_error(ESHUTDOWN, "pdm stopped before update {} reached every rank",
                        accepted.version);
    }
    acked_cv_.wait_for(lock, std::chrono::milliseconds(50));
  }
  update.version = accepted.version;
  if (update.kind == Update::Kind::kCreateSession) update.session.id = accepted.session;
  if (update.kind == Update::Kind::kCreateSession || update.kind == Update::Kind::kAssumeSession) {
    update.session.node = view->self();
  }
  return update;
}

std::uint64_t ControlPlane::acknowledged() const {
  std::lock_guard lock(mutex_);
  return acknowledged_;
}

Status ControlPlane::wait_beyond(std::uint64_t version) {
  std::unique_lock lock(mutex_);
  while (acknowledged_ <= version) {
    if (phase_ == Phase::kClosed) return make_error(ESHUTDOWN, "pdm stopped");
    // Bounded only so that a stop is noticed; every acknowledgement notifies.
    acked_cv_.wait_for(lock, std::chrono::milliseconds(50));
  }
  return {};
}

void ControlPlane::on_view_change(const cluster::View &next) {
  // The broadcast or barrier posted on the old communicator never completes
  // (a dead member takes part in it); MPI may still write into its slot.
  if (request_ != MPI_REQUEST_NULL) {
    static auto *kept = new std::vector<std::unique_ptr<std::vector<std::byte>>>();  // on purpose
    kept->push_back(std::move(slot_));
    slot_ = std::make_unique<std::vector<std::byte>>(kSlotBytes);
    request_ = MPI_REQUEST_NULL;
  }
  const MPI_Comm comm = next.control_comm().get();
  std::uint64_t mine = 0;
  {
    std::lock_guard lock(mutex_);
    mine = table_.version();
  }
  std::vector<std::uint64_t> versions(next.size());
  if (int rc = MPI_Allgather(&mine, 1, MPI_UINT64_T, versions.data(), 1, MPI_UINT64_T, comm);
      rc != MPI_SUCCESS) {
    spdlog::critical("session table: resynchronisation failed (MPI error {})", rc);
    return;
  }
  const auto newest_it = std::max_element(versions.begin(), versions.end());
  const std::uint64_t newest = *newest_it;
  const int holder = static_cast<int>(newest_it - versions.begin());
  const bool differ =
      std::any_of(versions.begin(), versions.end(), [&](std::uint64_t v) { return v != newest; });
  std::lock_guard lock(mutex_);
  if (differ) {
    // The holder of the newest replica sends it whole (size, then bytes).
    mpi::Encoder out;
    if (next.control_comm().rank() == holder) {
      auto snapshot = table_.snapshot();
      mpi::encode_field(out, snapshot);
    }
    std::uint64_t size = out.size();
    MPI_Bcast(&size, 1, MPI_UINT64_T, holder, comm);
    std::vector<std::byte> bytes(out.bytes().begin(), out.bytes().end());
    bytes.resize(size);
    MPI_Bcast(bytes.data(), static_cast<int>(size), MPI_BYTE, holder, comm);
    if (next.control_comm().rank() != holder) {
      mpi::Decoder in{std::span<const std::byte>(bytes)};
      SessionTable::Snapshot snapshot;
      auto decoded = mpi::decode_field(in, snapshot);
      auto table = decoded.ok() ? SessionTable::from_snapshot(snapshot)
                                : Result<SessionTable>(std::move(decoded).error());
      if (table.ok()) {
        table_ = std::move(table).value();
      } else {
        spdlog::critical("session table: cannot adopt the newest replica: {}",
                         table.error().message);
      }
    }
  }
  // Updates the old manager queued are in the newest replica now (or lost).
  queued_.clear();
  acknowledged_ = newest;
  batch_last_ = newest;
  final_batch_ = false;
  resyncs_[next.epoch()] = newest;
  synced_epoch_ = next.epoch();
  if (phase_ != Phase::kClosed) phase_ = Phase::kIdle;
  const bool manager = next.manager() == next.self();
  if (manager) {
    shutdown_requested_ = stopping_;
    // The sessions of dead ranks become orphaned (B4), in the next batch.
    // Every active session whose node is not live, not only those of the
    // ranks this view removed: the previous manager may have died before
    // its own orphan update reached anyone (two failures in a row).
    std::set<int> dead_nodes;
    for (const auto &[id, session] : table_.sessions()) {
      if (session.state == SessionState::kActive && !next.is_live(session.node)) {
        dead_nodes.insert(session.node);
      }
    }
    for (int member : dead_nodes) {
      Update orphan;
      orphan.kind = Update::Kind::kOrphanNode;
      orphan.node = member;
      orphan.version = table_.version() + 1;
      if (auto applied = table_.apply(orphan); applied.ok()) {
        queued_.push_back(orphan);
      } else {
        spdlog::error("session table: orphaning rank {}: {}", member, applied.error().message);
      }
    }
    queue_takeovers();
  }
  spdlog::info("session table: continued from version {} (replica of rank {}) in epoch {}", newest,
               next.member_at(holder), next.epoch());
  acked_cv_.notify_all();
}

void ControlPlane::queue_takeovers() {
  std::vector<SessionId> orphans;
  for (const auto &[id, session] : table_.sessions()) {
    if (session.state == SessionState::kOrphaned) orphans.push_back(id);
  }
  // One at a time: each choice counts the takeovers applied before it.
  for (const SessionId orphan : orphans) {
    const Session *chosen = table_.standby_for(orphan);
    if (chosen == nullptr) continue;
    const SessionId standby = chosen->id;
    Update takeover;
    takeover.kind = Update::Kind::kTakeOver;
    takeover.session.id = orphan;
    takeover.into = standby;
    takeover.version = table_.version() + 1;
    if (auto applied = table_.apply(takeover); applied.ok()) {
      queued_.push_back(takeover);
      spdlog::info("session table: orphaned session {} taken over by its standby, session {}",
                   orphan, standby);
    } else {
      spdlog::error("session table: takeover of session {} by session {}: {}", orphan, standby,
                    applied.error().message);
    }
  }
}

Status ControlPlane::post_broadcast() {
  auto view = engine_.membership().current();
  const int root = view->comm_rank_of(view->manager());
  return mpi::check(MPI_Ibcast(slot_->data(), static_cast<int>(slot_->size()), MPI_BYTE, root,
                               view->control_comm().get(), &request_),
                    "MPI_Ibcast");
}

Status ControlPlane::post_barrier() {
  return mpi::check(MPI_Ibarrier(engine_.membership().current()->control_comm().get(), &request_),
                    "MPI_Ibarrier");
}

// Manager: fills the slot with as many queued updates as fit.
// Others: decode the slot and apply it.
void ControlPlane::finish_broadcast() {
  if (is_manager()) return;  // the manager applied its updates when it accepted them
  std::span<const std::byte> bytes(*slot_);
  mpi::Decoder in(bytes);
  Batch batch;
  if (auto decoded = mpi::decode_field(in, batch); !decoded.ok() || batch.magic != kSlotMagic) {
    spdlog::critical("session table: undecodable broadcast from the manager: {}",
                     decoded.ok() ? "bad magic" : decoded.error().message);
    return;
  }
  std::lock_guard lock(mutex_);
  for (const auto &u : batch.updates) {
    if (auto applied = table_.apply(u); !applied.ok()) {
      spdlog::critical("session table: replica refused update {}: {}", u.version,
                       applied.error().message);
    }
  }
  batch_last_ = table_.version();
  final_batch_ = batch.final;
}

bool ControlPlane::poll() {
  switch (phase_.load()) {
    case Phase::kClosed:
      return false;
    case Phase::kIdle: {
      if (is_manager()) {
        Batch batch;
        {
          std::lock_guard lock(mutex_);
          if (queued_.empty() && !shutdown_requested_) return false;
          std::size_t size = 64;  // header room
          while (!queued_.empty()) {
            mpi::Encoder probe;
            mpi::encode_field(probe, queued_.front());
            if (size + probe.size() > kSlotBytes) break;
            size += probe.size();
            batch.updates.push_back(std::move(queued_.front()));
            queued_.pop_front();
          }
          batch.final = shutdown_requested_ && queued_.empty();
          batch_last_ = batch.updates.empty() ? acknowledged_ : batch.updates.back().version;
          final_batch_ = batch.final;
        }
        mpi::Encoder out;
        mpi::encode_field(out, batch);
        std::memcpy(slot_->data(), out.bytes().data(), out.size());
      }
      if (auto posted = post_broadcast(); !posted.ok()) {
        spdlog::error("session table: {}", posted.error().message);
        return false;
      }
      phase_ = Phase::kBroadcast;
      return true;
    }
    case Phase::kBroadcast:
    case Phase::kBarrier: {
      int done = 0;
      MPI_Test(&request_, &done, MPI_STATUS_IGNORE);
      if (!done) return false;
      if (phase_ == Phase::kBroadcast) {
        finish_broadcast();
        if (auto posted = post_barrier(); !posted.ok()) {
          spdlog::error("session table: {}", posted.error().message);
          return false;
        }
        phase_ = Phase::kBarrier;
        return true;
      }
      {
        std::lock_guard lock(mutex_);
        acknowledged_ = std::max(acknowledged_, batch_last_);
      }
      acked_cv_.notify_all();
      phase_ = final_batch_ ? Phase::kClosed : Phase::kIdle;
      return true;
    }
  }
  return false;
}

Status ControlPlane::shutdown() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    if (is_manager()) shutdown_requested_ = true;
  }
  mpi::Backoff backoff;
  while (phase_.load() != Phase::kClosed) backoff.pause();
  acked_cv_.notify_all();
  return {};
}

}  // namespace pdm::dm

// ControlPlane: the session manager and the replication of the session
// table (DESIGN.md §4).
//
// Any rank submits a change to the manager (the lowest live member, B1) by
// RPC. The manager checks it against its replica, assigns what only it
// assigns (the version, a new session's id, B17), applies it and queues it;
// the RPC returns the version at once, so the manager's progress thread
// never blocks. The progress thread of every rank runs one poller that
// drives the distribution:
//
//   non-managers keep an MPI_Ibcast posted from the manager on the control
//   communicator; the manager starts its side when updates are queued.
//   When the broadcast completes a rank applies the batch (in version order)
//   and joins an MPI_Ibarrier; when that completes, every rank has applied
//   the batch, and the rank records the batch's last version as
//   acknowledged, then posts the next broadcast.
//
// A caller waits until the acknowledged version reaches its update's
// version: when dm_create_session (etc.) returns, every live rank routes
// by the new state (B2, B14, B15). Batches travel in a fixed-size slot, so
// every rank posts the same count without knowing the size in advance.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "runtime/dm/session_table.h"
#include "runtime/mpi/rpc.h"

namespace pdm::dm {

class ControlPlane {
 public:
  static constexpr std::size_t kSlotBytes = 16 * 1024;

  explicit ControlPlane(mpi::RpcEngine &engine);
  ~ControlPlane();
  ControlPlane(const ControlPlane &) = delete;
  ControlPlane &operator=(const ControlPlane &) = delete;

  // Registers the manager's handler and the replication poller; before the engine starts.
  void attach();

  // Failure handling (issue #4), on the progress thread of every member right
  // after a view change installed `next` (cluster::FailureDetector listener):
  // the broadcast posted on the old control communicator is abandoned; the
  // members exchange their table versions and the member with the newest
  // replica sends it to all (collectives on the new control communicator),
  // so every replica continues from the newest version; the (possibly new)
  // manager then orphans every active session whose node is not in `next`
  // (kOrphanNode) — also those of ranks an earlier view removed, whose
  // orphan update died with its manager.
  // Then every orphaned session whose group has an active standby member is
  // taken over by it (kTakeOver), here and whenever a session becomes a
  // standby.
  // A submit whose update no survivor had fails with EAGAIN (not applied
  // anywhere); one that some survivor had completes.
  void on_view_change(const cluster::View &next);

  // Submits a change to the manager and waits until every rank applied it.
  // Returns the update as applied (with its version and, for a new session, its id).
  // If the manager dies: EAGAIN when the update was lost with it (applied
  // nowhere; retry), ESTALE when the view changed before the manager
  // answered (then whether it was applied is unknown: look at the table).
  Result<Update> submit(Update update);

  // Collective, after every rank stopped submitting: the manager broadcasts a
  // final empty batch so every posted broadcast completes, then the poller
  // goes quiet. Waits (with backoff) until this rank saw it.
  Status shutdown();

  // At mount, on every rank before the first update: the per-file event
  // lists read from the metadata store (all ranks load the same lists).
  Status preload_object_eventlists(const std::vector<ObjectEventList> &lists) {
    std::lock_guard lock(mutex_);
    return table_.preload_object_eventlists(lists);
  }

  // Reads of this rank's replica.
  template <typename Read>
  auto read(Read read) const {
    std::lock_guard lock(mutex_);
    return read(table_);
  }
  std::uint64_t acknowledged() const;
  // Blocks (on a condition variable) until an update newer than `version`
  // reached every rank; ESHUTDOWN when pdm stops first. A waiter that read
  // acknowledged() before looking at the replica misses no change: whatever
  // changes the replica afterwards carries a newer version.
  Status wait_beyond(std::uint64_t version);

 private:
  struct Accepted {
    std::uint64_t version = 0;
    SessionId session = 0;
    auto fields() { return std::tie(version, session); }
  };
  // Manager side of a submission (runs in the handler, never blocks).
  Result<Accepted> accept(Update update);
  // One step of the replication state machine; true if it did something.
  bool poll();
  bool is_manager() const;
  // Manager, mutex_ held: applies and queues a kTakeOver for every orphaned
  // session that has a standby (SessionTable::standby_for).
  void queue_takeovers();
  Status post_broadcast();
  void finish_broadcast();
  Status post_barrier();

  mpi::RpcEngine &engine_;
  mutable std::mutex mutex_;
  std::condition_variable acked_cv_;
  SessionTable table_;
  std::deque<Update> queued_;       // manager: applied, not yet broadcast
  std::uint64_t acknowledged_ = 0;  // every rank applied up to here
  std::uint64_t batch_last_ = 0;    // last version of the batch in flight

  // Progress-thread state.
  enum class Phase { kIdle, kBroadcast, kBarrier, kClosed };
  std::atomic<Phase> phase_{Phase::kIdle};
  bool shutdown_requested_ = false;  // manager: send the final batch next
  bool final_batch_ = false;         // the batch in flight is the final one
  std::unique_ptr<std::vector<std::byte>> slot_;
  MPI_Request request_ = MPI_REQUEST_NULL;
  bool stopping_ = false;  // shutdown() was called on this rank (a new manager resumes it)
  // Resynchronisations after view changes: epoch of the new view -> the
  // version every replica continued from (an update accepted in an earlier
  // epoch with a higher version was lost with the manager).
  std::map<std::uint64_t, std::uint64_t> resyncs_;
  // The epoch whose resynchronisation this rank finished: the manager accepts
  // nothing in a newer view before (EAGAIN), or an update could slip in
  // between the exchange of versions and the adoption of the newest replica.
  std::uint64_t synced_epoch_ = 1;
};

}  // namespace pdm::dm

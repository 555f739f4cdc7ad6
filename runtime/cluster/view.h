// View: who is in the cluster right now. A view is an epoch number, the set
// of live members and the communicators they talk on. Members are identified
// by their rank in the job's communicator at pdm_start ("member id"), which
// never changes; a member's rank in the view's communicators may change when
// a view change rebuilds them (failure handling, issue #4).
//
// Everything that depends on the view (volume ownership, the session manager)
// is a pure function of it, so every rank that holds the same view agrees.
#pragma once

#include <mpi.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "runtime/base/result.h"
#include "runtime/mpi/comm.h"

namespace pdm::cluster {

class View {
 public:
  // The first view of a job: epoch 1, every rank of app_comm live. Collective
  // over app_comm (duplicates it once per runtime channel).
  static Result<std::shared_ptr<const View>> initial(MPI_Comm app_comm);
  // The view that follows `previous` after a view change: collective over
  // `members` only (MPI_Comm_create_group over the job's first duplicate,
  // which contains every member id), so dead ranks take no part.
  static Result<std::shared_ptr<const View>> next(const View &previous, std::uint64_t epoch,
                                                  std::vector<int> members);
  ~View();

  std::uint64_t epoch() const { return epoch_; }
  const std::vector<int> &members() const { return members_; }
  int self() const { return self_; }
  std::size_t size() const { return members_.size(); }
  bool is_live(int member) const;
  // Position of a live member in the view's communicators, -1 if not live.
  int comm_rank_of(int member) const;
  int member_at(int comm_rank) const { return members_.at(static_cast<std::size_t>(comm_rank)); }
  // The member ids of the processes of `comm` (an application communicator
  // over processes of this job), in comm rank order; EINVAL if one is not
  // in the job. Local: no communication.
  Result<std::vector<int>> member_ids_of(MPI_Comm comm) const;
  // B1: the session manager is the lowest live member.
  int manager() const { return members_.front(); }

  // Peer requests and their responses (rpc engine).
  const mpi::Comm &rpc_comm() const { return rpc_; }
  // Collective control traffic driven by the progress thread (broadcasts
  // from the session manager).
  const mpi::Comm &control_comm() const { return control_; }
  // Collectives made by application threads inside collective API calls
  // (pdm_start, pdm_stop): kept apart from control_comm because MPI forbids
  // two threads from interleaving collectives on one communicator.
  const mpi::Comm &sync_comm() const { return sync_; }
  // Heartbeats and the view-change protocol (runtime/cluster/failure_detector.h).
  const mpi::Comm &heartbeat_comm() const { return heartbeat_; }

  // Called when this view is replaced because a member died: its
  // communicators contain the dead rank, so they are never freed (Open MPI
  // 4.1 hangs in MPI_Finalize after MPI_Comm_free of such a communicator,
  // docs/FAILURES.md) and their pending requests are never waited on.
  void abandon() const { abandoned_ = true; }
  bool abandoned() const { return abandoned_; }

 private:
  std::uint64_t epoch_ = 0;
  std::vector<int> members_;
  int self_ = -1;
  mpi::Comm rpc_;
  mpi::Comm control_;
  mpi::Comm sync_;
  mpi::Comm heartbeat_;
  // The job's first duplicate (parent of every view's communicators), shared
  // by all views and never freed: it always contains the dead ranks.
  MPI_Comm base_ = MPI_COMM_NULL;
  mutable std::atomic<bool> abandoned_{false};
};

using ViewPtr = std::shared_ptr<const View>;

// Membership: holds the current view; readers take a snapshot per operation
// so a view change never pulls a communicator out from under a call.
class Membership {
 public:
  explicit Membership(ViewPtr initial) : current_(std::move(initial)) {}
  ViewPtr current() const {
    std::lock_guard lock(mutex_);
    return current_;
  }
  void install(ViewPtr next) {
    std::lock_guard lock(mutex_);
    current_ = std::move(next);
  }

 private:
  mutable std::mutex mutex_;
  ViewPtr current_;
};

}  // namespace pdm::cluster

// FailureDetector: heartbeats, suspicion and the view change (DESIGN.md §7,
// issue #4). It runs on the progress thread (RpcEngine poller) and talks only
// on the view's heartbeat communicator, so neither requests nor control
// broadcasts can delay a heartbeat behind them.
//
// Open MPI 4.1 without ULFM never reports a dead peer (docs/FAILURES.md §1),
// so detection is ours: every rank sends a small heartbeat to every other
// member each `interval`; a member silent for `timeout` is suspected.
//
// View change, once some member is suspected:
//   1. the lowest member this rank does not suspect is the coordinator; if
//      that is this rank it PROPOSEs (next epoch, attempt, members) to the
//      proposed members;
//   2. a member accepts a proposal from the lowest proposed member that
//      includes it: it adopts the exclusions and ACKs;
//   3. when every proposed member ACKed, the coordinator sends COMMIT and all
//      build the new view with MPI_Comm_create_group over the agreed members.
//   A member that does not ACK within `timeout` is suspected too and the
//   proposal restarts (next attempt); a member whose coordinator goes silent
//   before COMMIT suspects it and the next lowest member proposes.
// Every message carries the epoch; messages of another epoch are dropped.
// After installing the view the listeners run (still on the progress thread)
// so the layers above resynchronise before anything else uses the new view.
//
// Not survived: a member that dies after COMMIT, while the others are
// inside MPI_Comm_create_group, would make them hang there (MPI offers no way
// out of a blocking collective without ULFM); a BuildDeadline stops them
// instead, so the job ends rather than hangs. A rank excluded by a view
// (falsely suspected) stops the process: the model is fail-stop.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "runtime/cluster/view.h"

namespace pdm::cluster {

class FailureDetector {
 public:
  using Clock = std::chrono::steady_clock;
  // Runs on the progress thread after a new view is installed.
  using Listener = std::function<void(const View &previous, const View &next)>;

  // `build_timeout`: see BuildDeadline (build_deadline.h).
  FailureDetector(Membership &membership, std::chrono::milliseconds interval,
                  std::chrono::milliseconds timeout, std::chrono::milliseconds build_timeout);
  ~FailureDetector();
  FailureDetector(const FailureDetector &) = delete;
  FailureDetector &operator=(const FailureDetector &) = delete;

  // Before the progress thread starts.
  void add_listener(Listener listener) { listeners_.push_back(std::move(listener)); }
  // One step, on the progress thread; true if it did some work.
  bool poll();
  // Stops detecting (pdm_stop, once every member passed the final barrier):
  // a member that stopped its progress thread is silent but not dead, and a
  // view change then would wait for it forever.
  void quiesce() { quiesced_ = true; }

  std::chrono::milliseconds interval() const { return interval_; }
  std::chrono::milliseconds timeout() const { return timeout_; }
  // How many view changes this rank installed, and why the last one happened.
  std::uint64_t view_changes() const;
  std::string last_reason() const;

 private:
  enum Tag : int { kBeat = 1, kPropose = 2, kAck = 3, kCommit = 4 };
  enum class Phase { kNormal, kProposing, kAwaitingCommit };

  void send(const View &view, int member, Tag tag, std::vector<std::uint64_t> words);
  void reap_sends();
  void receive(const View &view, Clock::time_point now);
  void on_message(const View &view, int from, Tag tag, const std::vector<std::uint64_t> &words,
                  Clock::time_point now);
  void propose(const View &view, Clock::time_point now);
  void install(std::uint64_t epoch, std::vector<int> members, const std::string &reason);
  int coordinator(const View &view) const;

  Membership &membership_;
  std::chrono::milliseconds interval_;
  std::chrono::milliseconds timeout_;
  std::chrono::milliseconds build_timeout_;
  std::vector<Listener> listeners_;
  std::atomic<bool> quiesced_{false};

  // Progress-thread state.
  std::vector<Clock::time_point> last_seen_;  // by member id
  Clock::time_point last_beat_{};
  std::set<int> suspects_;
  Phase phase_ = Phase::kNormal;
  std::uint64_t attempt_ = 0;
  std::vector<int> proposal_;  // the members proposed or awaiting commit
  std::set<int> acks_;
  int proposer_ = -1;
  Clock::time_point phase_since_{};
  struct Outgoing {
    MPI_Request request = MPI_REQUEST_NULL;
    std::vector<std::uint64_t> words;
  };
  std::vector<Outgoing *> sends_;

  mutable std::mutex stats_mutex_;
  std::uint64_t view_changes_ = 0;
  std::string last_reason_;
};

}  // namespace pdm::cluster

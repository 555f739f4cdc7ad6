// Backoff: how a polling loop waits without burning a core. Tests run 4-8
// ranks, each with a progress thread, on 2 cores, and MPI offers no blocking
// wait that does not spin, so an idle poller
//   1. first yields the CPU a bounded number of times (cheap; answers a
//      burst of messages at once),
//   2. then sleeps briefly (kShortSleep) while it has been idle only a short
//      time: during an active phase requests keep arriving within
//      microseconds, and a long sleep would add its length to every
//      round trip,
//   3. and only after a real idle period (kShortPhase) sleeps long
//      (kLongSleep), so a quiet rank costs next to no CPU.
// A thread that waits for an answer that usually comes within microseconds
// (a synchronous DM event's round trip) may first poll without pausing at
// all for `busy`: a yield costs about 0.6 µs and a short sleep about 40 µs
// on these machines, while the whole round trip takes a few µs. The busy
// phase is short and bounded, so an oversubscribed node loses at most that
// much of a core per wait.
#pragma once

#include <sys/prctl.h>

#include <chrono>
#include <thread>

namespace pdm::mpi {

class Backoff {
 public:
  static constexpr unsigned kYields = 16;
  static constexpr auto kShortSleep = std::chrono::microseconds(20);
  static constexpr auto kShortPhase = std::chrono::milliseconds(50);
  static constexpr auto kLongSleep = std::chrono::microseconds(1000);

  Backoff() = default;
  explicit Backoff(std::chrono::microseconds busy) : busy_(busy) {}

  void reset() { yields_ = 0; }
  void pause() {
    if (yields_ == 0) idle_since_ = std::chrono::steady_clock::now();
    if (busy_.count() > 0 && std::chrono::steady_clock::now() - idle_since_ < busy_) {
      yields_ = 1;  // idle_since_ stays
      return;
    }
    if (yields_ < kYields) {
      ++yields_;
      std::this_thread::yield();
      return;
    }
    // Linux lengthens a sleep by the thread's timer slack (50 us by
    // default), which would make kShortSleep 70 us; 1 us of slack keeps it
    // near what it says. Set once per thread.
    thread_local const bool slack_set = prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0) == 0;
    (void)slack_set;
    const auto idle = std::chrono::steady_clock::now() - idle_since_;
    std::this_thread::sleep_for(idle < kShortPhase ? kShortSleep : kLongSleep);
  }

 private:
  std::chrono::microseconds busy_{0};
  unsigned yields_ = 0;
  std::chrono::steady_clock::time_point idle_since_;
};

}  // namespace pdm::mpi

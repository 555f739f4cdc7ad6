// Backoff: how a polling loop waits without burning a core. Tests run 4-8
// ranks, each with a progress thread, on 2 cores, so an idle poller first
// yields the CPU a bounded number of times (cheap, keeps latency low while a
// burst of messages is under way), then sleeps for exponentially longer
// intervals up to a cap.
#pragma once

#include <algorithm>
#include <chrono>
#include <thread>

namespace pdm::mpi {

class Backoff {
 public:
  static constexpr unsigned kYields = 200;
  static constexpr unsigned kMaxSleepMicros = 1000;

  void reset() { idle_ = 0; }
  void pause() {
    if (idle_ < kYields) {
      ++idle_;
      std::this_thread::yield();
      return;
    }
    const unsigned shift = std::min(idle_ - kYields, 10u);
    ++idle_;
    std::this_thread::sleep_for(
        std::chrono::microseconds(std::min(1u << shift, kMaxSleepMicros)));
  }

 private:
  unsigned idle_ = 0;
};

}  // namespace pdm::mpi

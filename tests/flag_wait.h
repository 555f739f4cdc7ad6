// What the failure and failpoint tests share: waiting, bounded, for another
// thread (often one held at a failpoint) to set a flag. It yields rather
// than sleeps: the thread it waits for may be this process's progress
// thread, and a held failpoint must let go as soon as the test says so.
#pragma once

#include <atomic>
#include <chrono>
#include <thread>

namespace pdm::test {

// True once `flag` is set; false when `limit` passed first.
inline bool wait_for_flag(const std::atomic<bool> &flag, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!flag.load()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::yield();
  }
  return true;
}

}  // namespace pdm::test

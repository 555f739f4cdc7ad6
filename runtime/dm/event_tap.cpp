#include "runtime/dm/event_tap.h"

#include <chrono>

namespace pdm::dm {

void EventTap::record(const EventMessage &message) {
  const double now =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  std::lock_guard lock(mutex_);
  if (ring_.size() == kCapacity) {
    ring_.pop_front();
    ++dropped_;
  }
  ring_.push_back({now, message});
}

std::vector<EventTap::Entry> EventTap::take(std::uint64_t &dropped) {
  std::lock_guard lock(mutex_);
  std::vector<Entry> out(ring_.begin(), ring_.end());
  ring_.clear();
  dropped = dropped_;
  dropped_ = 0;
  return out;
}

}  // namespace pdm::dm

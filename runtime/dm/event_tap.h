// EventTap: a copy of every event as the sessions of this rank receive it,
// for `pdm events` (a live tail from outside the job). The event service's
// delivery handler records each queued event here (a copy into a bounded
// ring under a mutex: no I/O on the progress thread); the status publisher's
// thread takes what is new and appends it to the rank's event log. When the
// ring is full the oldest entries are dropped and counted, so a reader can
// say that it missed some; the events themselves are never affected.
#pragma once

#include <cstdint>
#include <deque>
#include <mutex>
#include <vector>

#include "runtime/dm/event_service.h"

namespace pdm::dm {

class EventTap {
 public:
  static constexpr std::size_t kCapacity = 16384;

  struct Entry {
    double time = 0;  // seconds since the Unix epoch, when the event was queued
    EventMessage message;
  };

  void record(const EventMessage &message);
  // Everything recorded since the last take, and how many were dropped.
  std::vector<Entry> take(std::uint64_t &dropped);

 private:
  std::mutex mutex_;
  std::deque<Entry> ring_;
  std::uint64_t dropped_ = 0;
};

}  // namespace pdm::dm

// RecentMap: what a session node remembers of the events it handled, to
// answer a repeated delivery the way it answered the first (the answer of a
// synchronous event, or that an asynchronous one is queued already). It is
// bounded both ways: at most `capacity` entries, none older than `max_age`
// once a newer one is put; a repeat comes within a view change or two.
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <map>
#include <utility>

namespace pdm::dm {

template <typename Key, typename Value>
class RecentMap {
 public:
  using Clock = std::chrono::steady_clock;

  RecentMap(std::size_t capacity, Clock::duration max_age)
      : capacity_(capacity), max_age_(max_age) {}

  // Remembers (or replaces) key's value, and forgets what is beyond the bounds.
  void put(const Key &key, Value value) {
    const auto now = Clock::now();
    entries_[key] = std::move(value);
    order_.emplace_back(now, key);
    while (!order_.empty() &&
           (order_.size() > capacity_ || now - order_.front().first > max_age_)) {
      entries_.erase(order_.front().second);
      order_.pop_front();
    }
  }
  // Null if not remembered.
  const Value *find(const Key &key) const {
    auto it = entries_.find(key);
    return it == entries_.end() ? nullptr : &it->second;
  }

 private:
  std::size_t capacity_;
  Clock::duration max_age_;
  std::map<Key, Value> entries_;
  std::deque<std::pair<Clock::time_point, Key>> order_;
};

}  // namespace pdm::dm

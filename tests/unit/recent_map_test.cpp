// RecentMap (runtime/dm/recent_map.h): what a session node remembers for
// repeated deliveries, bounded in size and age.
#include "runtime/dm/recent_map.h"

#include <gtest/gtest.h>

#include <chrono>

namespace {

using pdm::dm::RecentMap;

TEST(RecentMap, RemembersAndReplaces) {
  RecentMap<int, int> map(4, std::chrono::minutes(2));
  EXPECT_EQ(map.find(1), nullptr);
  map.put(1, 10);
  ASSERT_NE(map.find(1), nullptr);
  EXPECT_EQ(*map.find(1), 10);
  map.put(1, 11);
  EXPECT_EQ(*map.find(1), 11);
}

TEST(RecentMap, ForgetsTheOldestBeyondItsCapacity) {
  RecentMap<int, bool> map(3, std::chrono::minutes(2));
  for (int key = 1; key <= 4; ++key) map.put(key, true);
  EXPECT_EQ(map.find(1), nullptr);
  for (int key = 2; key <= 4; ++key) EXPECT_NE(map.find(key), nullptr) << key;
}

TEST(RecentMap, KeepsNothingOlderThanItsAge) {
  // Every entry is older than a negative age as soon as it is put (a
  // deterministic stand-in for two minutes passing).
  RecentMap<int, bool> map(100, std::chrono::nanoseconds(-1));
  map.put(1, true);
  EXPECT_EQ(map.find(1), nullptr);
  RecentMap<int, bool> kept(100, std::chrono::hours(1));
  kept.put(1, true);
  kept.put(2, true);
  EXPECT_NE(kept.find(1), nullptr);
}

}  // namespace

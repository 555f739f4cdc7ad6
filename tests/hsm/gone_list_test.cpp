// pdm.gone, the list of archive copies no file names any more (issue #6:
// removed files' copies are dropped after the grace period): its text, and
// what happens when it outgrows one DM attribute.
#include "apps/hsm/agent/gone_list.h"

#include <gtest/gtest.h>

#include <fmt/format.h>

namespace pdm::hsm {
namespace {

TEST(GoneList, TextRoundTripsWithTheRemovalMark) {
  const GoneList gone{{"a1:2a/42.3.x", {100, true}}, {"p:c-r0-1.h5:/f1.1.0", {200, false}}};
  const std::string text = encode_gone(gone);
  EXPECT_EQ(text, "a1:2a/42.3.x 100 removed\np:c-r0-1.h5:/f1.1.0 200\n");
  EXPECT_EQ(decode_gone(text), gone);
  // Lines of the first format (no mark) and junk are read as well as can be.
  EXPECT_EQ(decode_gone("a 5\nnot-a-line\nb 7 removed\n"),
            (GoneList{{"a", {5, false}}, {"b", {7, true}}}));
}

TEST(GoneList, ATooLongListKeepsItsOldestLines) {
  GoneList gone;
  for (int i = 0; i < 100; ++i) {
    gone[fmt::format("a1:loc{:03}", i)] = GoneCopy{1000 - i, i % 2 == 0};  // loc099 is oldest
  }
  const std::size_t one_line = encode_gone({{"a1:loc000", {1000, true}}}).size();
  const GoneList kept = fitting(gone, 10 * one_line);
  EXPECT_LE(encode_gone(kept).size(), 10 * one_line);
  ASSERT_GE(kept.size(), 8u);
  std::int64_t newest_kept = 0;
  for (const auto &[location, copy] : kept) newest_kept = std::max(newest_kept, copy.since_ns);
  for (const auto &[location, copy] : gone) {
    if (!kept.count(location)) {
      EXPECT_GE(copy.since_ns, newest_kept) << location << " left out though older";
    }
  }
  EXPECT_EQ(fitting(gone, 1 << 20), gone);
}

}  // namespace
}  // namespace pdm::hsm

// Striping arithmetic: every byte of a file maps to exactly one (volume,
// object offset), stripes of one volume are adjacent in its object, and
// object_length_for agrees with the bytes a file of that size puts on each
// volume. Checked against a byte-by-byte reference model.
#include "pfs/layout.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

namespace pdm::pfs {
namespace {

// The reference: where byte b of the file lives, straight from the definition.
std::pair<std::uint32_t, std::uint64_t> reference(std::uint64_t b, std::uint32_t stripe,
                                                  std::uint32_t volumes, std::uint32_t first) {
  const std::uint64_t s = b / stripe;
  return {static_cast<std::uint32_t>((first + s) % volumes), (s / volumes) * stripe + b % stripe};
}

TEST(Layout, PiecesCoverTheRangeInOrderAndMatchTheReference) {
  for (std::uint32_t volumes : {1u, 3u, 4u}) {
    for (std::uint32_t first = 0; first < volumes; ++first) {
      Layout layout(16, volumes, first);
      const std::uint64_t offset = 5;
      const std::uint64_t length = 150;
      std::uint64_t expect_file = offset;
      for (const auto &piece : layout.pieces(offset, length)) {
        EXPECT_EQ(piece.file_offset, expect_file);
        EXPECT_LE(piece.length, 16u);
        for (std::uint64_t i = 0; i < piece.length; ++i) {
          auto [volume, object] = reference(piece.file_offset + i, 16, volumes, first);
          EXPECT_EQ(piece.volume, volume);
          EXPECT_EQ(piece.object_offset + i, object);
        }
        expect_file += piece.length;
      }
      EXPECT_EQ(expect_file, offset + length);
    }
  }
}

TEST(Layout, EachVolumeGetsOneContiguousObjectRange) {
  Layout layout(4096, 4, 2);
  const std::uint64_t offset = 1000;
  const std::uint64_t length = 4096 * 13 + 77;
  std::uint64_t total = 0;
  std::set<std::uint32_t> seen;
  for (const auto &range : layout.by_volume(offset, length)) {
    EXPECT_TRUE(seen.insert(range.volume).second) << "volume listed twice";
    std::uint64_t object = range.object_offset;
    std::uint64_t sum = 0;
    for (const auto &piece : range.pieces) {
      EXPECT_EQ(piece.volume, range.volume);
      EXPECT_EQ(piece.object_offset, object) << "object range not contiguous";
      object += piece.length;
      sum += piece.length;
    }
    EXPECT_EQ(sum, range.length);
    total += range.length;
  }
  EXPECT_EQ(seen.size(), 4u);
  EXPECT_EQ(total, length);
}

TEST(Layout, ObjectLengthForMatchesTheBytesEachVolumeHolds) {
  for (std::uint32_t volumes : {1u, 2u, 5u}) {
    for (std::uint32_t first = 0; first < volumes; ++first) {
      Layout layout(8, volumes, first);
      for (std::uint64_t size = 0; size < 8 * volumes * 3 + 9; ++size) {
        std::map<std::uint32_t, std::uint64_t> end;  // one past the last object byte used
        for (std::uint64_t b = 0; b < size; ++b) {
          auto [volume, object] = reference(b, 8, volumes, first);
          end[volume] = std::max(end[volume], object + 1);
        }
        for (std::uint32_t v = 0; v < volumes; ++v) {
          EXPECT_EQ(layout.object_length_for(size, v), end[v])
              << "size " << size << " volume " << v << " of " << volumes << " first " << first;
        }
      }
    }
  }
}

TEST(Layout, EmptyRangeHasNoPieces) {
  Layout layout(4096, 4, 0);
  EXPECT_TRUE(layout.pieces(12345, 0).empty());
  EXPECT_TRUE(layout.by_volume(12345, 0).empty());
}

// file_offset_of inverts (volume_of, object_offset_of): dm_get_allocinfo
// maps object extents back to the file with it.
TEST(Layout, FileOffsetOfInvertsTheMapping) {
  for (std::uint32_t volumes : {1u, 3u, 4u}) {
    for (std::uint32_t first = 0; first < volumes; ++first) {
      Layout layout(4096, volumes, first);
      for (std::uint64_t f = 0; f < 64 * 4096; f += 1021) {
        EXPECT_EQ(layout.file_offset_of(layout.volume_of(f), layout.object_offset_of(f)), f)
            << "volumes " << volumes << " first " << first << " offset " << f;
      }
    }
  }
}

}  // namespace
}  // namespace pdm::pfs

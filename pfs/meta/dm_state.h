// FileDmState: what the DMAPI keeps per file that decides how reads, writes
// and truncates of it behave (DESIGN.md §5, XDSM managed regions):
//   - the managed regions (dm_set_region): a READ, WRITE or TRUNCATE that
//     touches a region with the matching flag raises a synchronous data event;
//   - the released ranges: byte ranges whose data dm_punch_hole freed and
//     that nobody wrote since. Their bytes read as zeros on the volumes, so a
//     read of them fails (EIO) instead of returning zeros the file never held
//     ("a read of a punched range never returns silent zeros").
// It lives in the metadata store ("regions" database, one record per inode),
// goes away with the inode, and travels with the metadata protocol. The
// functions below are the range arithmetic, kept pure so they can be tested
// without a file system.
#pragma once

#include <cstdint>
#include <tuple>
#include <vector>

namespace pdm::pfs {

// rg_flags of dm_region_t (the values of DM_REGION_*; pfs does not include the C API).
namespace region_flag {
inline constexpr std::uint32_t kRead = 0x1;
inline constexpr std::uint32_t kWrite = 0x2;
inline constexpr std::uint32_t kTruncate = 0x4;
inline constexpr std::uint32_t kAll = kRead | kWrite | kTruncate;
}  // namespace region_flag

// The most regions one file may have (DM_CONFIG_MAX_MANAGED_REGIONS).
inline constexpr std::size_t kMaxManagedRegions = 64;

struct ManagedRegion {
  std::uint64_t offset = 0;
  std::uint64_t size = 0;  // 0: from offset to the end of the file and beyond (as in XFS)
  std::uint32_t flags = 0;
  auto fields() { return std::tie(offset, size, flags); }
  bool operator==(const ManagedRegion &) const = default;
};

struct ByteRange {
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
  std::uint64_t end() const { return offset + length; }
  auto fields() { return std::tie(offset, length); }
  bool operator==(const ByteRange &) const = default;
};

struct FileDmState {
  // Bumped by every change of the record; a client compares it to decide
  // whether what it cached is still the metadata's state.
  std::uint64_t version = 0;
  std::vector<ManagedRegion> regions;
  std::vector<ByteRange> released;  // sorted, disjoint, never adjacent
  auto fields() { return std::tie(version, regions, released); }
  bool operator==(const FileDmState &) const = default;
  bool empty() const { return regions.empty() && released.empty(); }
};

// A length that reaches the end of every file (a truncate's "to the end").
inline constexpr std::uint64_t kToEnd = ~std::uint64_t{0};

// True if a region with one of `flags` overlaps [offset, offset + length)
// (length kToEnd: to the end). An empty range touches nothing.
bool region_touched(const FileDmState &state, std::uint32_t flags, std::uint64_t offset,
                    std::uint64_t length);
// True if a released range overlaps [offset, offset + length).
bool released_touched(const FileDmState &state, std::uint64_t offset, std::uint64_t length);
// Adds [offset, offset + length) to the released ranges (merging).
void add_released(std::vector<ByteRange> &ranges, std::uint64_t offset, std::uint64_t length);
// Removes [offset, offset + length) from them; true if anything changed.
bool clear_released(std::vector<ByteRange> &ranges, std::uint64_t offset, std::uint64_t length);

}  // namespace pdm::pfs

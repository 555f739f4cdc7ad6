#include "pfs/meta/dm_state.h"

#include <algorithm>

namespace pdm::pfs {
namespace {

// The end of [offset, offset + length), saturated (kToEnd and overflow).
std::uint64_t end_of(std::uint64_t offset, std::uint64_t length) {
  return length > kToEnd - offset ? kToEnd : offset + length;
}

}  // namespace

bool region_touched(const FileDmState &state, std::uint32_t flags, std::uint64_t offset,
                    std::uint64_t length) {
  if (length == 0) return false;
  const std::uint64_t end = end_of(offset, length);
  return std::any_of(state.regions.begin(), state.regions.end(), [&](const ManagedRegion &r) {
    const std::uint64_t region_end = r.size == 0 ? kToEnd : end_of(r.offset, r.size);
    return (r.flags & flags) != 0 && r.offset < end && offset < region_end;
  });
}

bool released_touched(const FileDmState &state, std::uint64_t offset, std::uint64_t length) {
  if (length == 0) return false;
  const std::uint64_t end = end_of(offset, length);
  return std::any_of(state.released.begin(), state.released.end(),
                     [&](const ByteRange &r) { return r.offset < end && offset < r.end(); });
}

void add_released(std::vector<ByteRange> &ranges, std::uint64_t offset, std::uint64_t length) {
  if (length == 0) return;
  std::uint64_t start = offset;
  std::uint64_t end = end_of(offset, length);
  std::vector<ByteRange> out;
  out.reserve(ranges.size() + 1);
  for (const ByteRange &r : ranges) {
    if (r.end() < start || end < r.offset) {
      out.push_back(r);  // apart (touching ranges merge)
    } else {
      start = std::min(start, r.offset);
      end = std::max(end, r.end());
    }
  }
  out.push_back({start, end - start});
  std::sort(out.begin(), out.end(),
            [](const ByteRange &a, const ByteRange &b) { return a.offset < b.offset; });
  ranges = std::move(out);
}

bool clear_released(std::vector<ByteRange> &ranges, std::uint64_t offset, std::uint64_t length) {
  if (length == 0) return false;
  const std::uint64_t end = end_of(offset, length);
  bool changed = false;
  std::vector<ByteRange> out;
  out.reserve(ranges.size() + 1);
  for (const ByteRange &r : ranges) {
    if (r.end() <= offset || end <= r.offset) {
      out.push_back(r);
      continue;
    }
    changed = true;
    if (r.offset < offset) out.push_back({r.offset, offset - r.offset});
    if (end < r.end()) out.push_back({end, r.end() - end});
  }
  ranges = std::move(out);
  return changed;
}

}  // namespace pdm::pfs

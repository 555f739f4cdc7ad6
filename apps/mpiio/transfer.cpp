#include "apps/mpiio/transfer.h"

#include <algorithm>
#include <cstring>
#include <span>
#include <vector>

namespace pdm::mpiio {
namespace {

// Sieving: segments closer than kSieveGap are read together, up to
// kSieveSpan bytes. Farther apart, reading only the segments pays: their
// ranges go out together (FileSystem::pread_extents), one request per
// volume, and a gap of a page already costs more to move than a range adds
// (docs/PERFORMANCE.md, session 13).
constexpr std::int64_t kSieveGap = 4 << 10;
constexpr std::int64_t kSieveSpan = 4 << 20;

// The memory side of a request: contiguous (data points at its first byte)
// or a flattened type to pack and unpack.
struct Memory {
  std::byte *data = nullptr;
  FlatType flat;
  bool contiguous = true;
};

Result<Memory> memory_of(const Request &request) {
  Memory memory;
  PDM_ASSIGN_OR_RETURN(memory.flat, flatten(request.type));
  memory.contiguous =
      memory.flat.contiguous() || (request.count <= 1 && memory.flat.blocks.size() <= 1);
  auto *base = static_cast<std::byte *>(request.buffer);
  memory.data = base + (memory.flat.blocks.empty() ? 0 : memory.flat.blocks[0].offset);
  return memory;
}

// Copies between the typed buffer and `packed` (to_packed: pack; else unpack
// the first `bytes` bytes).
void copy_typed(const Request &request, const FlatType &flat, std::byte *packed, std::int64_t bytes,
                bool to_packed) {
  auto *base = static_cast<std::byte *>(request.buffer);
  std::int64_t done = 0;
  for (std::int64_t i = 0; i < request.count && done < bytes; ++i) {
    for (const Block &b : flat.blocks) {
      const std::int64_t n = std::min(b.length, bytes - done);
      std::byte *typed = base + i * flat.extent + b.offset;
      if (to_packed) {
        std::memcpy(packed + done, typed, static_cast<std::size_t>(n));
      } else {
        std::memcpy(typed, packed + done, static_cast<std::size_t>(n));
      }
      done += n;
      if (done == bytes) return;
    }
  }
}

}  // namespace

Result<std::int64_t> read_segments(pfs::FileSystem &fs, int fd, const std::vector<Block> &segments,
                                   std::byte *out) {
  // The ranges to read: one per run of segments close together (their
  // hull), all in one pread_extents.
  struct Run {
    std::size_t first, last;
  };
  std::vector<Run> runs;
  std::vector<pfs::ByteRange> extents;
  std::uint64_t hull_bytes = 0;
  bool sieved = false;
  for (std::size_t i = 0; i < segments.size();) {
    std::size_t j = i + 1;
    while (j < segments.size() &&
           segments[j].offset - (segments[j - 1].offset + segments[j - 1].length) < kSieveGap &&
           segments[j].offset >= segments[j - 1].offset &&
           segments[j].offset + segments[j].length - segments[i].offset <= kSieveSpan) {
      ++j;
    }
    const std::int64_t start = segments[i].offset;
    const std::int64_t end = segments[j - 1].offset + segments[j - 1].length;
    runs.push_back({i, j});
    extents.push_back({static_cast<std::uint64_t>(start), static_cast<std::uint64_t>(end - start)});
    hull_bytes += static_cast<std::uint64_t>(end - start);
    for (std::size_t k = i + 1; k < j && !sieved; ++k) {
      sieved = segments[k].offset != segments[k - 1].offset + segments[k - 1].length;
    }
    i = j;
  }
  if (!sieved) {
    // No run has a gap: the ranges' bytes are the segments'; read in place.
    PDM_ASSIGN_OR_RETURN(const std::size_t n, fs.pread_extents(fd, extents, {out, hull_bytes}));
    return static_cast<std::int64_t>(n);
  }
  std::vector<std::byte> hulls(hull_bytes);
  PDM_ASSIGN_OR_RETURN(const std::size_t got, fs.pread_extents(fd, extents, hulls));
  // Copies each segment's bytes out of its run's hull, up to the end of the
  // file (the bytes read are a prefix of the ranges).
  std::int64_t done = 0;
  std::uint64_t hull_base = 0;
  for (std::size_t r = 0; r < runs.size(); ++r) {
    const auto hull_start = static_cast<std::int64_t>(extents[r].offset);
    const std::uint64_t valid =
        std::clamp<std::uint64_t>(got - std::min(got, hull_base), 0, extents[r].length);
    const std::int64_t valid_end = hull_start + static_cast<std::int64_t>(valid);
    for (std::size_t i = runs[r].first; i < runs[r].last; ++i) {
      const Block &s = segments[i];
      const std::int64_t n = std::clamp<std::int64_t>(valid_end - s.offset, 0, s.length);
      std::memcpy(out + done, hulls.data() + hull_base + (s.offset - hull_start),
                  static_cast<std::size_t>(n));
      done += n;
      if (n < s.length) return done;
    }
    hull_base += extents[r].length;
  }
  return done;
}

Result<std::int64_t> request_bytes(const Request &request) {
  MPI_Count size = 0;
  if (request.type == MPI_DATATYPE_NULL) return make_error(EINVAL, "MPI_DATATYPE_NULL");
  MPI_Type_size_x(request.type, &size);
  if (request.count < 0) return make_error(EINVAL, "negative count {}", request.count);
  return request.count * static_cast<std::int64_t>(size);
}

Result<MappedRequest> MappedRequest::make(const View &view, std::int64_t pos,
                                          const Request &request, bool writing) {
  MappedRequest mapped;
  mapped.request_ = request;
  PDM_ASSIGN_OR_RETURN(mapped.bytes_, request_bytes(request));
  if (mapped.bytes_ == 0) return mapped;
  if (!view.has_data()) return make_error(EINVAL, "the file view selects no data");
  PDM_ASSIGN_OR_RETURN(const Memory memory, memory_of(request));
  mapped.segments_ = view.map(pos, mapped.bytes_);
  mapped.data_ = memory.data;
  if (!memory.contiguous) {
    mapped.memory_ = memory.flat;
    mapped.staging_.resize(static_cast<std::size_t>(mapped.bytes_));
    if (writing) copy_typed(request, memory.flat, mapped.staging_.data(), mapped.bytes_, true);
    mapped.data_ = mapped.staging_.data();
  }
  return mapped;
}

void MappedRequest::finish_read(std::int64_t got) {
  if (!staging_.empty()) copy_typed(request_, memory_, staging_.data(), got, false);
}

Result<std::int64_t> write_mapped(pfs::FileSystem &fs, int fd, MappedRequest &mapped) {
  const auto &segments = mapped.segments();
  if (segments.size() == 1) {
    PDM_ASSIGN_OR_RETURN(const std::size_t n,
                         fs.pwrite(fd, {mapped.data(), static_cast<std::size_t>(mapped.bytes())},
                                   segments[0].offset));
    return static_cast<std::int64_t>(n);
  }
  // Many segments (a strided view): one write with all their requests in
  // flight at once, instead of a round trip each.
  std::vector<pfs::ByteRange> extents;
  extents.reserve(segments.size());
  for (const Block &s : segments) {
    extents.push_back({static_cast<std::uint64_t>(s.offset), static_cast<std::uint64_t>(s.length)});
  }
  PDM_ASSIGN_OR_RETURN(
      const std::size_t n,
      fs.pwrite_extents(fd, extents, {mapped.data(), static_cast<std::size_t>(mapped.bytes())}));
  return static_cast<std::int64_t>(n);
}

Result<std::int64_t> read_mapped(pfs::FileSystem &fs, int fd, MappedRequest &mapped) {
  PDM_ASSIGN_OR_RETURN(const std::int64_t got,
                       read_segments(fs, fd, mapped.segments(), mapped.data()));
  mapped.finish_read(got);
  return got;
}

}  // namespace pdm::mpiio

// FileSystem's DMAPI data operations: managed regions, invisible I/O, punch
// and probe hole, allocation info and sync by handle (the C API is
// runtime/dmapi/dm_data.cpp). Reads, writes and truncates that raise the
// data events are in file_system.cpp.
#include <algorithm>

#include "pfs/client/file_system.h"
#include "pfs/meta/dm_state_protocol.h"
#include "pfs/meta/meta_protocol.h"
#include "runtime/mpi/typed_rpc.h"

namespace pdm::pfs {
namespace {

Error no_such_file(InodeNumber ino, std::uint64_t generation) {
  return make_error(EBADF, "the handle names inode {} generation {}, which does not exist", ino,
                    generation);
}

}  // namespace

Result<Inode> FileSystem::inode_of(InodeNumber ino, std::uint64_t generation) {
  auto inode = meta_call<Inode>(meta_msg::kGetattr, InodeRequest{ino});
  if (!inode.ok()) {
    if (inode.error().code == ENOENT) return no_such_file(ino, generation);
    return std::move(inode).error();
  }
  if (inode->generation != generation) return no_such_file(ino, generation);
  return inode;
}

Status FileSystem::announce_dm_change() {
  // The shrink epoch covers every cached per-file state that a change can
  // make wrong: sizes, and since the DMAPI also regions and released ranges.
  if (notices_ != nullptr) return notices_->announce_shrink();
  return {};
}

Result<InodeDm> FileSystem::dm_state(InodeNumber ino, std::uint64_t generation) {
  auto got = meta_call<InodeDm>(dm_state_msg::kGet, InodeRequest{ino});
  if (!got.ok() && got.error().code == ENOENT) return no_such_file(ino, generation);
  if (got.ok() && got->inode.generation != generation) return no_such_file(ino, generation);
  return got;
}

Status FileSystem::set_regions(InodeNumber ino, std::uint64_t generation,
                               std::vector<ManagedRegion> regions) {
  PDM_TRY(inode_of(ino, generation));
  PDM_TRY(
      meta_call<InodeDm>(dm_state_msg::kSetRegions, SetRegionsRequest{ino, std::move(regions)}));
  // Before returning, every rank drops the regions it cached (B7: routing
  // by the new state once the call returns).
  return announce_dm_change();
}

Result<std::size_t> FileSystem::read_invisible(InodeNumber ino, std::uint64_t generation,
                                               std::uint64_t offset, std::span<std::byte> buffer) {
  PDM_ASSIGN_OR_RETURN(auto inode, inode_of(ino, generation));
  if (!inode.is_file()) return make_error(EINVAL, "inode {} is not a regular file", ino);
  if (offset >= inode.size) return std::size_t{0};
  const auto length =
      static_cast<std::size_t>(std::min<std::uint64_t>(buffer.size(), inode.size - offset));
  PDM_TRY(data_.read(layout_of(inode), ino, offset, buffer.first(length)));
  return length;
}

Result<std::size_t> FileSystem::write_invisible(InodeNumber ino, std::uint64_t generation,
                                                std::uint64_t offset,
                                                std::span<const std::byte> data, bool sync) {
  PDM_ASSIGN_OR_RETURN(auto inode, inode_of(ino, generation));
  if (!inode.is_file()) return make_error(EINVAL, "inode {} is not a regular file", ino);
  if (offset + data.size() < offset ||
      offset + data.size() > static_cast<std::uint64_t>(INT64_MAX)) {
    return make_error(EFBIG, "write past the largest file offset");
  }
  if (data.empty()) return std::size_t{0};
  PDM_TRY(data_.write(layout_of(inode), ino, offset, data));
  if (sync) PDM_TRY(data_.sync(ino));
  // After the data: the range stops being released, and the size covers it.
  PDM_TRY(meta_call<InodeDm>(dm_state_msg::kRewritten,
                             RewrittenRequest{ino, offset, data.size(), true}));
  if (sync) PDM_TRY(meta_status(meta_msg::kSync, mpi::Empty{}));
  return data.size();
}

Result<ByteRange> FileSystem::probe_hole(InodeNumber ino, std::uint64_t generation,
                                         std::uint64_t offset, std::uint64_t length) {
  PDM_ASSIGN_OR_RETURN(auto inode, inode_of(ino, generation));
  if (!inode.is_file()) return make_error(EINVAL, "inode {} is not a regular file", ino);
  if (offset > inode.size) {
    return make_error(E2BIG, "offset {} is past the end of the file ({} bytes)", offset,
                      inode.size);
  }
  // XFS rounding: the start rounds up to a block; a range reaching the end
  // of the file is punched to the end (length 0), else its end rounds down.
  const std::uint64_t start = (offset + kPunchBlock - 1) / kPunchBlock * kPunchBlock;
  if (length == 0 || length >= inode.size - offset) return ByteRange{start, 0};
  const std::uint64_t end = (offset + length) / kPunchBlock * kPunchBlock;
  if (end <= start) {
    return make_error(EINVAL, "[{}, +{}) holds no whole block of {} bytes", offset, length,
                      kPunchBlock);
  }
  return ByteRange{start, end - start};
}

Status FileSystem::punch_hole(InodeNumber ino, std::uint64_t generation, std::uint64_t offset,
                              std::uint64_t length) {
  PDM_ASSIGN_OR_RETURN(auto inode, inode_of(ino, generation));
  if (!inode.is_file()) return make_error(EINVAL, "inode {} is not a regular file", ino);
  if (offset > inode.size) {
    return make_error(E2BIG, "offset {} is past the end of the file ({} bytes)", offset,
                      inode.size);
  }
  const bool to_end = length == 0 || length >= inode.size - offset;
  if (offset % kPunchBlock != 0 || (!to_end && length % kPunchBlock != 0)) {
    return make_error(EAGAIN, "[{}, +{}) is not aligned to {} bytes; use dm_probe_hole", offset,
                      length, kPunchBlock);
  }
  if (offset == inode.size) return {};
  // 1. The range is released in the metadata: from now on reads of it fail
  //    (or raise READ) instead of returning zeros.
  PDM_TRY(
      meta_call<InodeDm>(dm_state_msg::kRelease, ReleaseRequest{ino, offset, to_end ? 0 : length}));
  // 2. Every rank drops the state it cached, and a read in flight notices.
  PDM_TRY(announce_dm_change());
  // 3. Only then are the blocks freed on the volumes.
  if (to_end) return data_.truncate(layout_of(inode), ino, offset);
  return data_.punch(layout_of(inode), ino, offset, length);
}

Result<std::vector<FileSystem::Extent>> FileSystem::extents(InodeNumber ino,
                                                            std::uint64_t generation,
                                                            std::uint64_t from) {
  PDM_ASSIGN_OR_RETURN(auto inode, inode_of(ino, generation));
  if (!inode.is_file()) return make_error(EINVAL, "inode {} is not a regular file", ino);
  if (from > inode.size) {
    return make_error(EINVAL, "offset {} is past the end of the file ({} bytes)", from, inode.size);
  }
  PDM_ASSIGN_OR_RETURN(auto data, data_.data_ranges(layout_of(inode), ino));
  std::vector<Extent> out;
  std::uint64_t at = from;
  for (const ByteRange &r : data) {
    const std::uint64_t start = std::max(r.offset, at);
    const std::uint64_t end = std::min(r.end(), inode.size);
    if (start >= end) continue;
    if (start > at) out.push_back({false, at, start - at});
    out.push_back({true, start, end - start});
    at = end;
  }
  if (at < inode.size) out.push_back({false, at, inode.size - at});
  return out;
}

Status FileSystem::sync_object(InodeNumber ino, std::uint64_t generation) {
  PDM_TRY(inode_of(ino, generation));
  PDM_TRY(data_.sync(ino));
  return meta_status(meta_msg::kSync, mpi::Empty{});
}

}  // namespace pdm::pfs

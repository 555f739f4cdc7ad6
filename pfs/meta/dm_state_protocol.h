// The metadata messages of the DMAPI's per-file data state (dm_state.h):
// managed regions and released ranges, served by the metadata owner like
// every other metadata call. Each answers with the inode and the state after
// the call, so the caller can cache both.
#pragma once

#include <functional>
#include <span>
#include <tuple>
#include <vector>

#include "pfs/meta/meta_protocol.h"
#include "pfs/meta/meta_service.h"
#include "runtime/mpi/fields.h"
#include "runtime/mpi/rpc.h"

namespace pdm::pfs {

namespace dm_state_msg {
enum : mpi::MsgType {
  kGet = 0x0220,  // InodeRequest -> InodeDm
  kSetRegions,    // SetRegionsRequest -> InodeDm (replaces the file's regions)
  kRelease,       // ReleaseRequest -> InodeDm (dm_punch_hole marks the range)
  kRewritten,     // RewrittenRequest -> InodeDm (a write unmarks its range)
  kOpen,          // OpenRequest -> OpenedDm (meta_msg::kOpen, with the file's DM state)
  kOpenFor,       // OpenForRequest -> OpenedDm (kOpen for every rank of a group)
};
}  // namespace dm_state_msg

struct SetRegionsRequest {
  InodeNumber ino = 0;
  std::vector<ManagedRegion> regions;
  auto fields() { return std::tie(ino, regions); }
};

// [offset, offset + length) of the file, clipped to its size (length 0: to the end).
struct ReleaseRequest {
  InodeNumber ino = 0;
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
  auto fields() { return std::tie(ino, offset, length); }
};

// Data was written over [offset, offset + length). invisible (dm_write_invis):
// the size grows to cover it without touching the times.
struct RewrittenRequest {
  InodeNumber ino = 0;
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
  bool invisible = false;
  auto fields() { return std::tie(ino, offset, length, invisible); }
};

inline auto wire_fields(InodeDm &r) {
  return std::tie(r.inode, r.state);
}

// An open's answer with the DM state, so that a client caches the state from
// the start and a file without regions costs no call on its first write.
struct OpenedDm {
  Created opened;
  FileDmState state;
  auto fields() { return std::tie(opened, state); }
};

// A group open (FileSystem::open_for_group): one request opens the file for
// every rank in `holders` (live, each once, the caller among them), so an
// MPI file's collective open costs the metadata server one request, not
// one per rank.
struct OpenForRequest {
  OpenRequest open;
  std::vector<std::int32_t> holders;
  auto fields() { return std::tie(open, holders); }
};

// The operations behind the messages (the metadata owner runs them).
Result<InodeDm> set_regions(MetaStore &store, const SetRegionsRequest &request);
Result<InodeDm> release(MetaStore &store, const ReleaseRequest &request);
Result<InodeDm> rewritten(MetaStore &store, const RewrittenRequest &request);
// MetaService::open for each of `holders`, then the opened file's state (an
// open that cannot read the state is undone).
Result<OpenedDm> open_with_state(MetaService &service, const OpenRequest &request,
                                 std::span<const int> holders);

// Registers the handlers; like register_meta_handlers, they refuse with
// ESTALE on a rank that does not serve the metadata.
void register_dm_state_handlers(mpi::RpcEngine &engine, std::function<MetaService *()> service);

}  // namespace pdm::pfs

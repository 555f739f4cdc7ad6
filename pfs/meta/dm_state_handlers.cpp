#include <algorithm>
#include <span>

#include "pfs/meta/dm_state_protocol.h"
#include "pfs/meta/group_holders.h"
#include "pfs/meta/meta_protocol.h"
#include "runtime/mpi/typed_rpc.h"

namespace pdm::pfs {
namespace {

std::uint64_t end_of(std::uint64_t offset, std::uint64_t length) {
  return length > kToEnd - offset ? kToEnd : offset + length;
}

}  // namespace

Result<InodeDm> set_regions(MetaStore &store, const SetRegionsRequest &request) {
  if (request.regions.size() > kMaxManagedRegions) {
    return make_error(E2BIG, "{} managed regions; a file may have at most {}",
                      request.regions.size(), kMaxManagedRegions);
  }
  for (const ManagedRegion &r : request.regions) {
    if ((r.flags & ~region_flag::kAll) != 0) {
      return make_error(EINVAL, "managed region flags {:#x} hold unknown bits", r.flags);
    }
    if (r.offset > static_cast<std::uint64_t>(INT64_MAX) ||
        r.size > static_cast<std::uint64_t>(INT64_MAX) - r.offset) {
      return make_error(EINVAL, "managed region [{}, +{}) exceeds the largest file offset",
                        r.offset, r.size);
    }
  }
  return store.update_dm_state(request.ino, [&](FileDmState &state, Inode &) {
    state.regions = request.regions;
    return true;  // always a new version: clients re-check their cached regions
  });
}

Result<InodeDm> release(MetaStore &store, const ReleaseRequest &request) {
  return store.update_dm_state(request.ino, [&](FileDmState &state, Inode &inode) {
    const std::uint64_t end = request.length == 0
                                  ? inode.size
                                  : std::min(inode.size, end_of(request.offset, request.length));
    if (request.offset >= end) return false;
    add_released(state.released, request.offset, end - request.offset);
    return true;
  });
}

Result<InodeDm> rewritten(MetaStore &store, const RewrittenRequest &request) {
  return store.update_dm_state(request.ino, [&](FileDmState &state, Inode &inode) {
    // Invisible I/O may extend the file but leaves its times alone (XDSM).
    if (request.invisible)
      inode.size = std::max(inode.size, end_of(request.offset, request.length));
    return clear_released(state.released, request.offset, request.length);
  });
}

Result<OpenedDm> open_with_state(MetaService &service, const OpenRequest &request,
                                 std::span<const int> holders) {
  PDM_ASSIGN_OR_RETURN(auto opened, service.open(request, holders));
  auto state = service.store().dm_state(opened.inode.ino);
  if (!state.ok()) {
    for (const int holder : holders) (void)service.close(opened.inode.ino, false, holder);
    return std::move(state).error();
  }
  return OpenedDm{std::move(opened), std::move(state->state)};
}

void register_dm_state_handlers(mpi::RpcEngine &engine, std::function<MetaService *()> service) {
  using mpi::make_handler;
  auto on = [service](auto op) {
    return [service, op](const auto &req, const mpi::Request &) -> Result<InodeDm> {
      MetaService *meta = service();
      if (meta == nullptr) return make_error(ESTALE, "this rank does not serve metadata");
      return op(meta->store(), req);
    };
  };
  engine.register_handler(dm_state_msg::kGet,
                          make_handler<InodeRequest>(on([](MetaStore &s, const InodeRequest &r) {
                            return s.dm_state(r.ino);
                          })));
  engine.register_handler(
      dm_state_msg::kSetRegions,
      make_handler<SetRegionsRequest>(
          on([](MetaStore &s, const SetRegionsRequest &r) { return set_regions(s, r); })));
  engine.register_handler(
      dm_state_msg::kRelease,
      make_handler<ReleaseRequest>(
          on([](MetaStore &s, const ReleaseRequest &r) { return release(s, r); })));
  engine.register_handler(
      dm_state_msg::kOpen,
      make_handler<OpenRequest>(
          [service](const OpenRequest &r, const mpi::Request &request) -> Result<OpenedDm> {
            MetaService *meta = service();
            if (meta == nullptr) return make_error(ESTALE, "this rank does not serve metadata");
            return open_with_state(*meta, r, std::span<const int>(&request.source, 1));
          }));
  engine.register_handler(
      dm_state_msg::kOpenFor,
      make_handler<OpenForRequest>(
          [service, &engine](const OpenForRequest &r,
                             const mpi::Request &request) -> Result<OpenedDm> {
            MetaService *meta = service();
            if (meta == nullptr) return make_error(ESTALE, "this rank does not serve metadata");
            PDM_TRY(check_holders(r.holders, request.source, *engine.membership().current()));
            return open_with_state(*meta, r.open, r.holders);
          }));
  engine.register_handler(
      dm_state_msg::kRewritten,
      make_handler<RewrittenRequest>(
          on([](MetaStore &s, const RewrittenRequest &r) { return rewritten(s, r); })));
}

}  // namespace pdm::pfs

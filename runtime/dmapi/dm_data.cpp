// XDSM managed regions and data functions in the C API (XDSM ch. 5):
// dm_set_region, dm_get_region, dm_read_invis, dm_write_invis,
// dm_punch_hole, dm_probe_hole, dm_get_allocinfo, dm_sync_by_handle, over
// FileSystem's DM data operations (pfs/client/file_system_dm.cpp).
//
// Every function takes the handle of a regular file of the mounted file
// system (EBADF for bytes that are no handle or name no existing file,
// EINVAL for a file system or global handle) and a session that exists
// (EINVAL otherwise). Access rights: with a token, the token must hold the
// right named in each function's comment (DM_RIGHT_SHARED for reads,
// DM_RIGHT_EXCL for changes: EACCES otherwise); with DM_NO_TOKEN no right is
// taken for the call (dm_object.h, check_right).
#include <pdm/dmapi.h>

#include <climits>
#include <vector>

#include "runtime/dmapi/dm_object.h"
#include "runtime/dmapi/handle.h"
#include "runtime/node/c_boundary.h"
#include "runtime/node/process_node.h"

using pdm::Error;
using pdm::cboundary::fail;
using pdm::cboundary::guarded;
using pdm::cboundary::to_int;
namespace pfs = pdm::pfs;

namespace {

// The file a handle names, on the running node, for session sid.
struct Target {
  pdm::node::Node *node = nullptr;
  std::uint64_t ino = 0;
  std::uint64_t generation = 0;
  pdm::dmapi::CallRight right;  // DM_NO_TOKEN: held while the call runs
  pfs::FileSystem &fs() const { return node->fs(); }
};

// The file of a call by session sid with token, which must hold `needed`.
pdm::Result<Target> target(dm_sessid_t sid, const void *hanp, size_t hlen, dm_token_t token,
                           pdm::dm::Right needed) {
  auto *node = pdm::node::process_node();
  if (node == nullptr) return Error{EINVAL, "pdm is not started: call pdm_start first"};
  PDM_ASSIGN_OR_RETURN(auto handle, pdm::dmapi::Handle::decode(hanp, hlen));
  if (!handle.is_object()) {
    return Error{EINVAL, handle.to_string() + " does not name a file"};
  }
  PDM_ASSIGN_OR_RETURN(auto fsid, pdm::dmapi::parse_fs_id(node->fs().config().fs_id));
  if (handle.fsid != fsid) {
    return Error{EBADF, handle.to_string() + " is not of the mounted file system"};
  }
  const bool session_exists = node->control().read(
      [&](const pdm::dm::SessionTable &t) { return t.session(sid) != nullptr; });
  if (!session_exists) return Error{EINVAL, "session " + std::to_string(sid) + " does not exist"};
  PDM_ASSIGN_OR_RETURN(auto right, pdm::dmapi::check_right(*node, sid, token, handle.ino, needed));
  return Target{node, handle.ino, handle.generation, std::move(right)};
}

}  // namespace

extern "C" {

// Right: DM_RIGHT_EXCL.
int dm_set_region(dm_sessid_t sid, void *hanp, size_t hlen, dm_token_t token, unsigned int nelem,
                  dm_region_t *regbufp, dm_boolean_t *exactflagp) {
  return guarded(
      [&] {
        if (exactflagp == nullptr) return fail(Error{EFAULT, "dm_set_region: null exactflagp"});
        if (nelem > 0 && regbufp == nullptr) {
          return fail(Error{EFAULT, "dm_set_region: null region buffer"});
        }
        if (nelem > pfs::kMaxManagedRegions) {
          return fail(Error{E2BIG, "dm_set_region: more than DM_CONFIG_MAX_MANAGED_REGIONS"});
        }
        auto t = target(sid, hanp, hlen, token, pdm::dm::Right::kExcl);
        if (!t.ok()) return fail(t.error());
        std::vector<pfs::ManagedRegion> regions;
        for (unsigned int i = 0; i < nelem; ++i) {
          if (regbufp[i].rg_offset < 0) {
            return fail(Error{EINVAL, "dm_set_region: negative region offset"});
          }
          regions.push_back({static_cast<std::uint64_t>(regbufp[i].rg_offset), regbufp[i].rg_size,
                             regbufp[i].rg_flags});
        }
        if (auto set = t->fs().set_regions(t->ino, t->generation, std::move(regions)); !set.ok()) {
          return fail(set.error());
        }
        // pdm keeps regions exactly as given (no rounding to blocks).
        *exactflagp = DM_TRUE;
        return 0;
      },
      -1);
}

// Right: DM_RIGHT_SHARED.
int dm_get_region(dm_sessid_t sid, void *hanp, size_t hlen, dm_token_t token, unsigned int nelem,
                  dm_region_t *regbufp, unsigned int *nelemp) {
  return guarded(
      [&] {
        if (nelemp == nullptr) return fail(Error{EFAULT, "dm_get_region: null nelemp"});
        auto t = target(sid, hanp, hlen, token, pdm::dm::Right::kShared);
        if (!t.ok()) return fail(t.error());
        auto state = t->fs().dm_state(t->ino, t->generation);
        if (!state.ok()) return fail(state.error());
        const auto &regions = state->state.regions;
        *nelemp = static_cast<unsigned int>(regions.size());
        if (regions.size() > nelem) {
          return fail(Error{E2BIG, "dm_get_region: the file has more regions than nelem"});
        }
        if (!regions.empty() && regbufp == nullptr) {
          return fail(Error{EFAULT, "dm_get_region: null region buffer"});
        }
        for (std::size_t i = 0; i < regions.size(); ++i) {
          regbufp[i] = dm_region_t{};
          regbufp[i].rg_offset = static_cast<dm_off_t>(regions[i].offset);
          regbufp[i].rg_size = regions[i].size;
          regbufp[i].rg_flags = regions[i].flags;
        }
        return 0;
      },
      -1);
}

// Right: DM_RIGHT_SHARED.
dm_ssize_t dm_read_invis(dm_sessid_t sid, void *hanp, size_t hlen, dm_token_t token, dm_off_t off,
                         dm_size_t len, void *bufp) {
  return guarded(
      [&]() -> dm_ssize_t {
        if (off < 0) return fail(Error{EINVAL, "dm_read_invis: negative offset"});
        if (len > SSIZE_MAX) return fail(Error{EINVAL, "dm_read_invis: length over SSIZE_MAX"});
        if (bufp == nullptr && len > 0) return fail(Error{EFAULT, "dm_read_invis: null buffer"});
        auto t = target(sid, hanp, hlen, token, pdm::dm::Right::kShared);
        if (!t.ok()) return fail(t.error());
        auto n = t->fs().read_invisible(
            t->ino, t->generation, static_cast<std::uint64_t>(off),
            std::span<std::byte>(static_cast<std::byte *>(bufp), static_cast<std::size_t>(len)));
        if (!n.ok()) return fail(n.error());
        return static_cast<dm_ssize_t>(*n);
      },
      -1);
}

// Right: DM_RIGHT_EXCL.
dm_ssize_t dm_write_invis(dm_sessid_t sid, void *hanp, size_t hlen, dm_token_t token, int flags,
                          dm_off_t off, dm_size_t len, void *bufp) {
  return guarded(
      [&]() -> dm_ssize_t {
        if ((flags & ~DM_WRITE_SYNC) != 0) return fail(Error{EINVAL, "dm_write_invis: bad flags"});
        if (off < 0) return fail(Error{EINVAL, "dm_write_invis: negative offset"});
        if (len > SSIZE_MAX) return fail(Error{EINVAL, "dm_write_invis: length over SSIZE_MAX"});
        if (bufp == nullptr && len > 0) return fail(Error{EFAULT, "dm_write_invis: null buffer"});
        auto t = target(sid, hanp, hlen, token, pdm::dm::Right::kExcl);
        if (!t.ok()) return fail(t.error());
        auto n =
            t->fs().write_invisible(t->ino, t->generation, static_cast<std::uint64_t>(off),
                                    std::span<const std::byte>(static_cast<const std::byte *>(bufp),
                                                               static_cast<std::size_t>(len)),
                                    (flags & DM_WRITE_SYNC) != 0);
        if (!n.ok()) return fail(n.error());
        return static_cast<dm_ssize_t>(*n);
      },
      -1);
}

// Right: DM_RIGHT_EXCL.
int dm_punch_hole(dm_sessid_t sid, void *hanp, size_t hlen, dm_token_t token, dm_off_t off,
                  dm_size_t len) {
  return guarded(
      [&] {
        if (off < 0) return fail(Error{EINVAL, "dm_punch_hole: negative offset"});
        auto t = target(sid, hanp, hlen, token, pdm::dm::Right::kExcl);
        if (!t.ok()) return fail(t.error());
        return to_int(
            t->fs().punch_hole(t->ino, t->generation, static_cast<std::uint64_t>(off), len));
      },
      -1);
}

// Right: DM_RIGHT_SHARED.
int dm_probe_hole(dm_sessid_t sid, void *hanp, size_t hlen, dm_token_t token, dm_off_t off,
                  dm_size_t len, dm_off_t *roffp, dm_size_t *rlenp) {
  return guarded(
      [&] {
        if (roffp == nullptr || rlenp == nullptr) {
          return fail(Error{EFAULT, "dm_probe_hole: null roffp or rlenp"});
        }
        if (off < 0) return fail(Error{EINVAL, "dm_probe_hole: negative offset"});
        auto t = target(sid, hanp, hlen, token, pdm::dm::Right::kShared);
        if (!t.ok()) return fail(t.error());
        auto range =
            t->fs().probe_hole(t->ino, t->generation, static_cast<std::uint64_t>(off), len);
        if (!range.ok()) return fail(range.error());
        *roffp = static_cast<dm_off_t>(range->offset);
        *rlenp = range->length;
        return 0;
      },
      -1);
}

// Right: DM_RIGHT_SHARED. Returns 1 when more extents follow (*offp is then
// where the next call continues), 0 after the last one.
int dm_get_allocinfo(dm_sessid_t sid, void *hanp, size_t hlen, dm_token_t token, dm_off_t *offp,
                     unsigned int nelem, dm_extent_t *extentp, unsigned int *nelemp) {
  return guarded(
      [&] {
        if (offp == nullptr || nelemp == nullptr) {
          return fail(Error{EFAULT, "dm_get_allocinfo: null offp or nelemp"});
        }
        if (nelem == 0) return fail(Error{EINVAL, "dm_get_allocinfo: nelem is 0"});
        if (extentp == nullptr) return fail(Error{EFAULT, "dm_get_allocinfo: null extent buffer"});
        if (*offp < 0) return fail(Error{EINVAL, "dm_get_allocinfo: negative offset"});
        auto t = target(sid, hanp, hlen, token, pdm::dm::Right::kShared);
        if (!t.ok()) return fail(t.error());
        auto extents = t->fs().extents(t->ino, t->generation, static_cast<std::uint64_t>(*offp));
        if (!extents.ok()) return fail(extents.error());
        const std::size_t n = std::min<std::size_t>(nelem, extents->size());
        for (std::size_t i = 0; i < n; ++i) {
          const auto &e = (*extents)[i];
          extentp[i] = dm_extent_t{};
          extentp[i].ex_type = e.data ? DM_EXTENT_RES : DM_EXTENT_HOLE;
          extentp[i].ex_offset = static_cast<dm_off_t>(e.offset);
          extentp[i].ex_length = e.length;
        }
        *nelemp = static_cast<unsigned int>(n);
        if (n > 0)
          *offp = static_cast<dm_off_t>((*extents)[n - 1].offset + (*extents)[n - 1].length);
        return n < extents->size() ? 1 : 0;
      },
      -1);
}

// Right: DM_RIGHT_EXCL.
int dm_sync_by_handle(dm_sessid_t sid, void *hanp, size_t hlen, dm_token_t token) {
  return guarded(
      [&] {
        auto t = target(sid, hanp, hlen, token, pdm::dm::Right::kExcl);
        if (!t.ok()) return fail(t.error());
        return to_int(t->fs().sync_object(t->ino, t->generation));
      },
      -1);
}

}  // extern "C"

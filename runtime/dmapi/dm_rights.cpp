// XDSM access rights in the C API (dm_request_right, dm_release_right,
// dm_query_right, dm_upgrade_right, dm_downgrade_right) over the DM layer's
// RightsService (runtime/dm/rights_service.h): a right is held by a token
// that a session of the calling rank holds, on an object of the mounted file
// system, and is replicated to every rank, where it excludes conflicting
// rights and file operations.
#include <pdm/dmapi.h>

#include "runtime/dmapi/handle.h"
#include "runtime/node/c_boundary.h"
#include "runtime/node/process_node.h"

using pdm::Error;
using pdm::cboundary::fail;
using pdm::cboundary::guarded;
using pdm::cboundary::to_int;
namespace dm = pdm::dm;

namespace {

pdm::Result<pdm::node::Node *> running() {
  auto *node = pdm::node::process_node();
  if (node == nullptr) return Error{EINVAL, "pdm is not started: call pdm_start first"};
  return node;
}

// What every rights call checks first: pdm runs, the token is one the
// session holds here (EINVAL for DM_NO_TOKEN or an unknown session, ESRCH
// for a token it does not hold), and the handle names an object of the
// mounted file system (EBADF otherwise; EINVAL for a file system or the
// global handle, which pdm does not lock). Returns the object's inode.
pdm::Result<std::uint64_t> check(pdm::node::Node *&node, dm_sessid_t sid, const void *hanp,
                                 size_t hlen, dm_token_t token) {
  PDM_ASSIGN_OR_RETURN(node, running());
  if (token == DM_NO_TOKEN || token == DM_INVALID_TOKEN) {
    return Error{EINVAL, "access rights are held by the token of an event (not DM_NO_TOKEN)"};
  }
  PDM_ASSIGN_OR_RETURN(auto handle, pdm::dmapi::Handle::decode(hanp, hlen));
  if (!handle.is_object()) {
    return Error{EINVAL,
                 "access rights are held on files and directories, not " + handle.to_string()};
  }
  PDM_ASSIGN_OR_RETURN(auto fsid, pdm::dmapi::parse_fs_id(node->fs().config().fs_id));
  if (handle.fsid != fsid) return Error{EBADF, handle.to_string() + " is not mounted"};
  PDM_TRY(node->events().holds_token(sid, token));
  return handle.ino;
}

// A right granted while the token was being answered would outlive it
// (dm_respond_event releases what the token held when it ran): drop it.
pdm::Status still_held(pdm::node::Node &node, dm_sessid_t sid, dm_token_t token) {
  auto held = node.events().holds_token(sid, token);
  if (held.ok()) return {};
  PDM_TRY(node.rights().release_token(token));
  return held;
}

}  // namespace

extern "C" {

int dm_request_right(dm_sessid_t sid, void *hanp, size_t hlen, dm_token_t token, unsigned int flags,
                     dm_right_t right) {
  return guarded(
      [&] {
        if (flags & ~static_cast<unsigned int>(DM_RR_WAIT)) {
          return fail(Error{EINVAL, "dm_request_right: unknown flags"});
        }
        const long long wanted = pdm::cboundary::c_enum_value(right);
        if (wanted != DM_RIGHT_SHARED && wanted != DM_RIGHT_EXCL) {
          return fail(Error{EINVAL, "dm_request_right: request DM_RIGHT_SHARED or DM_RIGHT_EXCL"});
        }
        pdm::node::Node *node = nullptr;
        auto ino = check(node, sid, hanp, hlen, token);
        if (!ino.ok()) return fail(ino.error());
        return to_int([&]() -> pdm::Status {
          PDM_TRY(node->rights().request(sid, token, *ino, static_cast<dm::Right>(right),
                                         (flags & DM_RR_WAIT) != 0));
          return still_held(*node, sid, token);
        }());
      },
      -1);
}

int dm_release_right(dm_sessid_t sid, void *hanp, size_t hlen, dm_token_t token) {
  return guarded(
      [&] {
        pdm::node::Node *node = nullptr;
        auto ino = check(node, sid, hanp, hlen, token);
        if (!ino.ok()) return fail(ino.error());
        return to_int(node->rights().release(sid, token, *ino));
      },
      -1);
}

int dm_query_right(dm_sessid_t sid, void *hanp, size_t hlen, dm_token_t token, dm_right_t *rightp) {
  return guarded(
      [&] {
        if (rightp == nullptr) return fail(Error{EFAULT, "dm_query_right: null rightp"});
        pdm::node::Node *node = nullptr;
        auto ino = check(node, sid, hanp, hlen, token);
        if (!ino.ok()) return fail(ino.error());
        *rightp = static_cast<dm_right_t>(node->rights().query(token, *ino));
        return 0;
      },
      -1);
}

int dm_upgrade_right(dm_sessid_t sid, void *hanp, size_t hlen, dm_token_t token) {
  return guarded(
      [&] {
        pdm::node::Node *node = nullptr;
        auto ino = check(node, sid, hanp, hlen, token);
        if (!ino.ok()) return fail(ino.error());
        return to_int([&]() -> pdm::Status {
          PDM_TRY(node->rights().upgrade(sid, token, *ino));
          return still_held(*node, sid, token);
        }());
      },
      -1);
}

int dm_downgrade_right(dm_sessid_t sid, void *hanp, size_t hlen, dm_token_t token) {
  return guarded(
      [&] {
        pdm::node::Node *node = nullptr;
        auto ino = check(node, sid, hanp, hlen, token);
        if (!ino.ok()) return fail(ino.error());
        return to_int(node->rights().downgrade(sid, token, *ino));
      },
      -1);
}

}  // extern "C"

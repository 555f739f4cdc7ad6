// The object of the mounted file system a DMAPI handle names, for the calls
// that act on one file or directory (DM attributes, file attributes,
// directory listings, paths), and the metadata calls they make: one request
// to the rank that serves the metadata per C call.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "pfs/object_access.h"
#include "runtime/dmapi/handle.h"
#include "runtime/mpi/typed_rpc.h"
#include "runtime/node/node.h"

namespace pdm::dmapi {

// The short-term access right a DM call made with DM_NO_TOKEN holds while
// it runs (XDSM: "the implementation acquires the appropriate right for the
// duration of the call"): an operation counted in flight by the
// RightsService, like a file operation, so the call waits while another
// token's right excludes it and a right being granted waits for the call.
// Empty for a call with a token (the token's own right covers it).
using CallRight = std::shared_ptr<pfs::AccessGuard>;

struct Object {
  node::Node *node = nullptr;
  FsId fsid = 0;
  std::uint64_t ino = 0;
  std::uint64_t generation = 0;
  CallRight right;  // held for as long as the call keeps its Object
};

// EINVAL before pdm_start; EBADF for bytes that are not a handle, for the
// global handle and for a handle of another file system (XDSM: "not a valid
// handle"); EINVAL for a file system handle, which names no object.
Result<Object> object_of(const void *hanp, std::size_t hlen);

// EINVAL unless `sid` is a session (any rank's) in the replicated table.
// Tokens are not checked: access rights come with another part of issue #3.
Status check_session(node::Node &node, int sid);

// XDSM's access right for a DM call on an object through `token`: with
// DM_NO_TOKEN the call's short-term right (a read for `needed` SHARED, a
// modification for EXCL; see CallRight), taken now and waiting while
// another token's right excludes it — so a session whose own token holds a
// right on the object must pass that token, or its call waits for its own
// right; with a token, ESRCH/EINVAL unless a session of this rank holds it
// (EventService::holds_token), EACCES unless it holds at least `needed` on
// the object (reads need DM_RIGHT_SHARED, changes DM_RIGHT_EXCL).
Result<CallRight> check_right(node::Node &node, int sid, int token, std::uint64_t ino,
                              dm::Right needed);

// Metadata calls survive a metadata server's death (FileSystem::call_metadata).
template <typename Resp, typename Req>
Result<Resp> meta_call(const Object &object, mpi::MsgType type, const Req &request) {
  return object.node->fs().template meta_call<Resp>(type, request);
}

template <typename Req>
Status meta_status(const Object &object, mpi::MsgType type, const Req &request) {
  return object.node->fs().meta_status(type, request);
}

}  // namespace pdm::dmapi

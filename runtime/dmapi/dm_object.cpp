#include "runtime/dmapi/dm_object.h"

#include <pdm/dmapi.h>

#include "runtime/node/process_node.h"

namespace pdm::dmapi {
namespace {

const char *right_name(dm::Right right) {
  switch (right) {
    case dm::Right::kNull:
      return "no right";
    case dm::Right::kShared:
      return "DM_RIGHT_SHARED";
    case dm::Right::kExcl:
      return "DM_RIGHT_EXCL";
  }
  return "an unknown right";
}

}  // namespace

Result<Object> object_of(const void *hanp, std::size_t hlen) {
  auto *node = node::process_node();
  if (node == nullptr) return Error{EINVAL, "pdm is not started: call pdm_start first"};
  PDM_ASSIGN_OR_RETURN(auto handle, Handle::decode(hanp, hlen));
  PDM_ASSIGN_OR_RETURN(auto fsid, parse_fs_id(node->fs().config().fs_id));
  if (handle.is_global()) return Error{EBADF, "the global handle names no object"};
  if (handle.fsid != fsid) {
    return Error{EBADF, handle.to_string() + ": not a handle of the mounted file system"};
  }
  if (!handle.is_object()) {
    return Error{EINVAL, handle.to_string() +
                             ": a file system handle; a file or directory's "
                             "handle is needed"};
  }
  return Object{node, fsid, handle.ino, handle.generation};
}

Status check_session(node::Node &node, int sid) {
  const bool exists = node.control().read([&](const dm::SessionTable &t) {
    return t.session(static_cast<dm::SessionId>(sid)) != nullptr;
  });
  if (!exists) return make_error(EINVAL, "session {} does not exist", sid);
  return {};
}

Result<CallRight> check_right(node::Node &node, int sid, int token, std::uint64_t ino,
                              dm::Right needed) {
  if (token == DM_NO_TOKEN) {
    const auto kind =
        needed == dm::Right::kExcl ? pfs::AccessKind::kModify : pfs::AccessKind::kRead;
    PDM_ASSIGN_OR_RETURN(auto guard, node.rights().begin(ino, kind));
    return std::make_shared<pfs::AccessGuard>(std::move(guard));
  }
  PDM_TRY(node.events().holds_token(static_cast<dm::SessionId>(sid), token));
  const dm::Right held =
      node.control().read([&](const dm::SessionTable &t) { return t.rights().held(ino, token); });
  if (held < needed) {
    return make_error(EACCES, "token {} holds {} on inode {}; the call needs {}", token,
                      right_name(held), ino, right_name(needed));
  }
  return CallRight{};
}

}  // namespace pdm::dmapi

#include "runtime/dmapi/dm_object.h"

#include "runtime/node/process_node.h"

namespace pdm::dmapi {

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

}  // namespace pdm::dmapi

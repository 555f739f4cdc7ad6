#include "runtime/dm/api/handles.h"

#include "runtime/node/process_node.h"

namespace pdm::dm::api {

Result<Handle> mounted_fs_handle() {
  auto *node = node::process_node();
  if (node == nullptr) return Error{EINVAL, "pdm is not started: call pdm_start first"};
  PDM_ASSIGN_OR_RETURN(auto fsid, pdm::dmapi::parse_fs_id(node->fs().config().fs_id));
  return Handle::file_system(fsid);
}

Result<Handle> handle_of(const std::string &path) {
  PDM_ASSIGN_OR_RETURN(auto fs, mounted_fs_handle());
  PDM_ASSIGN_OR_RETURN(auto inode, node::process_node()->fs().stat(path));
  return Handle::object(fs.fsid, inode.ino, inode.generation);
}

}  // namespace pdm::dm::api

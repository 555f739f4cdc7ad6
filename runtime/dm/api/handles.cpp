#include "runtime/dm/api/handles.h"

#include <pdm/dmapi.h>

#include "runtime/dm/api/c_call.h"
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

Result<std::string> path_of(const Handle &dir, const Handle &target) {
  auto dir_bytes = dir.encode();
  auto target_bytes = target.encode();
  std::size_t length = 0;
  std::string path(256, '\0');
  for (;;) {
    const int rc = dm_handle_to_path(dir_bytes.data(), dir_bytes.size(), target_bytes.data(),
                                     target_bytes.size(), path.size(), path.data(), &length);
    if (rc == 0) break;
    if (errno != E2BIG || length <= path.size()) return detail::c_status(rc).error();
    path.resize(length);  // the length it needs, then again
  }
  path.resize(length - 1);  // without the NUL
  return path;
}

}  // namespace pdm::dm::api

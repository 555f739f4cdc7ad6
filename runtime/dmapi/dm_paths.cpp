// XDSM handles of paths (dm_path_to_handle, dm_path_to_fshandle): a path of
// the mounted pdm file system ("/dir/file") names an object by its inode
// number and generation, so the handle stays valid across renames and is
// never reused for another file.
#include <pdm/dmapi.h>

#include "runtime/dmapi/handle.h"
#include "runtime/node/c_boundary.h"
#include "runtime/node/process_node.h"

using pdm::Error;
using pdm::cboundary::fail;
using pdm::cboundary::guarded;
using pdm::cboundary::to_int;

namespace {

pdm::Result<pdm::dmapi::Handle> handle_of_path(const char *path) {
  if (path == nullptr) return Error{EFAULT, "null path"};
  auto *node = pdm::node::process_node();
  if (node == nullptr) return Error{EINVAL, "pdm is not started: call pdm_start first"};
  PDM_ASSIGN_OR_RETURN(auto fsid, pdm::dmapi::parse_fs_id(node->fs().config().fs_id));
  PDM_ASSIGN_OR_RETURN(auto inode, node->fs().stat(path));
  return pdm::dmapi::Handle::object(fsid, inode.ino, inode.generation);
}

}  // namespace

extern "C" {

int dm_path_to_handle(char *path, void **hanpp, size_t *hlenp) {
  return guarded(
      [&] {
        auto handle = handle_of_path(path);
        if (!handle.ok()) return fail(handle.error());
        return to_int(pdm::dmapi::export_handle(*handle, hanpp, hlenp));
      },
      -1);
}

int dm_path_to_fshandle(char *path, void **hanpp, size_t *hlenp) {
  return guarded(
      [&] {
        auto handle = handle_of_path(path);
        if (!handle.ok()) return fail(handle.error());
        return to_int(
            pdm::dmapi::export_handle(pdm::dmapi::Handle::file_system(handle->fsid), hanpp, hlenp));
      },
      -1);
}

}  // extern "C"

// XDSM handles of paths (dm_path_to_handle, dm_path_to_fshandle): a path of
// the mounted pdm file system ("/dir/file") names an object by its inode
// number and generation, so the handle stays valid across renames and is
// never reused for another file. dm_handle_to_path goes back: the metadata
// rank finds the target's entry in the directory and walks the directories'
// parent records up to the root, so the path is the current one.
#include <pdm/dmapi.h>

#include <cstring>

#include "pfs/meta/dm_attr_protocol.h"
#include "runtime/dmapi/dm_object.h"
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

// The path of targhanp, an entry of the directory dirhanp (or the directory
// itself), from the root of the mounted file system: "/dir/file", the form
// every pdm call takes. E2BIG with the length needed (NUL included).
int dm_handle_to_path(void *dirhanp, size_t dirhlen, void *targhanp, size_t targhlen, size_t buflen,
                      char *pathbufp, size_t *rlenp) {
  return guarded(
      [&] {
        if (rlenp == nullptr || (pathbufp == nullptr && buflen > 0)) {
          return fail(Error{EFAULT, "dm_handle_to_path: null pointer"});
        }
        auto dir = pdm::dmapi::object_of(dirhanp, dirhlen);
        if (!dir.ok()) return fail(dir.error());
        auto target = pdm::dmapi::object_of(targhanp, targhlen);
        if (!target.ok()) return fail(target.error());
        auto path = pdm::dmapi::meta_call<std::string>(
            *dir, pdm::pfs::dm_attr_msg::kPathOf,
            pdm::pfs::PathOfRequest{dir->ino, dir->generation, target->ino, target->generation});
        if (!path.ok()) {
          if (path.error().code == ENOTDIR) {
            return fail(Error{EINVAL, "dm_handle_to_path: dirhanp is not a directory's handle"});
          }
          return fail(path.error());
        }
        *rlenp = path->size() + 1;
        if (*rlenp > buflen) {
          return fail(Error{
              E2BIG, "dm_handle_to_path: the path takes " + std::to_string(*rlenp) + " bytes"});
        }
        std::memcpy(pathbufp, path->c_str(), *rlenp);
        return 0;
      },
      -1);
}

}  // extern "C"

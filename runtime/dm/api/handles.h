// Handles for the C++ DM API: the pdm::dmapi::Handle of a path, of the
// mounted file system, and the bytes the C layer takes for one.
#pragma once

#include <string>

#include "runtime/base/result.h"
#include "runtime/dmapi/handle.h"

namespace pdm::dm::api {

using Handle = pdm::dmapi::Handle;

// EINVAL before pdm_start.
Result<Handle> mounted_fs_handle();
// The object a path of the mounted file system names (ENOENT etc. from stat).
Result<Handle> handle_of(const std::string &path);
// The path of `target`, an entry of the directory `dir` (or dir itself),
// from the root of the file system: "/dir/file" (dm_handle_to_path).
// ENOENT when dir has no entry for it.
Result<std::string> path_of(const Handle &dir, const Handle &target);

}  // namespace pdm::dm::api

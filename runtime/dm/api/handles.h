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

}  // namespace pdm::dm::api

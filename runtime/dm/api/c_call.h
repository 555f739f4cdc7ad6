// How the C++ DM API reuses a C entry point of <pdm/dmapi.h> whose checks and
// steps (dispositions that deliver MOUNT, per-file lists made persistent,
// rights that must not outlive their token) should exist once: it calls the
// C function and turns its -1 + errno back into an Error carrying the
// message pdm_last_error() holds. Internal to runtime/dm/api.
#pragma once

#include <cerrno>

#include "runtime/base/result.h"
#include "runtime/node/c_boundary.h"

namespace pdm::dm::api::detail {

// rc is the C function's result: 0 (or any value >= 0) is success.
inline Status c_status(int rc) {
  if (rc >= 0) return {};
  return Error{errno, cboundary::last_error()};
}

}  // namespace pdm::dm::api::detail

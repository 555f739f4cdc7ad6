// The answer a session gives to a synchronous event (dm_respond_event):
// Continue lets the operation go on, Abort{errno} fails it with that errno
// on the source rank (CLAIMS.md B6).
#pragma once

#include <variant>

namespace pdm::dm::api {

struct Continue {};
struct Abort {
  int error = 0;  // a positive errno; anything else is EINVAL at respond()
};
using Reply = std::variant<Continue, Abort>;

}  // namespace pdm::dm::api

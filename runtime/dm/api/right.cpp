#include "runtime/dm/api/right.h"

#include <pdm/dmapi.h>
#include <spdlog/spdlog.h>

#include <utility>

#include "runtime/dm/api/c_call.h"

namespace pdm::dm::api {

Right::Right(Right &&other) noexcept
    : session_(other.session_),
      token_(other.token_),
      object_(other.object_),
      level_(std::exchange(other.level_, dm::Right::kNull)) {}

Right &Right::operator=(Right &&other) noexcept {
  if (this != &other) {
    if (held()) (void)release();
    session_ = other.session_;
    token_ = other.token_;
    object_ = other.object_;
    level_ = std::exchange(other.level_, dm::Right::kNull);
  }
  return *this;
}

Right::~Right() {
  if (!held()) return;
  if (auto done = release(); !done.ok()) {
    spdlog::error("DM right of token {} on {} could not be released: {} (errno {})", token_,
                  object_.to_string(), done.error().message, done.error().code);
  }
}

Status Right::upgrade() {
  if (!held()) return Error{EINVAL, "upgrade: the right was released"};
  auto bytes = object_.encode();
  PDM_TRY(detail::c_status(dm_upgrade_right(session_, bytes.data(), bytes.size(), token_)));
  level_ = dm::Right::kExcl;
  return {};
}

Status Right::downgrade() {
  if (!held()) return Error{EINVAL, "downgrade: the right was released"};
  auto bytes = object_.encode();
  PDM_TRY(detail::c_status(dm_downgrade_right(session_, bytes.data(), bytes.size(), token_)));
  level_ = dm::Right::kShared;
  return {};
}

Status Right::release() {
  if (!held()) return {};
  auto bytes = object_.encode();
  Status done = detail::c_status(dm_release_right(session_, bytes.data(), bytes.size(), token_));
  level_ = dm::Right::kNull;
  // ESRCH: the session no longer holds the token: it was answered, and the
  // right went with it (XDSM), which is what release() wants.
  if (!done.ok() && done.error().code == ESRCH) return {};
  return done;
}

}  // namespace pdm::dm::api

// Right: an access right (dm_request_right) that a token of a session holds
// on one object, released when the guard goes (errors logged) or by
// release(). A right also ends when its token is answered (XDSM); releasing
// a guard whose token is gone is then no error. Move-only.
#pragma once

#include "runtime/base/result.h"
#include "runtime/dm/event_service.h"
#include "runtime/dm/rights_table.h"
#include "runtime/dmapi/handle.h"

namespace pdm::dm::api {

class Session;

class Right {
 public:
  Right(Right &&other) noexcept;
  Right &operator=(Right &&other) noexcept;
  Right(const Right &) = delete;
  Right &operator=(const Right &) = delete;
  ~Right();

  // DM_RIGHT_SHARED -> DM_RIGHT_EXCL (keeps SHARED until EXCL is granted);
  // EXCL -> SHARED.
  Status upgrade();
  Status downgrade();
  Status release();

  dm::Right level() const { return level_; }
  bool held() const { return level_ != dm::Right::kNull; }
  Token token() const { return token_; }
  const pdm::dmapi::Handle &object() const { return object_; }

 private:
  friend class Session;
  Right(SessionId session, Token token, pdm::dmapi::Handle object, dm::Right level)
      : session_(session), token_(token), object_(object), level_(level) {}

  SessionId session_ = 0;
  Token token_ = 0;
  pdm::dmapi::Handle object_;
  dm::Right level_ = dm::Right::kNull;
};

}  // namespace pdm::dm::api

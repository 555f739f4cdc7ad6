// RightsTable: the DMAPI access rights held cluster-wide (XDSM ch. 5,
// dm_request_right and friends), part of the replicated session table so
// that every rank knows locally which objects are locked (issue #3).
//
// A right is held by a token (of a session) on an object (an inode of the
// mounted file system): DM_RIGHT_NULL < SHARED < EXCL. Conflicts between
// tokens: EXCL conflicts with any right of another token on the object,
// SHARED with another token's EXCL. The session manager validates a change
// against its replica (EAGAIN on a conflict) and every rank applies the same
// changes in the same order, like every other update of the table.
#pragma once

#include <cstdint>
#include <map>
#include <tuple>
#include <vector>

#include "pfs/object_access.h"
#include "runtime/base/result.h"

namespace pdm::dm {

using Token = std::int32_t;      // dm_token_t
using SessionId = std::int32_t;  // dm_sessid_t

// The values of dm_right_t.
enum class Right : std::uint8_t { kNull = 0, kShared = 1, kExcl = 2 };

// One change a token asks for on one object. The operation decides the
// errno of a refusal from the replicated state, on the manager.
struct RightChange {
  enum class Op : std::uint8_t {
    kRequest = 0,  // take `right` (no change if at least that is held); EAGAIN on a conflict
    kRelease,      // drop the token's right; EACCES if it holds none
    kUpgrade,      // SHARED -> EXCL (EXCL: no change); EPERM without a right; EAGAIN
    kDowngrade,    // EXCL -> SHARED (SHARED: no change); EPERM without a right
  };
  Op op = Op::kRequest;
  Token token = 0;
  SessionId session = 0;
  std::uint64_t ino = 0;
  Right right = Right::kNull;
  auto fields() { return std::tie(op, token, session, ino, right); }
  bool operator==(const RightChange &) const = default;
};

// One right as held (and as a snapshot carries it).
struct HeldRight {
  std::uint64_t ino = 0;
  Token token = 0;
  SessionId session = 0;
  Right right = Right::kNull;
  auto fields() { return std::tie(ino, token, session, right); }
  bool operator==(const HeldRight &) const = default;
};

class RightsTable {
 public:
  Status validate(const RightChange &change) const;
  // Applies a validated change.
  void apply(const RightChange &change);
  // XDSM: responding to an event releases every right of its token.
  void drop_token(Token token);
  // dm_move_event: the token's rights now belong to `session`.
  void move_token(Token token, SessionId session);
  // A standby took a session over: every right of its tokens is the standby's.
  void move_session(SessionId from, SessionId to);
  // A destroyed session's tokens are gone, and their rights with them.
  void drop_session(SessionId session);

  Right held(std::uint64_t ino, Token token) const;
  // True if a token other than `except` holds a right that conflicts with `wanted`.
  bool conflicts(std::uint64_t ino, Right wanted, Token except) const;
  // True if a right held on ino excludes a file operation of this kind.
  bool excludes(std::uint64_t ino, pfs::AccessKind kind) const;
  bool token_holds_any(Token token) const;
  bool empty() const { return objects_.empty(); }

  std::vector<HeldRight> all() const;
  static Result<RightsTable> from(const std::vector<HeldRight> &rights);

  bool operator==(const RightsTable &) const = default;

 private:
  struct Holder {
    SessionId session = 0;
    Right right = Right::kNull;
    bool operator==(const Holder &) const = default;
  };
  void set(std::uint64_t ino, Token token, SessionId session, Right right);

  std::map<std::uint64_t, std::map<Token, Holder>> objects_;
};

}  // namespace pdm::dm

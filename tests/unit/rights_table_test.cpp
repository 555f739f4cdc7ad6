// Access rights in the replicated session table (issue #3, XDSM ch. 5
// dm_request_right etc.): which rights conflict, the errno of each refusal,
// which file operations a right excludes, and that answering a token or
// destroying a session drops its rights on every replica alike.
#include "runtime/dm/rights_table.h"

#include <gtest/gtest.h>

#include "runtime/dm/session_table.h"

namespace pdm::dm {
namespace {

using Op = RightChange::Op;
using pfs::AccessKind;

constexpr std::uint64_t kIno = 42;
constexpr Token kA = (1 << 20) | 1;
constexpr Token kB = (2 << 20) | 1;

Status change(RightsTable &t, Op op, Token token, Right right = Right::kNull,
              std::uint64_t ino = kIno) {
  RightChange c{op, token, 1, ino, right};
  PDM_TRY(t.validate(c));
  t.apply(c);
  return {};
}

int code(const Status &s) {
  return s.ok() ? 0 : s.error().code;
}

TEST(RightsTable, ExclConflictsWithEveryOtherRightSharedOnlyWithExcl) {
  RightsTable t;
  ASSERT_EQ(code(change(t, Op::kRequest, kA, Right::kExcl)), 0);
  EXPECT_EQ(t.held(kIno, kA), Right::kExcl);
  EXPECT_EQ(code(change(t, Op::kRequest, kB, Right::kShared)), EAGAIN);
  EXPECT_EQ(code(change(t, Op::kRequest, kB, Right::kExcl)), EAGAIN);
  // Another object is not locked.
  EXPECT_EQ(code(change(t, Op::kRequest, kB, Right::kExcl, kIno + 1)), 0);
  ASSERT_EQ(code(change(t, Op::kDowngrade, kA)), 0);
  EXPECT_EQ(t.held(kIno, kA), Right::kShared);
  EXPECT_EQ(code(change(t, Op::kRequest, kB, Right::kShared)), 0);  // SHARED + SHARED
  EXPECT_EQ(code(change(t, Op::kUpgrade, kA)), EAGAIN);             // kB holds SHARED
  ASSERT_EQ(code(change(t, Op::kRelease, kB)), 0);
  EXPECT_EQ(code(change(t, Op::kUpgrade, kA)), 0);
  EXPECT_EQ(t.held(kIno, kA), Right::kExcl);
  // A token's own right never conflicts with what it asks for.
  EXPECT_EQ(code(change(t, Op::kRequest, kA, Right::kShared)), 0);
  EXPECT_EQ(t.held(kIno, kA), Right::kExcl);  // a weaker request changes nothing
}

TEST(RightsTable, RefusalsHaveTheXdsmErrno) {
  RightsTable t;
  EXPECT_EQ(code(change(t, Op::kRequest, kA, Right::kNull)), EINVAL);
  EXPECT_EQ(code(change(t, Op::kRequest, kA, static_cast<Right>(7))), EINVAL);
  EXPECT_EQ(code(change(t, Op::kRequest, 0, Right::kShared)), EINVAL);
  EXPECT_EQ(code(change(t, Op::kRequest, kA, Right::kShared, 0)), EINVAL);
  EXPECT_EQ(code(change(t, Op::kRelease, kA)), EACCES);   // holds nothing
  EXPECT_EQ(code(change(t, Op::kUpgrade, kA)), EPERM);    // upgrade from NULL
  EXPECT_EQ(code(change(t, Op::kDowngrade, kA)), EPERM);  // downgrade from NULL
  EXPECT_EQ(code(change(t, static_cast<Op>(9), kA)), EINVAL);
}

TEST(RightsTable, ExclExcludesEveryOperationSharedOnlyModifications) {
  RightsTable t;
  EXPECT_FALSE(t.excludes(kIno, AccessKind::kRead));
  EXPECT_FALSE(t.excludes(kIno, AccessKind::kModify));
  ASSERT_EQ(code(change(t, Op::kRequest, kA, Right::kShared)), 0);
  EXPECT_FALSE(t.excludes(kIno, AccessKind::kRead));
  EXPECT_TRUE(t.excludes(kIno, AccessKind::kModify));
  ASSERT_EQ(code(change(t, Op::kUpgrade, kA)), 0);
  EXPECT_TRUE(t.excludes(kIno, AccessKind::kRead));
  EXPECT_TRUE(t.excludes(kIno, AccessKind::kModify));
  EXPECT_FALSE(t.excludes(kIno + 1, AccessKind::kModify));
  ASSERT_EQ(code(change(t, Op::kRelease, kA)), 0);
  EXPECT_TRUE(t.empty());
}

TEST(RightsTable, DropTokenAndDropSession) {
  RightsTable t;
  ASSERT_EQ(code(change(t, Op::kRequest, kA, Right::kShared)), 0);
  ASSERT_EQ(code(change(t, Op::kRequest, kA, Right::kExcl, kIno + 1)), 0);
  RightChange other{Op::kRequest, kB, 2, kIno, Right::kShared};
  ASSERT_TRUE(t.validate(other).ok());
  t.apply(other);
  EXPECT_TRUE(t.token_holds_any(kA));
  t.drop_token(kA);
  EXPECT_FALSE(t.token_holds_any(kA));
  EXPECT_EQ(t.held(kIno, kB), Right::kShared);
  t.drop_session(2);
  EXPECT_TRUE(t.empty());
}

// Through the session table: the manager's checks (the session exists),
// destroying a session drops its tokens' rights, a snapshot carries them.
TEST(RightsTable, InTheSessionTable) {
  SessionTable table;
  auto next = [&](Update::Kind kind) {
    Update u;
    u.version = table.version() + 1;
    u.kind = kind;
    return u;
  };
  Update create = next(Update::Kind::kCreateSession);
  create.session = Session{1, 0, "app", ""};
  ASSERT_TRUE(table.apply(create).ok());
  Update grant = next(Update::Kind::kChangeRight);
  grant.right = RightChange{Op::kRequest, kA, 1, kIno, Right::kExcl};
  ASSERT_TRUE(table.apply(grant).ok());
  Update stranger = next(Update::Kind::kChangeRight);
  stranger.right = RightChange{Op::kRequest, kB, 9, kIno + 1, Right::kExcl};
  EXPECT_EQ(code(table.apply(stranger)), ESRCH);  // no session 9
  Update conflict = next(Update::Kind::kChangeRight);
  conflict.right = RightChange{Op::kRequest, kB, 1, kIno, Right::kShared};
  EXPECT_EQ(code(table.apply(conflict)), EAGAIN);

  auto copy = SessionTable::from_snapshot(table.snapshot());
  ASSERT_TRUE(copy.ok());
  EXPECT_TRUE(*copy == table);
  EXPECT_EQ(copy->rights().held(kIno, kA), Right::kExcl);

  Update destroy = next(Update::Kind::kDestroySession);
  destroy.session.id = 1;
  ASSERT_TRUE(table.apply(destroy).ok());
  EXPECT_TRUE(table.rights().empty());
}

TEST(RightsTable, ReleaseTokenUpdate) {
  SessionTable table;
  Update create;
  create.version = 1;
  create.kind = Update::Kind::kCreateSession;
  create.session = Session{1, 0, "app", ""};
  ASSERT_TRUE(table.apply(create).ok());
  Update grant;
  grant.version = 2;
  grant.kind = Update::Kind::kChangeRight;
  grant.right = RightChange{Op::kRequest, kA, 1, kIno, Right::kShared};
  ASSERT_TRUE(table.apply(grant).ok());
  Update release;
  release.version = 3;
  release.kind = Update::Kind::kReleaseToken;
  release.right.token = kA;
  ASSERT_TRUE(table.apply(release).ok());
  EXPECT_TRUE(table.rights().empty());
}

}  // namespace
}  // namespace pdm::dm

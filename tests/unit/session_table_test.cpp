// The replicated session table as a state machine: ids, versions,
// dispositions partitioned among sessions, session groups, takeover, and
// that replicas fed the same updates agree.
#include "runtime/dm/session_table.h"

#include <gtest/gtest.h>

#include "runtime/mpi/fields.h"

namespace pdm::dm {
namespace {

constexpr int kRead = 16;
constexpr int kWrite = 17;
constexpr int kTruncate = 18;
constexpr int kMount = 1;
constexpr int kLink = 12;
constexpr FsId kFs = 0xabc;

class SessionTableTest : public ::testing::Test {
 protected:
  Update next(Update::Kind kind) {
    Update u;
    u.version = table.version() + 1;
    u.kind = kind;
    return u;
  }
  SessionId create(int node, std::string info = "app", std::string group = "") {
    Update u = next(Update::Kind::kCreateSession);
    u.session = Session{table.last_session_id() + 1, node, std::move(info), std::move(group)};
    EXPECT_TRUE(table.apply(u).ok());
    return u.session.id;
  }
  Status dispose(SessionId sid, EventSet events, FsId fs = kFs, std::string group = "") {
    Update u = next(Update::Kind::kSetDisposition);
    u.session.id = sid;
    u.group = std::move(group);
    u.fs = fs;
    u.events = events;
    return table.apply(u);
  }
  SessionTable table;
};

// B17: ids come from the manager's counter: unique and never reused, even
// after the session with the highest id is destroyed.
TEST_F(SessionTableTest, SessionIdsAreSequentialAndNeverReusedB17) {
  const SessionId a = create(0);
  const SessionId b = create(1);
  EXPECT_EQ(a, 1);
  EXPECT_EQ(b, 2);
  Update destroy = next(Update::Kind::kDestroySession);
  destroy.session.id = b;
  ASSERT_TRUE(table.apply(destroy).ok());
  EXPECT_EQ(create(2), 3);
  Update reuse = next(Update::Kind::kCreateSession);
  reuse.session = Session{2, 0, "x", ""};
  EXPECT_EQ(table.apply(reuse).error().code, EINVAL);
}

TEST_F(SessionTableTest, UpdatesApplyOnlyInVersionOrder) {
  create(0);
  Update skip;
  skip.version = table.version() + 2;
  skip.kind = Update::Kind::kSetEventList;
  EXPECT_EQ(table.apply(skip).error().code, EPROTO);
  Update again;
  again.version = table.version();
  again.kind = Update::Kind::kSetEventList;
  EXPECT_EQ(table.apply(again).error().code, EPROTO);
}

TEST_F(SessionTableTest, SessionInfoLongerThanDmSessionInfoLenIsE2big) {
  Update u = next(Update::Kind::kCreateSession);
  u.session = Session{1, 0, std::string(kMaxSessionInfo + 1, 'i'), ""};
  EXPECT_EQ(table.apply(u).error().code, E2BIG);
  EXPECT_EQ(table.version(), 0u);
}

// B9: one holder per event type and file system; a conflicting request is
// refused and leaves the table unchanged.
TEST_F(SessionTableTest, ConflictingDispositionIsRejectedB9) {
  const SessionId a = create(0);
  const SessionId b = create(1);
  ASSERT_TRUE(dispose(a, event_bit(kRead) | event_bit(kWrite)).ok());
  const auto before = table.version();
  auto clash = dispose(b, event_bit(kWrite) | event_bit(kTruncate));
  ASSERT_FALSE(clash.ok());
  EXPECT_EQ(clash.error().code, EBUSY);
  EXPECT_EQ(table.version(), before);
  EXPECT_EQ(table.disposition(kFs, kWrite).session, a);
  EXPECT_TRUE(table.disposition(kFs, kTruncate).empty());
  // Disjoint sets of two applications coexist (B13).
  EXPECT_TRUE(dispose(b, event_bit(kTruncate)).ok());
  EXPECT_EQ(table.disposed_to(kFs, a), event_bit(kRead) | event_bit(kWrite));
  EXPECT_EQ(table.disposed_to(kFs, b), event_bit(kTruncate));
}

TEST_F(SessionTableTest, SetDispositionReplacesTheSessionsWholeSet) {
  const SessionId a = create(0);
  ASSERT_TRUE(dispose(a, event_bit(kRead) | event_bit(kWrite)).ok());
  ASSERT_TRUE(dispose(a, event_bit(kTruncate)).ok());
  EXPECT_EQ(table.disposed_to(kFs, a), event_bit(kTruncate));
}

TEST_F(SessionTableTest, OrphanedHoldersDispositionCanBeTakenOver) {
  const SessionId a = create(0);
  const SessionId b = create(1);
  ASSERT_TRUE(dispose(a, event_bit(kRead)).ok());
  Update orphan = next(Update::Kind::kOrphanNode);
  orphan.node = 0;
  ASSERT_TRUE(table.apply(orphan).ok());
  EXPECT_EQ(table.session(a)->state, SessionState::kOrphaned);
  EXPECT_TRUE(dispose(b, event_bit(kRead)).ok());
  EXPECT_EQ(table.disposition(kFs, kRead).session, b);
}

TEST_F(SessionTableTest, InvalidDispositionsAreRefused) {
  const SessionId a = create(0);
  EXPECT_EQ(dispose(a, event_bit(kLink)).error().code, EINVAL) << "LINK does not exist in pdm";
  EXPECT_EQ(dispose(a, event_bit(kRead), kGlobalFs).error().code, EINVAL)
      << "only MOUNT on the global handle";
  EXPECT_TRUE(dispose(a, event_bit(kMount), kGlobalFs).ok());
  EXPECT_EQ(dispose(99, event_bit(kRead)).error().code, ESRCH);
  EXPECT_EQ(dispose(0, event_bit(kRead)).error().code, EINVAL) << "neither session nor group";
}

// B15: destroying a session removes it and every disposition it held.
TEST_F(SessionTableTest, DestroyRemovesTheSessionAndItsDispositionsB15) {
  const SessionId a = create(0);
  ASSERT_TRUE(dispose(a, event_bit(kRead)).ok());
  Update destroy = next(Update::Kind::kDestroySession);
  destroy.session.id = a;
  ASSERT_TRUE(table.apply(destroy).ok());
  EXPECT_EQ(table.session(a), nullptr);
  EXPECT_TRUE(table.disposition(kFs, kRead).empty());
  Update again = next(Update::Kind::kDestroySession);
  again.session.id = a;
  EXPECT_EQ(table.apply(again).error().code, ESRCH);
}

// B14: modifying a session changes its info and group.
TEST_F(SessionTableTest, ModifyChangesInfoAndGroupB14) {
  const SessionId a = create(3, "old");
  Update modify = next(Update::Kind::kModifySession);
  modify.session = Session{a, 3, "new", "hsm"};
  ASSERT_TRUE(table.apply(modify).ok());
  EXPECT_EQ(table.session(a)->info, "new");
  ASSERT_EQ(table.members("hsm").size(), 1u);
}

// B12, DESIGN.md §5: the last member's leave takes the events it names out
// of the file system's list in the same change (pdm_dm_leave_session_group,
// pdm-hsm's REMOVE), so no version has them enabled with no one to take them;
// an earlier member's leave, or a session in no group, changes no list.
TEST_F(SessionTableTest, TheLastMembersLeaveDisablesItsEventsInTheSameVersionB12) {
  constexpr int kCreate = 5;  // DM_EVENT_CREATE
  constexpr int kRemove = 8;  // DM_EVENT_REMOVE
  const SessionId a = create(0, "hsm-0", "hsm");
  const SessionId b = create(1, "hsm-1", "hsm");
  const SessionId loner = create(2, "other");
  Update list = next(Update::Kind::kSetEventList);
  list.fs = kFs;
  list.events = event_bit(kCreate) | event_bit(kRemove);
  ASSERT_TRUE(table.apply(list).ok());
  auto leave = [&](SessionId id, int node) {
    Update u = next(Update::Kind::kModifySession);
    u.session = Session{id, node, "left", ""};
    u.fs = kFs;
    u.events = event_bit(kRemove);
    return table.apply(u);
  };
  ASSERT_TRUE(leave(loner, 2).ok());
  ASSERT_TRUE(leave(a, 0).ok());
  EXPECT_EQ(table.eventlist(kFs), event_bit(kCreate) | event_bit(kRemove)) << "b is still in";
  const std::uint64_t before = table.version();
  ASSERT_TRUE(leave(b, 1).ok());
  EXPECT_EQ(table.version(), before + 1);
  EXPECT_TRUE(table.members("hsm").empty());
  EXPECT_EQ(table.eventlist(kFs), event_bit(kCreate));
}

// B12: a distributed application's sessions on several nodes form a group
// that holds dispositions as one; the group's dispositions go with its last member.
TEST_F(SessionTableTest, GroupHoldsDispositionsUntilItsLastMemberGoesB12) {
  const SessionId a = create(0, "hsm-0", "hsm");
  const SessionId b = create(1, "hsm-1", "hsm");
  ASSERT_TRUE(dispose(0, event_bit(kRead), kFs, "hsm").ok());
  EXPECT_EQ(table.disposition(kFs, kRead).group, "hsm");
  EXPECT_EQ(table.members("hsm").size(), 2u);
  const SessionId other = create(2);
  EXPECT_EQ(dispose(other, event_bit(kRead)).error().code, EBUSY);
  for (SessionId id : {a, b}) {
    Update destroy = next(Update::Kind::kDestroySession);
    destroy.session.id = id;
    ASSERT_TRUE(table.apply(destroy).ok());
  }
  EXPECT_TRUE(table.disposition(kFs, kRead).empty());
  EXPECT_EQ(dispose(0, event_bit(kRead), kFs, "hsm").error().code, ESRCH);
}

TEST_F(SessionTableTest, AssumeTakesOverAnOrphanButNotAnotherNodesActiveSession) {
  const SessionId a = create(1, "first");
  Update assume = next(Update::Kind::kAssumeSession);
  assume.session = Session{a, 2, "second", ""};
  EXPECT_EQ(table.apply(assume).error().code, EBUSY);
  Update orphan = next(Update::Kind::kOrphanNode);
  orphan.node = 1;
  ASSERT_TRUE(table.apply(orphan).ok());
  assume.version = table.version() + 1;
  ASSERT_TRUE(table.apply(assume).ok());
  EXPECT_EQ(table.session(a)->node, 2);
  EXPECT_EQ(table.session(a)->state, SessionState::kActive);
  EXPECT_EQ(table.session(a)->info, "second");
}

// B3/B5: replicas fed the same updates (through the wire format) agree, and
// a snapshot rebuilds an equal table.
TEST_F(SessionTableTest, ReplicasFedTheSameUpdatesAgreeB3) {
  SessionTable replica;
  std::vector<Update> log;
  auto record = [&](const Update &u) {
    ASSERT_TRUE(table.apply(u).ok());
    auto decoded = mpi::decode_payload<Update>(
        std::span<const std::byte>(mpi::encode_message(u).bytes()).subspan(mpi::Header::kSize));
    ASSERT_TRUE(decoded.ok()) << decoded.error().message;
    log.push_back(*decoded);
  };
  Update c = next(Update::Kind::kCreateSession);
  c.session = Session{1, 2, "hsm", "g"};
  record(c);
  Update d = next(Update::Kind::kSetDisposition);
  d.group = "g";
  d.fs = kFs;
  d.events = event_bit(kRead) | event_bit(kWrite);
  record(d);
  Update e = next(Update::Kind::kSetEventList);
  e.fs = kFs;
  e.events = event_bit(kRead);
  record(e);
  Update o = next(Update::Kind::kSetObjectEventList);
  o.fs = kFs;
  o.ino = 7;
  o.generation = 3;
  o.events = event_bit(kWrite);
  record(o);
  for (const auto &u : log) ASSERT_TRUE(replica.apply(u).ok());
  EXPECT_EQ(replica, table);
  auto rebuilt = SessionTable::from_snapshot(table.snapshot());
  ASSERT_TRUE(rebuilt.ok());
  EXPECT_EQ(*rebuilt, table);
}

// Per-file event lists: kept per (fs, inode) with the generation, so a list
// never applies to another incarnation; the union tells an operation whether
// any object may want an event type; dropping needs the same generation.
TEST_F(SessionTableTest, ObjectEventListsAreKeptPerInodeGeneration) {
  Update set = next(Update::Kind::kSetObjectEventList);
  set.fs = kFs;
  set.ino = 42;
  set.generation = 5;
  set.events = 0;  // an empty list still overrides the file system's
  ASSERT_TRUE(table.apply(set).ok());
  ASSERT_TRUE(table.object_eventlist(kFs, 42, 5).has_value());
  EXPECT_EQ(*table.object_eventlist(kFs, 42, 5), 0u);
  EXPECT_FALSE(table.object_eventlist(kFs, 42, 6).has_value());
  EXPECT_FALSE(table.object_eventlist(kFs + 1, 42, 5).has_value());
  set = next(Update::Kind::kSetObjectEventList);
  set.fs = kFs;
  set.ino = 43;
  set.generation = 1;
  set.events = event_bit(kRead) | event_bit(kTruncate);
  ASSERT_TRUE(table.apply(set).ok());
  EXPECT_EQ(table.object_events_union(kFs), event_bit(kRead) | event_bit(kTruncate));
  EXPECT_EQ(table.object_events_union(kFs + 1), 0u);

  Update stale = next(Update::Kind::kDropObjectEventList);
  stale.fs = kFs;
  stale.ino = 43;
  stale.generation = 2;
  ASSERT_TRUE(table.apply(stale).ok());
  EXPECT_TRUE(table.object_eventlist(kFs, 43, 1).has_value());
  Update drop = next(Update::Kind::kDropObjectEventList);
  drop.fs = kFs;
  drop.ino = 43;
  drop.generation = 1;
  ASSERT_TRUE(table.apply(drop).ok());
  EXPECT_FALSE(table.object_eventlist(kFs, 43, 1).has_value());
  EXPECT_EQ(table.object_events_union(kFs), 0u);

  Update bad = next(Update::Kind::kSetObjectEventList);
  bad.fs = kGlobalFs;
  bad.ino = 1;
  EXPECT_EQ(table.apply(bad).error().code, EINVAL);
  bad.fs = kFs;
  bad.events = event_bit(kLink);
  EXPECT_EQ(table.apply(bad).error().code, EINVAL);
}

// The lists loaded at mount go in before the first update, never after.
TEST_F(SessionTableTest, ObjectEventListsArePreloadedOnlyBeforeTheFirstUpdate) {
  ASSERT_TRUE(table.preload_object_eventlists({{kFs, 9, 1, event_bit(kWrite)}}).ok());
  EXPECT_EQ(table.object_eventlist(kFs, 9, 1), event_bit(kWrite));
  EXPECT_EQ(table.version(), 0u);
  create(0);
  EXPECT_EQ(table.preload_object_eventlists({{kFs, 10, 1, 0}}).error().code, EPROTO);
}

// Issue #4, standby takeover (B4): an orphaned member of a group is taken
// over by the group's active standby: the orphan ends, its direct
// dispositions and its tokens' rights are the standby's, successor() leads
// its events there, and it cannot be assumed by hand any more.
class StandbyTest : public SessionTableTest {
 protected:
  Status make_standby(SessionId id, bool standby = true) {
    Update modify = next(Update::Kind::kModifySession);
    modify.session = *table.session(id);
    modify.session.standby = standby;
    return table.apply(modify);
  }
  Status orphan(int node) {
    Update u = next(Update::Kind::kOrphanNode);
    u.node = node;
    return table.apply(u);
  }
  Status take_over(SessionId orphaned, SessionId into) {
    Update u = next(Update::Kind::kTakeOver);
    u.session.id = orphaned;
    u.into = into;
    return table.apply(u);
  }
};

TEST_F(StandbyTest, TakeOverHandsDispositionsRightsAndEventsToTheStandbyB4) {
  const SessionId a = create(0, "hsm-0", "hsm");
  const SessionId b = create(1, "hsm-1", "hsm");
  const SessionId outsider = create(2, "other", "");
  ASSERT_TRUE(make_standby(b).ok());
  EXPECT_TRUE(table.session(b)->standby);
  ASSERT_TRUE(dispose(a, event_bit(kRead)).ok());
  Update grant = next(Update::Kind::kChangeRight);
  grant.right = RightChange{RightChange::Op::kRequest, 0x100001, a, 5, Right::kExcl};
  ASSERT_TRUE(table.apply(grant).ok());

  EXPECT_EQ(table.standby_for(a), nullptr) << "a is not orphaned";
  ASSERT_TRUE(orphan(0).ok());
  ASSERT_NE(table.standby_for(a), nullptr);
  EXPECT_EQ(table.standby_for(a)->id, b);
  EXPECT_EQ(table.standby_for(outsider), nullptr) << "no group, no standby";
  ASSERT_TRUE(take_over(a, b).ok());

  EXPECT_EQ(table.session(a), nullptr);
  EXPECT_EQ(table.successor(a), b);
  EXPECT_EQ(table.successor(b), b);
  EXPECT_EQ(table.successor(99), 0);
  EXPECT_EQ(table.disposition(kFs, kRead).session, b);
  ASSERT_EQ(table.rights().all().size(), 1u);
  EXPECT_EQ(table.rights().all()[0].session, b);
  Update assume = next(Update::Kind::kAssumeSession);
  assume.session = Session{a, 3, "by hand", "hsm"};
  auto refused = table.apply(assume);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ESRCH);
  EXPECT_NE(refused.error().message.find("standby"), std::string::npos) << refused.error().message;

  auto rebuilt = SessionTable::from_snapshot(table.snapshot());
  ASSERT_TRUE(rebuilt.ok());
  EXPECT_EQ(*rebuilt, table);
  EXPECT_EQ(rebuilt->successor(a), b);
}

// A rank dies with two members of the group and the group has two standbys:
// each standby takes one, not the lowest id both. The choice is the table's
// alone (a replica would make the same), counting the takeovers so far.
TEST_F(StandbyTest, OrphansOfOneDeathAreSpreadOverTheStandbysB4) {
  const SessionId a1 = create(0, "hsm-0a", "hsm");
  const SessionId a2 = create(0, "hsm-0b", "hsm");
  const SessionId s1 = create(1, "hsm-1", "hsm");
  const SessionId s2 = create(2, "hsm-2", "hsm");
  ASSERT_TRUE(make_standby(s1).ok());
  ASSERT_TRUE(make_standby(s2).ok());
  ASSERT_TRUE(orphan(0).ok());
  // Both orphans would go to s1 (lowest id, nothing taken over yet).
  ASSERT_NE(table.standby_for(a1), nullptr);
  EXPECT_EQ(table.standby_for(a1)->id, s1);
  ASSERT_TRUE(take_over(a1, s1).ok());
  // Now s1 stands in for one session and s2 for none.
  ASSERT_NE(table.standby_for(a2), nullptr);
  EXPECT_EQ(table.standby_for(a2)->id, s2);
  ASSERT_TRUE(take_over(a2, s2).ok());
  EXPECT_EQ(table.successor(a1), s1);
  EXPECT_EQ(table.successor(a2), s2);
}

TEST_F(StandbyTest, OnlyAnActiveStandbyOfTheSameGroupTakesOverAnOrphan) {
  const SessionId a = create(0, "hsm-0", "hsm");
  const SessionId b = create(1, "hsm-1", "hsm");
  const SessionId c = create(2, "x-2", "x");
  EXPECT_EQ(take_over(a, b).error().code, EBUSY) << "a is active";
  ASSERT_TRUE(orphan(0).ok());
  EXPECT_EQ(take_over(a, b).error().code, EINVAL) << "b is no standby";
  ASSERT_TRUE(make_standby(c).ok());
  EXPECT_EQ(take_over(a, c).error().code, EINVAL) << "c is in another group";
  EXPECT_EQ(take_over(a, 42).error().code, ESRCH);
  const SessionId loner = create(3, "loner", "");
  EXPECT_EQ(make_standby(loner).error().code, EINVAL) << "a standby of no group";
  ASSERT_TRUE(make_standby(b).ok());
  ASSERT_TRUE(orphan(1).ok());
  EXPECT_EQ(table.standby_for(a), nullptr) << "an orphaned standby takes over nothing";
}

TEST_F(StandbyTest, TakeoversChainUntilTheLastStandbyEnds) {
  const SessionId a = create(0, "hsm-0", "hsm");
  const SessionId b = create(1, "hsm-1", "hsm");
  const SessionId c = create(2, "hsm-2", "hsm");
  ASSERT_TRUE(make_standby(b).ok());
  ASSERT_TRUE(make_standby(c).ok());
  ASSERT_TRUE(orphan(0).ok());
  EXPECT_EQ(table.standby_for(a)->id, b) << "the lowest-numbered standby";
  ASSERT_TRUE(take_over(a, b).ok());
  ASSERT_TRUE(orphan(1).ok());
  ASSERT_TRUE(take_over(b, c).ok());
  EXPECT_EQ(table.successor(a), c);
  Update destroy = next(Update::Kind::kDestroySession);
  destroy.session.id = c;
  ASSERT_TRUE(table.apply(destroy).ok());
  EXPECT_EQ(table.successor(a), 0);
  EXPECT_EQ(table.successor(b), 0);
}

}  // namespace
}  // namespace pdm::dm

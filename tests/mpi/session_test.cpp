// The session manager and the replicated session table under 4 ranks
// (DESIGN.md §4; CLAIMS.md B1-B3, B8-B11, B13-B15, B17): sessions created on
// several ranks are seen by every rank with unique ids; when a change
// returns, every rank already holds it; dispositions from any rank,
// partitioned among sessions.
#include <gtest/gtest.h>
#include <mpi.h>

#include <set>

#include "runtime/node/process_node.h"
#include "tests/mpi/fs_fixture.h"

namespace pdm::test {
namespace {

const auto *const kEnv = ::testing::AddGlobalTestEnvironment(new FileSystemEnvironment());

constexpr dm::FsId kFs = 0x5eed;
constexpr int kRead = 16;
constexpr int kWrite = 17;
constexpr int kTruncate = 18;

dm::ControlPlane &control() {
  return node::process_node()->control();
}

dm::Update make(dm::Update::Kind kind) {
  dm::Update u;
  u.kind = kind;
  return u;
}

dm::SessionId create_session(const std::string &info, const std::string &group = "") {
  dm::Update u = make(dm::Update::Kind::kCreateSession);
  u.session.info = info;
  u.session.group = group;
  auto done = control().submit(u);
  EXPECT_TRUE(done.ok()) << done.error().message;
  return done.ok() ? done->session.id : 0;
}

std::vector<dm::SessionId> all_session_ids(MPI_Comm comm, dm::SessionId mine) {
  std::vector<dm::SessionId> ids(static_cast<std::size_t>(size()));
  MPI_Allgather(&mine, 1, MPI_INT, ids.data(), 1, MPI_INT, comm);
  return ids;
}

// B1: the manager is the lowest live rank.
TEST(SessionManager, RankZeroIsTheManagerB1) {
  auto view = node::process_node()->membership().current();
  EXPECT_EQ(view->manager(), 0);
}

// B2, B10, B11, B17: every rank (the manager's own included) creates a session
// at once; ids are unique, and every rank sees every session with its node.
TEST(SessionManager, SessionsCreatedOnEveryRankAreSeenByAllWithUniqueIdsB2B10B11B17) {
  const dm::SessionId mine = create_session("app-on-rank-" + std::to_string(rank()));
  const auto ids = all_session_ids(MPI_COMM_WORLD, mine);
  EXPECT_EQ(std::set<dm::SessionId>(ids.begin(), ids.end()).size(), ids.size());
  // No barrier beyond the allgather: each creator returned only once every
  // rank had applied its session.
  for (int r = 0; r < size(); ++r) {
    const dm::SessionId id = ids[static_cast<std::size_t>(r)];
    control().read([&](const dm::SessionTable &t) {
      const dm::Session *s = t.session(id);
      ASSERT_NE(s, nullptr) << "session " << id << " of rank " << r;
      EXPECT_EQ(s->node, r);
      EXPECT_EQ(s->info, "app-on-rank-" + std::to_string(r));
    });
  }
}

// B8, B9, B13: dispositions set from a rank that is not the session node;
// a conflicting request from another rank is refused; disjoint sets of two
// applications coexist; every rank sees the same partition.
TEST(SessionManager, DispositionsFromAnyRankStayPartitionedB8B9B13) {
  const dm::SessionId mine = create_session("disp-" + std::to_string(rank()));
  const auto ids = all_session_ids(MPI_COMM_WORLD, mine);
  const dm::SessionId hsm = ids[1 % size()];
  const dm::SessionId other = ids[2 % size()];
  if (rank() == 3 % size()) {
    dm::Update set = make(dm::Update::Kind::kSetDisposition);
    set.session.id = hsm;
    set.fs = kFs;
    set.events = dm::event_bit(kRead) | dm::event_bit(kWrite);
    auto done = control().submit(set);
    EXPECT_TRUE(done.ok()) << done.error().message;
  }
  MPI_Barrier(MPI_COMM_WORLD);
  if (rank() == 2 % size()) {
    dm::Update clash = make(dm::Update::Kind::kSetDisposition);
    clash.session.id = other;
    clash.fs = kFs;
    clash.events = dm::event_bit(kWrite) | dm::event_bit(kTruncate);
    auto refused = control().submit(clash);
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.error().code, EBUSY);
    clash.events = dm::event_bit(kTruncate);
    EXPECT_TRUE(control().submit(clash).ok());
  }
  MPI_Barrier(MPI_COMM_WORLD);
  control().read([&](const dm::SessionTable &t) {
    EXPECT_EQ(t.disposition(kFs, kRead).session, hsm);
    EXPECT_EQ(t.disposition(kFs, kWrite).session, hsm);
    EXPECT_EQ(t.disposition(kFs, kTruncate).session, other);
  });
  MPI_Barrier(MPI_COMM_WORLD);
}

// B14, B15: when a modify or destroy returns on one rank, every other rank
// already holds the change — checked by the others right after a message from
// the changer, with no further synchronisation.
TEST(SessionManager, ModifyAndDestroyAreEverywhereWhenTheCallReturnsB14B15) {
  const dm::SessionId mine = create_session("before");
  const auto ids = all_session_ids(MPI_COMM_WORLD, mine);
  const int changer = 1 % size();
  const dm::SessionId target = ids[static_cast<std::size_t>(changer)];
  std::uint64_t versions[2] = {0, 0};
  if (rank() == changer) {
    dm::Update modify = make(dm::Update::Kind::kModifySession);
    modify.session = dm::Session{target, changer, "after", "grp"};
    auto modified = control().submit(modify);
    ASSERT_TRUE(modified.ok()) << modified.error().message;
    dm::Update destroy = make(dm::Update::Kind::kDestroySession);
    destroy.session.id = target;
    versions[0] = modified->version;
    auto destroyed = control().submit(destroy);
    ASSERT_TRUE(destroyed.ok()) << destroyed.error().message;
    versions[1] = destroyed->version;
  }
  MPI_Bcast(versions, 2, MPI_UINT64_T, changer, MPI_COMM_WORLD);
  control().read([&](const dm::SessionTable &t) {
    EXPECT_GE(t.version(), versions[1]);
    EXPECT_EQ(t.session(target), nullptr) << "destroyed session still present on rank " << rank();
  });
  MPI_Barrier(MPI_COMM_WORLD);
}

TEST(SessionManager, DestroyingAnUnknownSessionIsEsrch) {
  dm::Update destroy = make(dm::Update::Kind::kDestroySession);
  destroy.session.id = 1'000'000 + rank();
  auto refused = control().submit(destroy);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ESRCH);
  MPI_Barrier(MPI_COMM_WORLD);
}

// Many concurrent submissions from every rank: every replica ends identical.
TEST(SessionManager, ReplicasAgreeAfterAConcurrentBurstB3) {
  for (int i = 0; i < 25; ++i)
    create_session("burst-" + std::to_string(rank()) + "-" + std::to_string(i));
  MPI_Barrier(MPI_COMM_WORLD);
  // Wait until this rank has the manager's latest version: the last burst
  // creation of every rank returned, so every rank applied all of them.
  const auto snapshot = control().read([](const dm::SessionTable &t) { return t.snapshot(); });
  mpi::Encoder out;
  mpi::encode_field(out, snapshot);
  std::uint64_t digest = std::hash<std::string_view>{}(
      std::string_view(reinterpret_cast<const char *>(out.bytes().data()), out.size()));
  std::uint64_t lowest = 0;
  std::uint64_t highest = 0;
  MPI_Allreduce(&digest, &lowest, 1, MPI_UINT64_T, MPI_MIN, MPI_COMM_WORLD);
  MPI_Allreduce(&digest, &highest, 1, MPI_UINT64_T, MPI_MAX, MPI_COMM_WORLD);
  EXPECT_EQ(lowest, highest) << "replicas differ";
}

}  // namespace
}  // namespace pdm::test

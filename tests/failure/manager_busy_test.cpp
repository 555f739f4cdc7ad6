// The session manager (rank 0) is SIGKILLed while the other ranks keep
// creating sessions (issue #4: "operations in flight complete exactly once or
// fail with a clear errno, never half"; CLAIMS.md B1, B3, B5, B17). Every
// create must either succeed — and then its session is in every survivor's
// table with its info — or fail with EAGAIN (lost with the manager, applied
// nowhere) or ESTALE (cut by the view change); afterwards all survivors'
// replicas agree (same version, same sessions) and ids are unique.
#include <gtest/gtest.h>
#include <mpi.h>

#include <set>

#include "runtime/node/process_node.h"
#include "tests/failure/failure_support.h"

namespace pdm::failure_test {
namespace {

constexpr int kVictim = 0;

TEST(ManagerFailure, ManagerKilledDuringSessionCreatesCompletesOnceOrFailsB3B5B17) {
  MPI_Comm live = world_rank() == kVictim ? MPI_COMM_NULL : survivors({kVictim});
  MPI_Barrier(MPI_COMM_WORLD);
  if (world_rank() == kVictim) {
    // Let the others start creating, then die among their requests.
    ASSERT_TRUE(eventually([] {
      return control().read([](const dm::SessionTable &t) { return t.sessions().size() >= 6; });
    }));
    die();
  }
  auto &membership = node::process_node()->membership();
  std::vector<std::pair<dm::SessionId, std::string>> created;
  int lost = 0;
  int after = 0;
  bool bounded = false;
  for (int i = 0; i < 5000; ++i) {
    if (membership.current()->epoch() >= 2 && ++after > 5) {
      bounded = true;
      break;
    }
    dm::Update u;
    u.kind = dm::Update::Kind::kCreateSession;
    u.session.info = "r" + std::to_string(world_rank()) + "-" + std::to_string(i);
    auto done = control().submit(u);
    if (done.ok()) {
      created.emplace_back(done->session.id, u.session.info);
    } else {
      EXPECT_TRUE(done.error().code == EAGAIN || done.error().code == ESTALE)
          << "create " << i << " failed with errno " << done.error().code << ": "
          << done.error().message;
      ++lost;
    }
  }
  ASSERT_TRUE(bounded) << "the view never changed while creating";
  EXPECT_EQ(membership.current()->manager(), 1);
  MPI_Barrier(live);  // every survivor's creates returned

  // Every successful create is in this rank's replica, with its info.
  for (const auto &[id, info] : created) {
    auto found = control().read([&, id = id](const dm::SessionTable &t) {
      const auto *s = t.session(id);
      return s != nullptr ? s->info : std::string("<missing>");
    });
    EXPECT_EQ(found, info) << "session " << id;
  }
  // The replicas agree: same version and the same set of session ids.
  auto [version, ids] = control().read([](const dm::SessionTable &t) {
    std::vector<std::int64_t> ids;
    for (const auto &[id, s] : t.sessions()) ids.push_back(id);
    return std::make_pair(t.version(), ids);
  });
  std::uint64_t versions[3] = {};
  MPI_Allgather(&version, 1, MPI_UINT64_T, versions, 1, MPI_UINT64_T, live);
  EXPECT_EQ(versions[0], versions[1]);
  EXPECT_EQ(versions[1], versions[2]);
  std::int64_t count = static_cast<std::int64_t>(ids.size());
  std::int64_t counts[3] = {};
  MPI_Allgather(&count, 1, MPI_INT64_T, counts, 1, MPI_INT64_T, live);
  EXPECT_EQ(counts[0], counts[1]);
  EXPECT_EQ(counts[1], counts[2]);
  std::int64_t sum = 0;
  for (auto id : ids) sum += id;
  std::int64_t sums[3] = {};
  MPI_Allgather(&sum, 1, MPI_INT64_T, sums, 1, MPI_INT64_T, live);
  EXPECT_EQ(sums[0], sums[1]);
  EXPECT_EQ(sums[1], sums[2]);
  std::set<dm::SessionId> unique;
  for (const auto &[id, info] : created) EXPECT_TRUE(unique.insert(id).second) << id;
  std::fprintf(stderr, "[rank %d] %zu creates succeeded, %d failed cleanly\n", world_rank(),
               created.size(), lost);
  MPI_Barrier(live);
}

}  // namespace
}  // namespace pdm::failure_test

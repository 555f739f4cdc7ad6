// A rank killed during a view change (issue #4; DESIGN.md §7; CLAIMS.md B1,
// B5): rank 3 is SIGKILLed, and while the survivors agree on the view
// without it, a second rank dies at an exact step of that agreement (a
// failpoint, runtime/base/failpoint.h, whose action is a real SIGKILL):
//
//   PDM_VICTIM_FAILPOINT "view_change.before_ack": rank 2, a member, dies
//     on receiving the coordinator's PROPOSE, before its ACK. The
//     coordinator must suspect it and propose again without it.
//   "view_change.before_commit": rank 0, the coordinator (also the session
//     manager and metadata server), dies once every member ACKed, before its
//     COMMIT. The members must give up on it and the next coordinator
//     (rank 1) must propose and commit.
//
// Either way the two survivors must install one view of both of them, and
// keep the session table and the file system.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <mpi.h>
#include <pdm/pdm.h>

#include <string>

#include "runtime/base/failpoint.h"
#include "runtime/node/process_node.h"
#include "tests/failure/failure_support.h"

namespace pdm::failure_test {
namespace {

constexpr int kFirstVictim = 3;
constexpr int kSecondVictim = PDM_VICTIM;
constexpr const char *kFailpoint = PDM_VICTIM_FAILPOINT;

std::vector<int> expected_survivors() {
  std::vector<int> out;
  for (int rank = 0; rank < world_size(); ++rank) {
    if (rank != kFirstVictim && rank != kSecondVictim) out.push_back(rank);
  }
  return out;
}

TEST(ViewChangeFailure, SecondRankKilledInsideTheViewChangeB1B5) {
  std::vector<dm::SessionId> ids(static_cast<std::size_t>(world_size()));
  dm::SessionId mine = create_session("rank-" + std::to_string(world_rank()));
  MPI_Allgather(&mine, 1, MPI_INT, ids.data(), 1, MPI_INT, MPI_COMM_WORLD);
  make_file_of_this_rank("/before-");
  if (HasFatalFailure()) return;
  // Made while all live (docs/FAILURES.md on communicators during a view change).
  const bool survivor = world_rank() != kFirstVictim && world_rank() != kSecondVictim;
  MPI_Comm live = survivor ? survivors({kFirstVictim, kSecondVictim}) : MPI_COMM_NULL;
  if (world_rank() == kSecondVictim) failpoint::arm(kFailpoint, [] { die(); });
  MPI_Barrier(MPI_COMM_WORLD);
  if (world_rank() == kFirstVictim) die();
  if (world_rank() == kSecondVictim) {
    // The failpoint kills this process from the progress thread; it must
    // come within the test's bound.
    ASSERT_TRUE(eventually([] { return false; }, std::chrono::seconds(60)))
        << "the failpoint " << kFailpoint << " was never hit";
  }

  auto &membership = node::process_node()->membership();
  const auto want = expected_survivors();
  ASSERT_TRUE(eventually([&] { return membership.current()->members() == want; }))
      << "the survivors never installed a view of just themselves";
  auto view = membership.current();
  EXPECT_EQ(view->manager(), want.front());  // B1
  MPI_Barrier(live);

  expect_orphaned(ids, {kFirstVictim, kSecondVictim});
  dm::SessionId created = 0;
  if (world_rank() == want.back()) {
    created = create_session("after-the-view-change");
    for (auto id : ids) EXPECT_GT(created, id);
  }
  MPI_Bcast(&created, 1, MPI_INT, 1, live);  // want.back() is rank 1 of `live`
  EXPECT_TRUE(session(created).has_value()) << "session " << created << " missing";
  expect_file_of_every_rank("/before-");
  expect_write_and_read_back("/after-" + std::to_string(world_rank()), 300000,
                             static_cast<char>('v' + world_rank()));
  MPI_Barrier(live);
}

}  // namespace
}  // namespace pdm::failure_test

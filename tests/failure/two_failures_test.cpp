// Two failures one after the other (issue #4; DESIGN.md §7; CLAIMS.md B1,
// B4, B5, B17): first rank 3 (a session node and volume owner) is SIGKILLed,
// then — once the survivors installed view 2 — rank 0, the session manager
// and metadata server of view 2. The two survivors must install view 3 with
// rank 1 as manager (B1), keep the session table with both dead ranks'
// sessions orphaned (B4, B5), serve a new session with a fresh id (B17), and
// keep the file system: files made before either kill are there, and a new
// file is written and read back over the volumes of both dead ranks.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <mpi.h>
#include <pdm/pdm.h>

#include <string>

#include "runtime/node/process_node.h"
#include "tests/failure/failure_support.h"

namespace pdm::failure_test {
namespace {

TEST(TwoFailures, SessionNodeThenNewManagerKilledOneAfterTheOtherB1B4B5B17) {
  // A session on every rank, known to every rank.
  std::vector<dm::SessionId> ids(static_cast<std::size_t>(world_size()));
  dm::SessionId mine = create_session("rank-" + std::to_string(world_rank()));
  MPI_Allgather(&mine, 1, MPI_INT, ids.data(), 1, MPI_INT, MPI_COMM_WORLD);
  make_file_of_this_rank("/before-");
  if (HasFatalFailure()) return;
  // Communicators of the survivors of each step, made while all live (see
  // docs/FAILURES.md on creating communicators during a view change).
  MPI_Comm after_first = world_rank() == 3 ? MPI_COMM_NULL : survivors({3});
  MPI_Comm after_second =
      (world_rank() == 3 || world_rank() == 0) ? MPI_COMM_NULL : survivors({0, 3});
  MPI_Barrier(MPI_COMM_WORLD);
  if (world_rank() == 3) die();

  auto &membership = node::process_node()->membership();
  ASSERT_TRUE(eventually([&] { return membership.current()->epoch() >= 2; }))
      << "no view change after the first kill";
  EXPECT_EQ(membership.current()->members(), (std::vector<int>{0, 1, 2}));
  MPI_Barrier(after_first);
  if (world_rank() == 0) die();

  ASSERT_TRUE(eventually([&] { return membership.current()->epoch() >= 3; }))
      << "no view change after the second kill";
  auto view = membership.current();
  EXPECT_EQ(view->epoch(), 3u);
  EXPECT_EQ(view->members(), (std::vector<int>{1, 2}));
  EXPECT_EQ(view->manager(), 1);  // B1

  expect_orphaned(ids, {0, 3});
  for (int live : {1, 2}) {
    auto s = session(ids[static_cast<std::size_t>(live)]);
    ASSERT_TRUE(s.has_value());
    EXPECT_EQ(s->state, dm::SessionState::kActive);
  }

  dm::SessionId created = 0;
  if (world_rank() == 2) {
    created = create_session("after-two-failures");
    for (auto id : ids) EXPECT_GT(created, id);  // B17: never reused
  }
  MPI_Bcast(&created, 1, MPI_INT, 1, after_second);  // rank 2 is rank 1 there
  EXPECT_TRUE(session(created).has_value()) << "session " << created << " missing";

  // The metadata moved twice (0 kept it after the first kill, 1 has it now).
  EXPECT_EQ(node::process_node()->fs().metadata_rank(), 1);
  expect_file_of_every_rank("/before-");
  expect_write_and_read_back("/after-" + std::to_string(world_rank()), 300000,
                             static_cast<char>('k' + world_rank()));
  MPI_Barrier(after_second);
}

}  // namespace
}  // namespace pdm::failure_test

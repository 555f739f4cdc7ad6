// The session manager (rank 0) is SIGKILLed while idle (issue #4; DESIGN.md
// §7; CLAIMS.md B1, B4, B5, B17). The survivors must: detect it and install
// view 2 without it, with rank 1 as manager (B1); keep the session table
// (the sessions created before, B5), with the dead rank's session orphaned
// and the others active (B4); serve new session changes, with an id never
// used before (B17), seen by every survivor when the call returns; and stop
// and finalize without it. Rank 0 also served the metadata: rank 1 (the new
// owner of volume 0) reopens the store, so a file created before the kill is
// still there and new files can be created, written and read back.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <mpi.h>
#include <pdm/pdm.h>

#include <fstream>

#include <nlohmann/json.hpp>

#include "runtime/node/process_node.h"
#include "tests/failure/failure_support.h"

namespace pdm::failure_test {
namespace {

constexpr int kVictim = 0;

TEST(ManagerFailure, ManagerKilledWhileIdleB1B4B5B17) {
  // Sessions on the doomed manager and on rank 2, known to every rank.
  std::vector<dm::SessionId> ids(static_cast<std::size_t>(world_size()));
  dm::SessionId mine = 0;
  if (world_rank() == kVictim || world_rank() == 2) {
    mine = create_session("before-" + std::to_string(world_rank()));
  }
  MPI_Allgather(&mine, 1, MPI_INT, ids.data(), 1, MPI_INT, MPI_COMM_WORLD);
  if (world_rank() == 2) {
    const int fd = pdm_open("/before", O_CREAT | O_WRONLY, 0640);
    ASSERT_GE(fd, 0) << pdm_last_error();
    ASSERT_EQ(pdm_close(fd), 0);
  }
  // The survivors' communicator exists before the kill: creating one while
  // pdm's progress thread builds the next view deadlocks in Open MPI's
  // context-id agreement (docs/FAILURES.md).
  MPI_Comm live = world_rank() == kVictim ? MPI_COMM_NULL : survivors({kVictim});
  MPI_Barrier(MPI_COMM_WORLD);
  if (world_rank() == kVictim) die();

  auto &membership = node::process_node()->membership();
  ASSERT_TRUE(eventually([&] { return membership.current()->epoch() >= 2; }))
      << "no view change within the deadline";
  auto view = membership.current();
  EXPECT_EQ(view->epoch(), 2u);
  EXPECT_EQ(view->members(), (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(view->manager(), 1);  // B1: the lowest live rank
  // The same through the C API.
  pdm_view_info info{};
  int members[4] = {-1, -1, -1, -1};
  ASSERT_EQ(pdm_get_view(&info, members, 4), 0) << pdm_last_error();
  EXPECT_EQ(info.epoch, 2u);
  EXPECT_EQ(info.ranks, 4);
  EXPECT_EQ(info.members, 3);
  EXPECT_EQ((std::vector<int>{members[0], members[1], members[2]}), (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(info.manager, 1);
  EXPECT_EQ(info.metadata_server, 1);
  EXPECT_EQ(info.view_changes, 1u);

  // B4/B5: the table survived; the dead rank's session is orphaned.
  const auto dead_session = ids[kVictim];
  const auto live_session = ids[2];
  ASSERT_TRUE(eventually([&] {
    auto s = session(dead_session);
    return s && s->state == dm::SessionState::kOrphaned;
  })) << "session "
      << dead_session << " of the dead rank never became orphaned";
  auto kept = session(live_session);
  ASSERT_TRUE(kept.has_value());
  EXPECT_EQ(kept->state, dm::SessionState::kActive);
  EXPECT_EQ(kept->node, 2);

  // The new manager serves: a session created on rank 3 gets a fresh id (B17)
  // and every survivor has it once the call returned.
  dm::SessionId created = 0;
  if (world_rank() == 3) {
    created = create_session("after");
    EXPECT_GT(created, std::max(dead_session, live_session));
  }
  MPI_Bcast(&created, 1, MPI_INT, 2, live);  // rank 3 is rank 2 in `live`
  auto seen = session(created);
  ASSERT_TRUE(seen.has_value()) << "session " << created << " missing on rank " << world_rank();
  EXPECT_EQ(seen->node, 3);
  MPI_Barrier(live);

  // What `pdm status` shows (issue #4, observability): the new manager
  // publishes the view, with the dead rank, the new owners and the orphan.
  if (world_rank() == 2) {
    using Json = nlohmann::json;
    Json status;
    const bool published = eventually([&] {
      std::ifstream in(g_root + "/vol0/run/status.json");
      status = Json::parse(in, nullptr, /*allow_exceptions=*/false);
      if (status.is_discarded() || status.value("epoch", 0u) != 2u) return false;
      for (const Json &s : status["sessions"]) {
        if (s["id"] == created) return true;
      }
      return false;
    });
    ASSERT_TRUE(published) << "the new manager never published view 2 with session " << created;
    EXPECT_EQ(status["ranks"], 4);
    EXPECT_EQ(status["members"], Json({1, 2, 3}));
    EXPECT_EQ(status["dead"], Json({0}));
    EXPECT_EQ(status["manager"], 1);
    EXPECT_EQ(status["metadata_server"], 1);
    EXPECT_EQ(status["volume_owners"], Json({1, 2, 3, 1}));  // volume v: members[v % 3]
    EXPECT_EQ(status["view_changes"], 1);
    EXPECT_NE(status["last_view_change"].get<std::string>().find("ranks [0] removed"),
              std::string::npos)
        << status["last_view_change"];
    for (const Json &s : status["sessions"]) {
      if (s["id"] == dead_session) {
        EXPECT_EQ(s["state"], "orphaned");
      }
      if (s["id"] == live_session) {
        EXPECT_EQ(s["state"], "active");
      }
    }
  }
  MPI_Barrier(live);

  // The metadata service moved to rank 1 with volume 0.
  EXPECT_EQ(node::process_node()->fs().metadata_rank(), 1);
  EXPECT_TRUE(node::process_node()->fs().stat("/before").ok()) << "lost a file made before";
  expect_write_and_read_back("/after-" + std::to_string(world_rank()), 100000,
                             static_cast<char>('a' + world_rank()));
  MPI_Barrier(live);
}

}  // namespace
}  // namespace pdm::failure_test

// A session node (rank 3) is SIGKILLed while a synchronous CREATE event from
// rank 1 waits in its session's queue (issue #4; DESIGN.md §7; CLAIMS.md B4,
// B6). The survivors must: orphan the session; let rank 2 assume it with
// dm_create_session(oldsid) (api::Session::assume), which keeps its
// disposition; get the same event again there from its source, with its
// token; and when rank 2 answers CONTINUE, rank 1's blocked open completes.
// With PDM_SESSION_ORPHAN_TIMEOUT (ctest sets it) much longer than the takeover, the
// orphan timeout must not fire.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <mpi.h>
#include <pdm/pdm.h>

#include "runtime/dm/api/session.h"
#include "runtime/node/process_node.h"
#include "tests/failure/failure_support.h"

namespace pdm::failure_test {
namespace {

namespace api = dm::api;
constexpr int kSessionNode = 3;
constexpr int kSource = 1;
constexpr int kTaker = 2;

TEST(SessionFailure, SessionNodeKilledWithASyncEventPendingThenAssumedByHandB4) {
  std::optional<api::Session> hsm;
  const dm::SessionId sid = make_create_session(kSessionNode, hsm);
  ASSERT_NE(sid, 0);
  // The survivors' communicator exists before the kill: creating one while
  // pdm's progress thread builds the next view deadlocks in Open MPI's
  // context-id agreement (docs/FAILURES.md).
  MPI_Comm live = world_rank() == kSessionNode ? MPI_COMM_NULL : survivors({kSessionNode});
  MPI_Barrier(MPI_COMM_WORLD);

  if (world_rank() == kSessionNode) {
    // Die once the event is queued here, not yet handed out.
    auto &events = node::process_node()->events();
    ASSERT_TRUE(eventually([&] { return events.queue_counts()[sid].undelivered >= 1; }))
        << "the CREATE never reached the session";
    hsm->release();
    die();
  }
  if (world_rank() == kSource) {
    // Blocks until someone answers the CREATE.
    const int fd = pdm_open("/taken-over", O_CREAT | O_WRONLY, 0640);
    EXPECT_GE(fd, 0) << pdm_last_error();
    if (fd >= 0) {
      EXPECT_EQ(pdm_close(fd), 0);
    }
  }
  if (world_rank() == kTaker) {
    assume_orphan(sid, hsm);
    ASSERT_TRUE(hsm.has_value());
    EXPECT_EQ(session(sid)->node, kTaker);
    const auto got = take_events(*hsm, 1, "pending CREATEs re-sent to the new session node");
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].type, api::EventType::kCreate);
    EXPECT_EQ(got[0].source, kSource);
    EXPECT_TRUE(got[0].synchronous()) << "re-sent with its token";
    auto answered = hsm->respond(got[0], api::Continue{});
    EXPECT_TRUE(answered.ok()) << answered.error().message;
  }
  MPI_Barrier(live);
  EXPECT_TRUE(node::process_node()->fs().stat("/taken-over").ok());
  if (world_rank() == kTaker) {
    end_session(hsm);
  }
  MPI_Barrier(live);
}

}  // namespace
}  // namespace pdm::failure_test

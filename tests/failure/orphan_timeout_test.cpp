// A session node (rank 3) is SIGKILLed while a synchronous CREATE from rank 1
// waits in its queue, and nobody assumes the session (issue #4; CLAIMS.md
// B4): after the orphan timeout (PDM_SESSION_ORPHAN_TIMEOUT, set short by ctest) the
// blocked open fails with EIO instead of hanging forever, and no file is made.
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

TEST(SessionFailure, OrphanedSessionTimesOutWithEioB4) {
  std::optional<api::Session> hsm;
  const dm::SessionId sid = make_create_session(kSessionNode, hsm);
  ASSERT_NE(sid, 0);
  // The survivors' communicator exists before the kill: creating one while
  // pdm's progress thread builds the next view deadlocks in Open MPI's
  // context-id agreement (docs/FAILURES.md).
  MPI_Comm live = world_rank() == kSessionNode ? MPI_COMM_NULL : survivors({kSessionNode});
  MPI_Barrier(MPI_COMM_WORLD);
  if (world_rank() == kSessionNode) {
    auto &events = node::process_node()->events();
    ASSERT_TRUE(eventually([&] { return events.queue_counts()[sid].undelivered >= 1; }));
    hsm->release();
    die();
  }
  if (world_rank() == kSource) {
    const int fd = pdm_open("/never-answered", O_CREAT | O_WRONLY, 0640);
    EXPECT_EQ(fd, -1);
    EXPECT_EQ(errno, EIO) << pdm_last_error();
  }
  MPI_Barrier(live);
  EXPECT_FALSE(node::process_node()->fs().stat("/never-answered").ok());
  // The session stays orphaned; its disposition must not block the unmount,
  // which raises no CREATE.
  MPI_Barrier(live);
}

}  // namespace
}  // namespace pdm::failure_test

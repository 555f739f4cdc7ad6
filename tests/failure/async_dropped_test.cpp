// A session node (rank 3) is SIGKILLed with three asynchronous POSTCREATE
// events from rank 1 not handed out, and no one takes its session over. The
// source keeps a copy of each (EventCourier) for the session's next node;
// those copies must not be kept forever (issue #4; FAILURES.md; CLAIMS.md B4):
// - PDM_BY_DESTROY 0: the session stays orphaned past
//   PDM_SESSION_ORPHAN_TIMEOUT (2 s here): rank 1 drops the copies; a rank
//   that assumes the session afterwards gets none of them;
// - PDM_BY_DESTROY 1: rank 2 destroys the orphaned session (the timeout is
//   far beyond the test's deadline): rank 1 drops the copies.
// Without the drop, rank 1 keeps three copies until the test's deadline.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <mpi.h>
#include <pdm/dmapi.h>
#include <pdm/pdm.h>

#include <string>

#include "runtime/dm/api/session.h"
#include "runtime/node/process_node.h"
#include "tests/failure/failure_support.h"

#ifndef PDM_BY_DESTROY
#error "define PDM_BY_DESTROY: 0 (the orphan timeout drops) or 1 (the session is destroyed)"
#endif

namespace pdm::failure_test {
namespace {

namespace api = dm::api;
constexpr int kSessionNode = 3;
constexpr int kSource = 1;
constexpr int kOther = 2;
constexpr int kFiles = 3;

TEST(SessionFailure, AsyncEventsOfASessionNoOneTakesOverAreDroppedAtTheirSourceB4) {
  std::optional<api::Session> doomed;
  const dm::SessionId doomed_id =
      make_create_session(kSessionNode, doomed, api::EventType::kPostcreate);
  ASSERT_NE(doomed_id, 0);
  // Created before the kill (see session_takeover_test.cpp).
  MPI_Comm live = world_rank() == kSessionNode ? MPI_COMM_NULL : survivors({kSessionNode});
  MPI_Barrier(MPI_COMM_WORLD);

  auto &events = node::process_node()->events();
  if (world_rank() == kSource) {
    for (int i = 0; i < kFiles; ++i) {
      const std::string path = "/dropped-" + std::to_string(i);
      const int fd = pdm_open(path.c_str(), O_CREAT | O_WRONLY, 0640);
      ASSERT_GE(fd, 0) << path << ": " << pdm_last_error();
      ASSERT_EQ(pdm_close(fd), 0);
    }
    EXPECT_EQ(events.kept_async(), static_cast<std::size_t>(kFiles));
  }
  if (world_rank() == kSessionNode) {
    ASSERT_TRUE(eventually([&] { return events.queue_counts()[doomed_id].undelivered >= kFiles; }))
        << "the POSTCREATE events never reached the session";
  }
  MPI_Barrier(MPI_COMM_WORLD);
  if (world_rank() == kSessionNode) {
    doomed->release();
    die();
  }

  if (PDM_BY_DESTROY && world_rank() == kOther) {
    ASSERT_TRUE(eventually([&] {
      auto s = failure_test::session(doomed_id);
      return s && s->state == dm::SessionState::kOrphaned;
    })) << "session "
        << doomed_id << " was never orphaned";
    ASSERT_EQ(dm_destroy_session(static_cast<dm_sessid_t>(doomed_id)), 0) << pdm_last_error();
  }
  if (world_rank() == kSource) {
    EXPECT_TRUE(eventually([&] { return events.kept_async() == 0; }))
        << "rank 1 still keeps " << events.kept_async() << " asynchronous events";
  }
  MPI_Barrier(live);
  if (!PDM_BY_DESTROY && world_rank() == kOther) {
    // Dropped means gone: the session's next holder does not get them.
    std::optional<api::Session> taker;
    assume_orphan(doomed_id, taker);
    ASSERT_TRUE(taker.has_value());
    expect_no_events(*taker, "reached the session after the drop");
    end_session(taker);
  }
  MPI_Barrier(live);
}

}  // namespace
}  // namespace pdm::failure_test

// A synchronous event whose call a view change cuts (issue #3's
// one-round-trip delivery; issue #4; CLAIMS.md B4). The source's call waits
// for the session's answer (a deferred reply), so a view change while the
// session holds the event ends the call with ESTALE, and the source sends
// the event again with its token. A bystander (rank 3) is SIGKILLed while the
// session on rank 2 holds rank 1's CREATE. Either
//   - PDM_ANSWER_FIRST=1: the session answers before the repeat comes (rank
//     1 holds its repeat at a failpoint until then). The answer's reply is
//     refused (its view is gone) and kept; the repeat gets it at once;
//   - PDM_ANSWER_FIRST=0: the repeat comes first (rank 2 waits for it at a
//     failpoint); the node answers the new call when the session responds.
// Either way rank 1's open completes once, and the session never sees the
// event a second time.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <mpi.h>
#include <pdm/pdm.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <string>

#include "runtime/base/failpoint.h"
#include "runtime/dm/api/session.h"
#include "runtime/node/process_node.h"
#include "tests/failure/failure_support.h"

#ifndef PDM_ANSWER_FIRST
#error "build with PDM_ANSWER_FIRST=0 or 1"
#endif

namespace pdm::failure_test {
namespace {

namespace api = dm::api;
constexpr int kSource = 1;
constexpr int kSessionNode = 2;
constexpr int kVictim = 3;
constexpr bool kAnswerFirst = PDM_ANSWER_FIRST != 0;

std::uint64_t epoch() {
  return node::process_node()->membership().current()->epoch();
}

TEST(SessionFailure, ASyncEventCutByAViewChangeIsAnsweredOnceB4) {
  std::optional<api::Session> hsm;
  const dm::SessionId sid = make_create_session(kSessionNode, hsm);
  ASSERT_NE(sid, 0);
  MPI_Comm live = world_rank() == kVictim ? MPI_COMM_NULL : survivors({kVictim});
  // Rank 2 tells rank 1 through this file that it answered (MPI would need
  // rank 1's thread that the failpoint holds).
  const std::string answered_mark = g_root + ".answered";
  std::atomic<bool> repeat_seen{false};
  if (world_rank() == kSource && kAnswerFirst) {
    failpoint::arm("event_service.deliver_again", [answered_mark] {
      (void)eventually([&] { return ::access(answered_mark.c_str(), F_OK) == 0; });
    });
  }
  if (world_rank() == kSessionNode) {
    // Runs under the event service's mutex: a flag only.
    failpoint::arm(kAnswerFirst ? "event_service.repeat_answered" : "event_service.repeat_queued",
                   [&repeat_seen] { repeat_seen = true; });
  }
  MPI_Barrier(MPI_COMM_WORLD);

  if (world_rank() == kVictim) {
    char go = 0;
    MPI_Recv(&go, 1, MPI_CHAR, kSessionNode, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    die();
  }
  if (world_rank() == kSource) {
    // Blocks until the session answers the CREATE.
    const int fd = pdm_open("/cut-create", O_CREAT | O_WRONLY, 0640);
    EXPECT_GE(fd, 0) << pdm_last_error();
    if (fd >= 0) {
      EXPECT_EQ(pdm_close(fd), 0);
    }
  }
  if (world_rank() == kSessionNode) {
    const auto got = take_events(*hsm, 1, "the CREATE");
    ASSERT_EQ(got.size(), 1u);
    EXPECT_TRUE(got[0].synchronous());
    const std::uint64_t before = epoch();
    char go = 1;
    MPI_Send(&go, 1, MPI_CHAR, kVictim, 0, MPI_COMM_WORLD);
    EXPECT_TRUE(eventually([&] { return epoch() > before; })) << "rank 3's death was not seen";
    if (!kAnswerFirst) {
      EXPECT_TRUE(eventually([&] { return repeat_seen.load(); }))
          << "rank 1 never sent the cut event again";
    }
    auto answered = hsm->respond(got[0], api::Continue{});
    EXPECT_TRUE(answered.ok()) << answered.error().message;
    if (kAnswerFirst) {
      std::ofstream(answered_mark) << "answered\n";
      EXPECT_TRUE(eventually([&] { return repeat_seen.load(); }))
          << "the repeat was not answered from the kept answer";
    }
  }
  MPI_Barrier(live);
  if (world_rank() == kSessionNode) {
    expect_no_events(*hsm, "the repeat of an event it held or had answered");
    ::unlink(answered_mark.c_str());
  }
  EXPECT_TRUE(node::process_node()->fs().stat("/cut-create").ok());
  if (world_rank() == kSessionNode) end_session(hsm);
  MPI_Barrier(live);
}

}  // namespace
}  // namespace pdm::failure_test

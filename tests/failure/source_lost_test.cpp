// The source of a synchronous event (rank 3) is SIGKILLed while its CREATE
// waits, handed out, at a session on rank 2 (issue #4: "events whose source
// rank died are delivered marked as such; responses to them are accepted
// and ignored"; CLAIMS.md B2, B18). The session must see the event marked
// once the view lost its source, and its answer must be accepted.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <mpi.h>
#include <pdm/dmapi.h>
#include <pdm/pdm.h>

#include <thread>

#include "runtime/dm/api/session.h"
#include "runtime/node/process_node.h"
#include "tests/failure/failure_support.h"

namespace pdm::failure_test {
namespace {

namespace api = dm::api;
constexpr int kSessionNode = 2;
constexpr int kSource = 3;
constexpr int kDieTag = 77;

bool in_view(int member) {
  return node::process_node()->membership().current()->is_live(member);
}

TEST(SourceFailure, AnEventWhoseSourceDiedIsMarkedAndItsAnswerAccepted) {
  std::optional<api::Session> hsm;
  const dm::SessionId sid = make_create_session(kSessionNode, hsm);
  ASSERT_NE(sid, 0);
  MPI_Comm live = world_rank() == kSource ? MPI_COMM_NULL : survivors({kSource});
  MPI_Barrier(MPI_COMM_WORLD);

  if (world_rank() == kSource) {
    // The open blocks on its CREATE; the rank dies when the session says so.
    std::thread([] { (void)pdm_open("/orphaned-create", O_CREAT | O_WRONLY, 0640); }).detach();
    int go = 0;
    MPI_Recv(&go, 1, MPI_INT, kSessionNode, kDieTag, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    die();
  }
  if (world_rank() == kSessionNode) {
    auto got = hsm->get_events(1, true);
    ASSERT_TRUE(got.ok()) << got.error().message;
    ASSERT_EQ(got->size(), 1u);
    const api::Event event = got->front();
    EXPECT_EQ(event.type, api::EventType::kCreate);
    EXPECT_EQ(event.source, kSource);
    EXPECT_TRUE(event.synchronous());
    EXPECT_FALSE(event.source_lost) << "marked while its source lives";
    int go = 1;
    MPI_Send(&go, 1, MPI_INT, kSource, kDieTag, MPI_COMM_WORLD);
    ASSERT_TRUE(eventually([] { return !in_view(kSource); })) << "the source never left the view";
    auto again = hsm->find_event(event.token);
    ASSERT_TRUE(again.ok()) << again.error().message;
    EXPECT_TRUE(again->source_lost) << "not marked after its source died";
    int rank = -1;
    int lost = 0;  // the C API (pdm_dm_query_event_source) tells the same
    ASSERT_EQ(pdm_dm_query_event_source(hsm->id(), event.token, &rank, &lost), 0);
    EXPECT_EQ(rank, kSource);
    EXPECT_EQ(lost, 1);
    auto answered = hsm->respond(*again, api::Continue{});
    EXPECT_TRUE(answered.ok()) << answered.error().message;
    auto held = hsm->tokens();
    ASSERT_TRUE(held.ok()) << held.error().message;
    EXPECT_TRUE(held->empty()) << "the answered token is still held";
    end_session(hsm);
  }
  MPI_Barrier(live);
}

}  // namespace
}  // namespace pdm::failure_test

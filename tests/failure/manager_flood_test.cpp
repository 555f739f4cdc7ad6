// The session manager (rank 0) is SIGKILLed during a flood of events
// (issue #4; DESIGN.md §7; CLAIMS.md B1, B2, B5, B19). Ranks 1 and 3 send
// USER events (dm_send_msg), synchronous and asynchronous, to a session on
// rank 2 as fast as it answers them; rank 0 dies a few events in. Events go
// from their source straight to the session node, so none may be lost by the
// manager's death: every synchronous send returns once answered, and the
// session receives each message exactly once: an asynchronous one whose
// delivery the view change cut after the session's node queued it is sent
// again by its source, and the node takes the repeat as delivered (it knows
// the event by source and receipt). Afterwards
// the new manager (rank 1, B1) serves session changes again.
#include <gtest/gtest.h>
#include <mpi.h>
#include <pdm/pdm.h>

#include <map>
#include <string>

#include "runtime/dm/api/session.h"
#include "runtime/node/process_node.h"
#include "tests/failure/failure_support.h"

namespace pdm::failure_test {
namespace {

namespace api = dm::api;
constexpr int kVictim = 0;
constexpr int kSink = 2;
constexpr int kPerSource = 150;  // of each kind, from each of ranks 1 and 3

TEST(ManagerFailure, ManagerKilledDuringAFloodOfEventsLosesNoneB1B2B5B19) {
  std::optional<api::Session> sink;
  dm::SessionId sid = 0;
  if (world_rank() == kSink) {
    auto made = api::Session::create("flood-sink");
    ASSERT_TRUE(made.ok()) << made.error().message;
    sink.emplace(std::move(made).value());
    sid = sink->id();
  }
  MPI_Bcast(&sid, 1, MPI_INT, kSink, MPI_COMM_WORLD);
  MPI_Comm live = world_rank() == kVictim ? MPI_COMM_NULL : survivors({kVictim});
  MPI_Barrier(MPI_COMM_WORLD);
  if (world_rank() == kVictim) {
    int go = 0;
    MPI_Recv(&go, 1, MPI_INT, 1, 98, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    die();
  }

  if (world_rank() == 1 || world_rank() == 3) {
    for (int i = 0; i < kPerSource; ++i) {
      if (world_rank() == 1 && i == 10) {
        const int go = 1;
        MPI_Send(&go, 1, MPI_INT, kVictim, 98, MPI_COMM_WORLD);
      }
      const std::string tag = std::to_string(world_rank()) + ":" + std::to_string(i);
      auto sync = api::send_message(sid, true, "sync " + tag);
      ASSERT_TRUE(sync.ok()) << "sync message " << tag << ": " << sync.error().message;
      auto async = api::send_message(sid, false, "async " + tag);
      ASSERT_TRUE(async.ok()) << "async message " << tag << ": " << async.error().message;
    }
  }
  std::map<std::string, int> seen;  // on the sink: message -> times received
  if (world_rank() == kSink) {
    const std::size_t expected = 2u * 2u * kPerSource;
    const bool all = eventually(
        [&] {
          auto events = sink->get_events(64, false);
          if (events.ok()) {
            for (const api::Event &event : *events) {
              const auto *user = event.as<api::UserEvent>();
              if (user != nullptr) ++seen[user->data];
              if (event.synchronous()) {
                EXPECT_TRUE(sink->respond(event, api::Continue{}).ok());
              }
            }
          }
          return seen.size() >= expected;
        },
        std::chrono::seconds(60));
    EXPECT_TRUE(all) << "received " << seen.size() << " of " << expected << " messages";
    EXPECT_EQ(seen.size(), expected);
  }
  MPI_Barrier(live);
  if (world_rank() == kSink) {
    // Anything queued since the last round (a repeat queued twice) too.
    auto late = sink->get_events(64, false);
    if (late.ok()) {
      for (const api::Event &event : *late) {
        const auto *user = event.as<api::UserEvent>();
        if (user != nullptr) ++seen[user->data];
      }
    }
    for (const auto &[data, times] : seen) EXPECT_EQ(times, 1) << data << " delivered twice";
  }

  // The flood is over; the survivors' view lost rank 0 and rank 1 manages.
  auto &membership = node::process_node()->membership();
  ASSERT_TRUE(eventually([&] { return membership.current()->epoch() >= 2; }));
  EXPECT_EQ(membership.current()->manager(), 1);
  if (world_rank() == 3) {
    auto made = api::Session::create("after-flood");
    EXPECT_TRUE(made.ok()) << made.error().message;
  }
  if (world_rank() == kSink) sink.reset();
  MPI_Barrier(live);
}

}  // namespace
}  // namespace pdm::failure_test

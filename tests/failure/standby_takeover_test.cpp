// A session node (rank 3) is SIGKILLed while a synchronous CREATE event from
// rank 1 waits in its session's queue, and nobody assumes the session by
// hand: the session's group has a standby member on rank 2 (issue #4,
// DESIGN.md §7; CLAIMS.md B4, B6). The survivors must: take the orphan over
// automatically (the orphan ends, its successor is the standby); deliver the
// pending CREATE to the standby's own session, with its token, from its
// source; complete rank 1's blocked open when the standby answers; and route
// the next CREATE (disposed to the dead session directly) to the standby.
// With PDM_SESSION_ORPHAN_TIMEOUT (ctest sets it) much longer than the
// takeover, the orphan timeout must not fire.
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
constexpr int kStandbyNode = 2;

// Creates `path` on this rank; the open blocks until the CREATE is answered.
void create_file(const char *path) {
  const int fd = pdm_open(path, O_CREAT | O_WRONLY, 0640);
  EXPECT_GE(fd, 0) << path << ": " << pdm_last_error();
  if (fd >= 0) {
    EXPECT_EQ(pdm_close(fd), 0);
  }
}

// The standby answers CONTINUE to every CREATE it gets until it saw `count`
// of them, and returns them.
std::vector<api::Event> answer_creates(const api::Session &standby, std::size_t count) {
  std::vector<api::Event> got;
  EXPECT_TRUE(eventually([&] {
    auto events = standby.get_events(8, false);
    if (!events.ok()) return false;
    for (auto &event : *events) {
      auto answered = standby.respond(event, api::Continue{});
      EXPECT_TRUE(answered.ok()) << answered.error().message;
      got.push_back(std::move(event));
    }
    return got.size() >= count;
  })) << "the standby got "
      << got.size() << " of " << count << " CREATE events";
  return got;
}

TEST(SessionFailure, SessionNodeKilledWithASyncEventPendingThenTakenOverByAStandbyB4) {
  std::optional<api::Session> doomed;
  const dm::SessionId doomed_id = make_create_session(kSessionNode, doomed);
  ASSERT_NE(doomed_id, 0);
  if (world_rank() == kSessionNode) {
    ASSERT_TRUE(doomed->join_group("hsm").ok());
  }
  MPI_Barrier(MPI_COMM_WORLD);
  std::optional<api::Session> standby;
  const dm::SessionId standby_id = make_standby(kStandbyNode, "hsm", standby);
  ASSERT_TRUE(session(standby_id).has_value() && session(standby_id)->standby);
  // Created before the kill (see session_takeover_test.cpp).
  MPI_Comm live = world_rank() == kSessionNode ? MPI_COMM_NULL : survivors({kSessionNode});
  MPI_Barrier(MPI_COMM_WORLD);

  if (world_rank() == kSessionNode) {
    auto &events = node::process_node()->events();
    ASSERT_TRUE(eventually([&] { return events.queue_counts()[doomed_id].undelivered >= 1; }))
        << "the CREATE never reached the session";
    doomed->release();
    die();
  }
  if (world_rank() == kSource) {
    create_file("/before-takeover");
    create_file("/after-takeover");  // disposed to the dead session: now the standby's
  }
  if (world_rank() == kStandbyNode) {
    auto got = answer_creates(*standby, 2);
    ASSERT_EQ(got.size(), 2u);
    for (const auto &event : got) {
      EXPECT_EQ(event.type, api::EventType::kCreate);
      EXPECT_EQ(event.source, kSource);
      EXPECT_TRUE(event.synchronous()) << "delivered with a token";
      EXPECT_FALSE(event.source_lost);
    }
    EXPECT_EQ(std::get<api::NamespaceEvent>(got[0].body).name, "before-takeover");
    EXPECT_EQ(std::get<api::NamespaceEvent>(got[1].body).name, "after-takeover");
  }
  MPI_Barrier(live);
  // Every survivor's replica: the orphan ended, the standby answers for it.
  EXPECT_FALSE(session(doomed_id).has_value());
  EXPECT_EQ(control().read([&](const dm::SessionTable &t) { return t.successor(doomed_id); }),
            standby_id);
  EXPECT_TRUE(node::process_node()->fs().stat("/before-takeover").ok());
  EXPECT_TRUE(node::process_node()->fs().stat("/after-takeover").ok());
  if (world_rank() == kStandbyNode) {
    end_session(standby);
  }
  MPI_Barrier(live);
}

}  // namespace
}  // namespace pdm::failure_test

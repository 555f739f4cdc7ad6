// A session node (rank 3) is SIGKILLed with asynchronous POSTCREATE events
// from rank 1 still in its session's queue (issue #4: "every asynchronous
// event not yet delivered" is sent again; DESIGN.md §7; CLAIMS.md B4, B6).
// Rank 3 had handed out the first two of five before it died; the other
// three must reach the session's next node, once each, in their order:
// - PDM_BY_STANDBY 0: rank 2 assumes the session by hand
//   (dm_create_session(oldsid));
// - PDM_BY_STANDBY 1: the session's group has a standby on rank 2, which
//   takes the orphan over and gets its events on its own session.
// Before the kill rank 1 keeps exactly the three (and publishes the count
// that `pdm status` shows). Without the source keeping each asynchronous
// event until its session hands it out (EventCourier), they die with rank 3.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <mpi.h>
#include <pdm/pdm.h>

#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/dm/api/session.h"
#include "runtime/node/process_node.h"
#include "runtime/node/status_publisher.h"
#include "tests/failure/failure_support.h"

#ifndef PDM_BY_STANDBY
#error "define PDM_BY_STANDBY: 0 (assumed by hand) or 1 (taken over by a standby)"
#endif

namespace pdm::failure_test {
namespace {

namespace api = dm::api;
constexpr int kSessionNode = 3;
constexpr int kSource = 1;
constexpr int kTaker = 2;
constexpr int kFiles = 5;
constexpr int kHandedOut = 2;  // taken by rank 3 before it dies

std::string file_name(int i) {
  return "async-" + std::to_string(i);
}

std::string name_of(const api::Event &event) {
  const auto *ns = std::get_if<api::NamespaceEvent>(&event.body);
  return ns == nullptr ? std::string("(not a namespace event)") : ns->name;
}

void expect_postcreates(const std::vector<api::Event> &got, int first) {
  for (std::size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].type, api::EventType::kPostcreate);
    EXPECT_EQ(got[i].source, kSource);
    EXPECT_FALSE(got[i].synchronous());
    EXPECT_EQ(name_of(got[i]), file_name(first + static_cast<int>(i)));
  }
}

TEST(SessionFailure, SessionNodeKilledWithAsyncEventsQueuedTheyReachTheNextNodeB4) {
  std::optional<api::Session> doomed;
  const dm::SessionId doomed_id =
      make_create_session(kSessionNode, doomed, api::EventType::kPostcreate);
  ASSERT_NE(doomed_id, 0);
  std::optional<api::Session> standby;
  dm::SessionId standby_id = 0;
  if (PDM_BY_STANDBY) {
    if (world_rank() == kSessionNode) {
      ASSERT_TRUE(doomed->join_group("hsm").ok());
    }
    MPI_Barrier(MPI_COMM_WORLD);
    standby_id = make_standby(kTaker, "hsm", standby);
    ASSERT_NE(standby_id, 0);
  }
  // Created before the kill (see session_takeover_test.cpp).
  MPI_Comm live = world_rank() == kSessionNode ? MPI_COMM_NULL : survivors({kSessionNode});
  MPI_Barrier(MPI_COMM_WORLD);

  auto &events = node::process_node()->events();
  if (world_rank() == kSource) {
    for (int i = 0; i < kFiles; ++i) {
      const std::string path = "/" + file_name(i);
      const int fd = pdm_open(path.c_str(), O_CREAT | O_WRONLY, 0640);
      ASSERT_GE(fd, 0) << path << ": " << pdm_last_error();
      ASSERT_EQ(pdm_close(fd), 0);
    }
    // Rank 3 tells this rank which ones it handed out: the rest stay here.
    EXPECT_TRUE(eventually([&] { return events.kept_async() == kFiles - kHandedOut; }))
        << "rank 1 keeps " << events.kept_async() << " asynchronous events";
    // What `pdm status` sums: this rank's published count of kept events.
    std::uint64_t published = 0;
    EXPECT_TRUE(eventually([&] {
      std::ifstream in(node::StatusPublisher::queues_path(g_root + "/vol0/run", kSource));
      auto doc = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
      published = doc.is_discarded() ? 0 : doc.value("kept_async", std::uint64_t{0});
      return published == kFiles - kHandedOut;
    })) << "queues-1.json shows "
        << published << " kept events";
  }
  if (world_rank() == kSessionNode) {
    ASSERT_TRUE(eventually([&] { return events.queue_counts()[doomed_id].undelivered >= kFiles; }))
        << "the POSTCREATE events never reached the session";
    auto first = doomed->get_events(kHandedOut, false);
    ASSERT_TRUE(first.ok()) << first.error().message;
    ASSERT_EQ(first->size(), static_cast<std::size_t>(kHandedOut));
    expect_postcreates(*first, 0);
  }
  MPI_Barrier(MPI_COMM_WORLD);  // rank 1 knows what was handed out
  if (world_rank() == kSessionNode) {
    doomed->release();
    die();
  }

  if (world_rank() == kTaker) {
    std::optional<api::Session> taker;
    if (PDM_BY_STANDBY) {
      taker = std::move(standby);
    } else {
      assume_orphan(doomed_id, taker);
      ASSERT_TRUE(taker.has_value());
    }
    auto got = take_events(*taker, kFiles - kHandedOut, "POSTCREATE events");
    ASSERT_EQ(got.size(), static_cast<std::size_t>(kFiles - kHandedOut));
    expect_postcreates(got, kHandedOut);
    standby = std::move(taker);
  }
  MPI_Barrier(live);
  if (world_rank() == kSource) {
    // Every copy was handed out: nothing is left to send again.
    EXPECT_TRUE(eventually([&] { return events.kept_async() == 0; }))
        << "rank 1 still keeps " << events.kept_async() << " asynchronous events";
  }
  MPI_Barrier(live);
  if (world_rank() == kTaker) {
    // Once each: no copy came twice.
    expect_no_events(*standby, "more after the three");
    end_session(standby);
  }
  MPI_Barrier(live);
}

}  // namespace
}  // namespace pdm::failure_test

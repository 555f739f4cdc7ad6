// The courier's last way to drop a kept asynchronous event (issue #4;
// FAILURES.md; CLAIMS.md B2): the session node refuses the delivery with an
// error that time does not cure (not ESTALE, not ESRCH). Nothing is killed:
// a failpoint makes the session node (rank 3) refuse its next delivery with
// EPROTO. Rank 1, the source, must warn and drop its copy. Were it to send
// the copy again, the session would get the event and rank 1 would keep the
// copy until it was handed out: both are checked. The next event goes
// through as usual.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <mpi.h>
#include <pdm/pdm.h>

#include <string>

#include "runtime/base/failpoint.h"
#include "runtime/dm/api/session.h"
#include "runtime/node/process_node.h"
#include "tests/failure/failure_support.h"

namespace pdm::failure_test {
namespace {

namespace api = dm::api;
constexpr int kSessionNode = 3;
constexpr int kSource = 1;

void create_file(const std::string &path) {
  const int fd = pdm_open(path.c_str(), O_CREAT | O_WRONLY, 0640);
  ASSERT_GE(fd, 0) << path << ": " << pdm_last_error();
  ASSERT_EQ(pdm_close(fd), 0);
}

TEST(SessionFailure, AnAsyncEventWhoseDeliveryIsRefusedForGoodIsDroppedAtItsSourceB2) {
  std::optional<api::Session> hsm;
  const dm::SessionId id = make_create_session(kSessionNode, hsm, api::EventType::kPostcreate);
  ASSERT_NE(id, 0);
  if (world_rank() == kSessionNode) failpoint::arm("event_service.refuse_delivery", [] {});
  MPI_Barrier(MPI_COMM_WORLD);

  auto &events = node::process_node()->events();
  if (world_rank() == kSource) {
    create_file("/refused-0");
    EXPECT_TRUE(eventually([&] { return events.kept_async() == 0; }))
        << "rank 1 still keeps " << events.kept_async() << " asynchronous events";
  }
  MPI_Barrier(MPI_COMM_WORLD);
  if (world_rank() == kSessionNode) {
    expect_no_events(*hsm, "a refused delivery");
  }
  MPI_Barrier(MPI_COMM_WORLD);
  if (world_rank() == kSource) create_file("/refused-1");
  MPI_Barrier(MPI_COMM_WORLD);
  if (world_rank() == kSessionNode) {
    const auto got = take_events(*hsm, 1, "POSTCREATE events after the refused one");
    ASSERT_EQ(got.size(), 1u);
    const auto *ns = got[0].as<api::NamespaceEvent>();
    ASSERT_NE(ns, nullptr);
    EXPECT_EQ(ns->name, "refused-1");
  }
  if (world_rank() == kSessionNode) end_session(hsm);
  MPI_Barrier(MPI_COMM_WORLD);
}

}  // namespace
}  // namespace pdm::failure_test

// A member killed after the COMMIT of a view change (issue #4: "a rank
// killed during a view change"; "each test is bounded in time and fails
// rather than hangs"; CLAIMS.md B5). Rank 3 is SIGKILLed; in the view change
// that removes it, rank 2 dies at the failpoint view_change.after_commit:
// it ACKed and got the COMMIT, so the coordinator committed a view with it,
// and the survivors (0 and 1) enter MPI_Comm_create_group, which waits for
// rank 2 for ever (Open MPI 4.1 without ULFM). Nothing can get them out of
// it; what pdm promises is that the job does not hang: each survivor stops
// its process once cluster.view_build_timeout (3 s here) has passed, after
// logging why (runtime/cluster/build_deadline.h). The survivors record
// their verdict at the failpoint view_change.build_deadline, just before
// that stop: reaching it is the test passing; a survivor whose main thread
// is still waiting 60 s later fails.
#include <gtest/gtest.h>
#include <mpi.h>

#include "runtime/base/failpoint.h"
#include "tests/failure/failure_support.h"

namespace pdm::failure_test {
namespace {

constexpr int kFirstVictim = 3;
constexpr int kSecondVictim = 2;

TEST(ViewBuildFailure, AMemberKilledAfterTheCommitStopsTheSurvivorsInsteadOfHangingB5) {
  if (world_rank() == kSecondVictim) {
    failpoint::arm("view_change.after_commit", [] { die(); });
  } else if (world_rank() != kFirstVictim) {
    failpoint::arm("view_change.build_deadline", [] { write_verdict("ok"); });
  }
  MPI_Barrier(MPI_COMM_WORLD);
  if (world_rank() == kFirstVictim) die();
  // Every rank left is stopped from its progress thread: the second victim
  // at its failpoint, the survivors by the build deadline.
  EXPECT_TRUE(eventually([] { return false; }, std::chrono::seconds(60)))
      << "rank " << world_rank() << " was not stopped within 60 s";
}

}  // namespace
}  // namespace pdm::failure_test

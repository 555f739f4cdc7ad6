// The metadata server (rank 0, also the session manager) is SIGKILLed in
// the middle of an LMDB write transaction (issue #4; DESIGN.md §7; CLAIMS.md
// B20), at a failpoint (runtime/base/failpoint.h) while the other ranks make
// exclusive creates (O_CREAT | O_EXCL), so one create is cut with it:
//
//   PDM_CUT "meta_store.before_commit": after the operation made its
//     changes and wrote its reply, before mdb_txn_commit. The store is
//     opened with MDB_NOLOCK, and LMDB writes copy-on-write pages with the
//     meta page last, so the next server (rank 1) opens the store as of the
//     last commit: the cut operation is gone, and its repeat applies it once.
//   "meta_store.after_commit": after the commit, before the reply is sent.
//     The operation's changes and its reply are one commit
//     (MetaStore::ApplyingOp), so the next server answers the repeat with
//     the reply. (Before they were, the repeat failed with EIO, its outcome
//     unknown. This test also caught a repeat that became local, at the next
//     server itself, going without its operation id: EEXIST.)
//
// Either way every create succeeds, none fails with EEXIST or EIO, every
// file is there, and the files made before the kill too.
#include <errno.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <mpi.h>
#include <pdm/pdm.h>

#include <string>

#include "runtime/base/failpoint.h"
#include "runtime/node/process_node.h"
#include "tests/failure/failure_support.h"

namespace pdm::failure_test {
namespace {

constexpr int kMetadataServer = 0;
constexpr int kNextServer = 1;  // the lowest survivor owns volume 0 next
constexpr int kCreates = 20;

std::string path_of(int rank, int i) {
  return "/excl-" + std::to_string(rank) + "-" + std::to_string(i);
}

TEST(MetadataFailure, ServerKilledInsideAWriteTransactionEachCreateAppliedOnceB20) {
  make_file_of_this_rank("/before-");
  if (HasFatalFailure()) return;
  ASSERT_EQ(node::process_node()->fs().metadata_rank(), kMetadataServer);
  MPI_Comm live = world_rank() == kMetadataServer ? MPI_COMM_NULL : survivors({kMetadataServer});
  MPI_Barrier(MPI_COMM_WORLD);  // every rank's creates above are done
  if (world_rank() == kMetadataServer) failpoint::arm(PDM_CUT, [] { die(); });
  MPI_Barrier(MPI_COMM_WORLD);
  if (world_rank() == kMetadataServer) {
    // The first write transaction after the barrier is cut; the creates of
    // the others bring it at once.
    ASSERT_TRUE(eventually([] { return false; }, std::chrono::seconds(60)))
        << "the failpoint was never hit";
  }

  // Rank 1 creates first, alone: the cut operation is its own, and its
  // repeat goes to itself, the next server (the subtle case: a local call
  // that must still carry the operation id). The others create afterwards.
  if (world_rank() != kNextServer) MPI_Barrier(live);
  for (int i = 0; i < kCreates; ++i) {
    const std::string path = path_of(world_rank(), i);
    const int fd = pdm_open(path.c_str(), O_CREAT | O_EXCL | O_WRONLY, 0640);
    EXPECT_GE(fd, 0) << path << ": " << pdm_last_error()
                     << (errno == EEXIST ? " (applied twice)" : "")
                     << (errno == EIO ? " (applied without its reply)" : "");
    if (fd >= 0) {
      EXPECT_EQ(pdm_close(fd), 0) << path << ": " << pdm_last_error();
    }
  }
  if (world_rank() == kNextServer) MPI_Barrier(live);
  MPI_Barrier(live);
  auto view = node::process_node()->membership().current();
  EXPECT_EQ(view->members(), (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(node::process_node()->fs().metadata_rank(), kNextServer);
  for (int rank = 0; rank < world_size(); ++rank) {
    EXPECT_TRUE(node::process_node()->fs().stat("/before-" + std::to_string(rank)).ok())
        << "lost the file rank " << rank << " made before the kill";
    if (rank == kMetadataServer) continue;
    for (int i = 0; i < kCreates; ++i) {
      EXPECT_TRUE(node::process_node()->fs().stat(path_of(rank, i)).ok())
          << path_of(rank, i) << " is missing";
    }
  }
  expect_write_and_read_back("/after-" + std::to_string(world_rank()), 200000,
                             static_cast<char>('m' + world_rank()));
  MPI_Barrier(live);
}

}  // namespace
}  // namespace pdm::failure_test

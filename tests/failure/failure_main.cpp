// main() of every failure test binary: MPI with MPI_THREAD_MULTIPLE, the
// file system made and mounted by all ranks while all live, the tests (one
// of which kills ranks), then pdm_stop and pdm_finalize (MPI_Finalize, bounded) on the survivors
// only. No collective over MPI_COMM_WORLD after the tests: a dead rank
// would make it hang. Each rank records its own verdict (write_verdict), which
// run.sh checks: mpirun --enable-recovery exits 0 whatever the ranks return.
#include <gtest/gtest.h>
#include <mpi.h>
#include <pdm/pdm.h>

#include <cstdio>

#include "tests/failure/failure_support.h"

namespace pdm::failure_test {
std::string g_root;  // the file system's directory (tests remove it at the end)
}

int main(int argc, char **argv) {
  int provided = 0;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided);
  if (provided < MPI_THREAD_MULTIPLE) {
    std::fprintf(stderr, "MPI lacks MPI_THREAD_MULTIPLE\n");
    MPI_Abort(MPI_COMM_WORLD, 2);
  }
  ::testing::InitGoogleTest(&argc, argv);
  const int rank = pdm::failure_test::world_rank();
  if (rank != 0) ::testing::GTEST_FLAG(brief) = true;
  pdm::failure_test::g_root = pdm::failure_test::make_and_mount();
  int failed = RUN_ALL_TESTS() != 0 ? 1 : 0;
  // pdm_stop over the survivors (the view holds only them by now).
  if (pdm_stop() != 0) {
    std::fprintf(stderr, "[rank %d] pdm_stop failed: %s\n", rank, pdm_last_error());
    failed = 1;
  }
  if (failed) std::fprintf(stderr, "[rank %d] FAILED\n", rank);
  pdm::failure_test::write_verdict(failed ? "failed" : "ok");
  // pdm_finalize, not MPI_Finalize: after the kill Open MPI's closing fence
  // can hang (docs/FAILURES.md §1); the verdict is decided already.
  pdm_finalize(failed);
  return failed;
}

#include "runtime/node/finalize_guard.h"

#include <mpi.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <thread>

namespace pdm::node {
namespace {

// Process-wide on purpose: the guard outlives the Node (pdm_stop runs
// before MPI_Finalize), and a job either lost ranks or did not.
std::atomic<bool> g_ranks_lost{false};
std::atomic<long long> g_timeout_ms{0};

}  // namespace

void note_ranks_lost(std::chrono::milliseconds finalize_timeout) {
  g_timeout_ms.store(finalize_timeout.count());
  g_ranks_lost.store(true);
}

bool ranks_were_lost() {
  return g_ranks_lost.load();
}

int finalize_mpi(int exit_status, int (*finalize)()) {
  if (!g_ranks_lost.load()) return finalize();
  const std::chrono::milliseconds limit{g_timeout_ms.load()};
  // Detached: if MPI_Finalize returns, the program goes on and the thread
  // dies with the process; it touches nothing but its own copies.
  std::thread([limit, exit_status] {
    std::this_thread::sleep_for(limit);
    std::fprintf(stderr,
                 "pdm: MPI_Finalize did not return within %lld ms after this job lost ranks "
                 "(Open MPI's closing PMIx fence, see docs/FAILURES.md); exiting with status %d\n",
                 static_cast<long long>(limit.count()), exit_status);
    std::fflush(nullptr);
    ::_exit(exit_status);
  }).detach();
  return finalize();
}

}  // namespace pdm::node

#include "apps/mpiio/runtime.h"

#include <mpi.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "apps/hsm/agent/fs_archives.h"
#include "runtime/mpi/collective.h"
#include "runtime/node/finalize_guard.h"
#include "runtime/node/process_node.h"

namespace pdm::mpiio {
namespace {
std::atomic<bool> g_started{false};
std::atomic<bool> g_failed{false};
MPI_Comm g_world = MPI_COMM_NULL;
// This rank's recall agent (docs/MPIIO.md, Recall); null without one.
std::unique_ptr<hsm::RecallAgent> g_agent;

bool verbose() {
  const char *v = std::getenv("PDM_MPIIO_VERBOSE");
  return v != nullptr && std::strcmp(v, "1") == 0;
}

int world_rank() {
  int rank = 0;
  MPI_Comm_rank(g_world, &rank);
  return rank;
}

// Starts the recall agent on every rank when the file system has an archive
// and PDM_HSM_RECALL is not 0. All or none: if a rank cannot start its
// agent, every rank stops its own (a read of a migrated file then fails
// with MPI_ERR_IO everywhere, as without an agent) and rank 0 says why.
void start_agent(const char *fs_config) {
  if (const char *recall = std::getenv("PDM_HSM_RECALL");
      recall != nullptr && std::strcmp(recall, "0") == 0) {
    return;
  }
  // HDF5 archives are read by pdm-hsm-fetch, not in this process: the
  // application may be using the (not thread-safe) HDF5 library itself.
  auto agent = hsm::start_recall_agent(fs_config, {}, hsm::FetchPath::kHdf5InHelper);
  int ok = agent.ok() ? 1 : 0;
  MPI_Allreduce(MPI_IN_PLACE, &ok, 1, MPI_INT, MPI_MIN, g_world);
  if (ok == 1) {
    g_agent = std::move(*agent);
    return;
  }
  if (!agent.ok()) {
    std::fprintf(stderr,
                 "pdm-mpiio: rank %d: cannot start the HSM recall agent: %s; reads of migrated "
                 "files will fail with MPI_ERR_IO\n",
                 world_rank(), agent.error().message.c_str());
  } else if (*agent) {
    (void)(*agent)->stop();
  }
}

// Every rank's agent serves until no rank reads any more (a rank's read of
// a migrated file is recalled by the agent on its own rank, B18).
Status stop_agent() {
  if (!g_agent) return {};
  // With backoff, not MPI_Barrier's spin: a rank still reading may need
  // this rank's progress thread for its recall.
  MPI_Request request = MPI_REQUEST_NULL;
  MPI_Ibarrier(g_world, &request);
  Status waited =
      mpi::wait_request(request, "waiting for every rank before the recall agents stop");
  Status stopped = g_agent->stop();
  if (verbose()) {
    const hsm::RecallStats stats = g_agent->stats();
    std::fprintf(stderr,
                 "pdm-mpiio: rank %d: recall agent: %llu events, %llu recalls, %llu failed, "
                 "%llu made stale\n",
                 world_rank(), static_cast<unsigned long long>(stats.events),
                 static_cast<unsigned long long>(stats.recalls),
                 static_cast<unsigned long long>(stats.failed),
                 static_cast<unsigned long long>(stats.stale));
  }
  g_agent.reset();
  return waited.ok() ? stopped : waited;
}

}  // namespace

const char *configured_fs() {
  const char *fs = std::getenv("PDM_FS");
  return fs != nullptr && *fs != '\0' ? fs : nullptr;
}

Status start_runtime(const char *fs_config) {
  MPI_Comm_dup(MPI_COMM_WORLD, &g_world);
  Status started = node::start_process_node(g_world, fs_config);
  if (!started.ok()) {
    g_failed = true;
    MPI_Comm_free(&g_world);
    return started;
  }
  g_started = true;
  start_agent(fs_config);
  return {};
}

Status stop_runtime() {
  if (!g_started.exchange(false)) return {};
  Status agent = stop_agent();
  Status stopped = node::stop_process_node();
  // After a failure the duplicate holds a dead rank: freeing it would hang
  // (docs/FAILURES.md §1, consequence 2). It is abandoned instead.
  if (!node::ranks_were_lost()) MPI_Comm_free(&g_world);
  if (!agent.ok()) return agent;
  return stopped;
}

pfs::FileSystem *mounted_fs() {
  node::Node *node = node::process_node();
  return node == nullptr ? nullptr : &node->fs();
}

Result<std::vector<int>> pdm_ranks_of(MPI_Comm comm) {
  node::Node *node = node::process_node();
  if (node == nullptr) return make_error(EIO, "pdm is not running in this process");
  return node->membership().current()->member_ids_of(comm);
}

bool start_failed() {
  return g_failed;
}

}  // namespace pdm::mpiio

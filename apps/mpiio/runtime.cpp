#include "apps/mpiio/runtime.h"

#include <mpi.h>

#include <atomic>
#include <cstdlib>

#include "runtime/node/process_node.h"

namespace pdm::mpiio {
namespace {
std::atomic<bool> g_started{false};
std::atomic<bool> g_failed{false};
MPI_Comm g_world = MPI_COMM_NULL;
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
  return {};
}

Status stop_runtime() {
  if (!g_started.exchange(false)) return {};
  Status stopped = node::stop_process_node();
  MPI_Comm_free(&g_world);
  return stopped;
}

pfs::FileSystem *mounted_fs() {
  node::Node *node = node::process_node();
  return node == nullptr ? nullptr : &node->fs();
}

bool start_failed() {
  return g_failed;
}

}  // namespace pdm::mpiio

#include "apps/pdm/recall_mount.h"

#include <memory>

#include "apps/hsm/agent/fs_archives.h"
#include "runtime/node/process_node.h"

namespace pdm::cli {

int with_mounted_recalling(Invocation &invocation, const std::function<int(node::Node &)> &work) {
  if (auto started =
          node::start_process_node(MPI_COMM_WORLD, invocation.fs_config(), &invocation.options());
      !started.ok()) {
    return invocation.fail(started.error());
  }
  auto agent = hsm::start_recall_agent(invocation.fs_config());
  int ok = agent.ok() ? 1 : 0;
  MPI_Allreduce(MPI_IN_PLACE, &ok, 1, MPI_INT, MPI_MIN, invocation.world().get());
  int code = kExitOk;
  if (ok == 0) {
    code = agent.ok() ? kExitFailed : invocation.fail(agent.error(), "recall agent");
  } else {
    code = work(*node::process_node());
    // Every rank's agent stays until no rank reads any more.
    MPI_Barrier(invocation.world().get());
  }
  if (agent.ok() && *agent) {
    if (auto stopped = (*agent)->stop(); !stopped.ok()) {
      code = std::max(code, invocation.fail(stopped.error(), "recall agent"));
    }
  }
  if (auto stopped = node::stop_process_node(); !stopped.ok()) {
    invocation.fail(stopped.error(), "unmount");
    code = std::max(code, kExitFailed);
  }
  return code;
}

}  // namespace pdm::cli

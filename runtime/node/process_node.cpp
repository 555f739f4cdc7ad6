#include "runtime/node/process_node.h"

#include <memory>
#include <mutex>

namespace pdm::node {
namespace {
std::mutex g_mutex;  // orders start and stop against each other
std::unique_ptr<Node> g_node;
}  // namespace

Status start_process_node(MPI_Comm comm, const std::string &fs_config,
                          const boost::program_options::variables_map *command_line) {
  std::lock_guard lock(g_mutex);
  if (g_node) return make_error(EBUSY, "pdm is already started in this process");
  PDM_ASSIGN_OR_RETURN(g_node, Node::start(comm, fs_config, command_line));
  return {};
}

Status stop_process_node() {
  std::lock_guard lock(g_mutex);
  if (!g_node) return make_error(ENXIO, "pdm is not started");
  auto stopped = g_node->stop();
  g_node.reset();
  return stopped;
}

Node *process_node() {
  return g_node.get();
}

}  // namespace pdm::node

// The process's node: the one Node that pdm_start makes and every C API call
// uses. Tools that also want the C++ API (pdm, pdm-demo, pdm-bench) start it
// here, with their command-line settings, and then use both.
#pragma once

#include <mpi.h>

#include <string>

#include "runtime/node/node.h"

namespace pdm::node {

// Collective: what pdm_start does. EBUSY if this process already started one.
Status start_process_node(MPI_Comm comm, const std::string &fs_config,
                          const boost::program_options::variables_map *command_line = nullptr);
// Collective: what pdm_stop does.
Status stop_process_node();
// The running node, or nullptr before start / after stop.
Node *process_node();

}  // namespace pdm::node

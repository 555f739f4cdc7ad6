// What every pdm-hsm command that works on the file system shares: the
// mount with the process node (so that the C++ DM API works), the archives
// of the fs config, this rank's recall agent (every rank is an instance of
// the parallel DM application, with its own session in the group
// "pdm-hsm"), and the collective helpers that bring per-rank results to
// rank 0, which alone prints.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "apps/cli/command.h"
#include "apps/hsm/agent/archive_set.h"
#include "apps/hsm/agent/recall_agent.h"
#include "apps/hsm/scan/policy_scan.h"
#include "pfs/meta/inode.h"
#include "runtime/dm/api/handles.h"

namespace pdm::cli {

namespace api = pdm::dm::api;

struct HsmJob {
  Invocation &invocation;
  node::Node &node;
  std::shared_ptr<hsm::ArchiveSet> archives;
  hsm::RecallAgent &agent;

  const api::Session &session() const { return agent.session(); }
  pfs::FileSystem &fs() const { return node.fs(); }
};

// --max-recalls, for every command that starts an agent.
void add_agent_options(po::options_description &options);

// Collective: mounts the file system as the process node, opens the
// archive registry, starts this rank's recall agent, runs work on every
// rank (it returns this rank's exit code), then stops the agent once every
// rank is done and unmounts. A failure to start is printed once.
int with_hsm(Invocation &invocation, const std::function<int(HsmJob &)> &work);

// The walk and the sharing of files among the ranks are the library's
// (apps/hsm/scan/policy_scan.h), shared with pdm-bench hsm.
using hsm::find_files;
using hsm::FoundFile;
using hsm::handle_for;

// Collective: rank 0 gets every rank's lines, rank by rank (others get
// nothing).
std::vector<std::string> gather_lines(const mpi::Comm &world,
                                      const std::vector<std::string> &lines);
// Collective: the element-wise sum over the ranks, on every rank.
template <std::size_t N>
std::array<std::uint64_t, N> sum_over_ranks(const mpi::Comm &world,
                                            std::array<std::uint64_t, N> values) {
  std::array<std::uint64_t, N> total{};
  MPI_Allreduce(values.data(), total.data(), static_cast<int>(N), MPI_UINT64_T, MPI_SUM,
                world.get());
  return total;
}

}  // namespace pdm::cli

namespace pdm::cli {

// Collective: rank 0 expands `paths` (a file; a directory: every file below
// it), every rank gets the list and takes every size-th file (round robin,
// so that big directories spread over the ranks). Paths that cannot be
// expanded are error lines (on rank 0).
struct FileShare {
  std::vector<FoundFile> mine;
  std::vector<std::string> errors;  // rank 0 only
  std::uint64_t total = 0;          // files over all ranks
};
Result<FileShare> share_files(HsmJob &job, const std::vector<std::string> &paths);

// The error line of each failure, as the commands print them.
std::vector<std::string> error_lines(const std::vector<hsm::FileError> &errors);

// Rank 0 prints the error lines of every rank (stderr) and returns how many.
std::size_t print_errors(const mpi::Comm &world, const std::vector<std::string> &errors);

}  // namespace pdm::cli

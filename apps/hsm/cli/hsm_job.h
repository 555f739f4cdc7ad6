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

// A regular file found by a walk, with its inode.
struct FoundFile {
  std::string path;
  pfs::Inode inode;
};
// The regular files at `path`: itself if it is one, every file below it if
// it is a directory (depth first, names in order).
Result<std::vector<FoundFile>> find_files(pfs::FileSystem &fs, const std::string &path);

// Collective: rank 0 gets every rank's lines, rank by rank (others get
// nothing).
std::vector<std::string> gather_lines(const mpi::Comm &world,
                                      const std::vector<std::string> &lines);
// Collective: rank 0's strings (paths: any byte but NUL) on every rank.
Result<std::vector<std::string>> share_lines(const mpi::Comm &world,
                                             std::vector<std::string> lines);
// Collective: the element-wise sum over the ranks, on every rank.
template <std::size_t N>
std::array<std::uint64_t, N> sum_over_ranks(const mpi::Comm &world,
                                            std::array<std::uint64_t, N> values) {
  std::array<std::uint64_t, N> total{};
  MPI_Allreduce(values.data(), total.data(), static_cast<int>(N), MPI_UINT64_T, MPI_SUM,
                world.get());
  return total;
}

// The handle of a path (ENOENT etc.).
Result<api::Handle> handle_for(const FoundFile &file);

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

// Rank 0 prints the error lines of every rank (stderr) and returns how many.
std::size_t print_errors(const mpi::Comm &world, const std::vector<std::string> &errors);

}  // namespace pdm::cli

#include "apps/hsm/cli/hsm_job.h"

#include <sys/stat.h>

#include <cstdio>

#include "apps/hsm/agent/fs_archives.h"
#include "apps/hsm/agent/recall_settings.h"
#include "runtime/node/process_node.h"

namespace pdm::cli {
namespace {

// True on every rank iff ok on every rank.
bool all_ranks(const mpi::Comm &world, bool ok) {
  int mine = ok ? 1 : 0;
  int every = 0;
  MPI_Allreduce(&mine, &every, 1, MPI_INT, MPI_MIN, world.get());
  return every == 1;
}

}  // namespace

void add_agent_options(po::options_description &options) {
  options.add_options()("max-recalls", po::value<std::string>()->value_name("N"),
                        "recalls one rank makes at once, 1-256 (more events wait in its queue); "
                        "default: PDM_HSM_MAX_RECALLS, else max_recalls in the [hsm] section "
                        "of the fs config, else 4");
}

int with_hsm(Invocation &invocation, const std::function<int(HsmJob &)> &work) {
  const mpi::Comm &world = invocation.world();
  if (auto started =
          node::start_process_node(MPI_COMM_WORLD, invocation.fs_config(), &invocation.options());
      !started.ok()) {
    return invocation.fail(started.error());
  }
  int code = kExitOk;
  auto archives = hsm::archives_of(invocation.fs_config());
  std::unique_ptr<hsm::RecallAgent> agent;
  Error failure;
  if (!archives.ok()) {
    failure = archives.error();
  } else {
    std::optional<std::string> flag;
    if (invocation.options().count("max-recalls")) {
      flag = invocation.options()["max-recalls"].as<std::string>();
    }
    auto started = [&]() -> Result<std::unique_ptr<hsm::RecallAgent>> {
      hsm::RecallAgentOptions options;
      PDM_ASSIGN_OR_RETURN(options.max_recalls,
                           hsm::resolve_max_recalls(hsm::max_recalls_sources(
                               node::process_node()->fs().config(), std::move(flag))));
      return hsm::RecallAgent::start(*archives, options);
    }();
    if (started.ok()) {
      agent = std::move(*started);
    } else {
      failure = started.error();
    }
  }
  if (!all_ranks(world, agent != nullptr)) {
    // One message is enough: rank 0's, or a generic one if rank 0 started.
    if (invocation.is_root()) {
      invocation.fail(agent ? Error{EIO, "the recall agent did not start on every rank"} : failure);
    }
    code = kExitFailed;
  } else {
    HsmJob job{invocation, *node::process_node(), *archives, *agent};
    code = work(job);
    // Every rank's agent stays until no rank can raise an event any more.
    MPI_Barrier(world.get());
  }
  if (agent) {
    if (auto stopped = agent->stop(); !stopped.ok()) {
      invocation.fail(stopped.error(), "recall agent");
      code = std::max(code, kExitFailed);
    }
  }
  if (auto stopped = node::stop_process_node(); !stopped.ok()) {
    invocation.fail(stopped.error(), "unmount");
    code = std::max(code, kExitFailed);
  }
  return code;
}

std::vector<std::string> gather_lines(const mpi::Comm &world,
                                      const std::vector<std::string> &lines) {
  std::string mine;
  for (const auto &line : lines) mine += line + '\n';
  int length = static_cast<int>(mine.size());
  std::vector<int> lengths(static_cast<std::size_t>(world.size()));
  MPI_Gather(&length, 1, MPI_INT, lengths.data(), 1, MPI_INT, 0, world.get());
  std::vector<int> offsets(lengths.size());
  int total = 0;
  for (std::size_t r = 0; r < lengths.size(); ++r) {
    offsets[r] = total;
    total += lengths[r];
  }
  std::string all(world.rank() == 0 ? static_cast<std::size_t>(total) : 0, '\0');
  MPI_Gatherv(mine.data(), length, MPI_CHAR, all.data(), lengths.data(), offsets.data(), MPI_CHAR,
              0, world.get());
  std::vector<std::string> out;
  for (std::size_t start = 0, end; (end = all.find('\n', start)) != std::string::npos;
       start = end + 1) {
    out.push_back(all.substr(start, end - start));
  }
  return out;
}

}  // namespace pdm::cli

namespace pdm::cli {

Result<FileShare> share_files(HsmJob &job, const std::vector<std::string> &paths) {
  PDM_ASSIGN_OR_RETURN(auto shared, hsm::share_files(job.invocation.world(), job.fs(), paths));
  return FileShare{std::move(shared.mine), error_lines(shared.errors), shared.total};
}

std::vector<std::string> error_lines(const std::vector<hsm::FileError> &errors) {
  std::vector<std::string> lines;
  for (const auto &failure : errors) lines.push_back(error_text(failure.error, failure.path));
  return lines;
}

std::size_t print_errors(const mpi::Comm &world, const std::vector<std::string> &errors) {
  const auto lines = gather_lines(world, errors);
  for (const auto &line : lines) std::fprintf(stderr, "%s\n", line.c_str());
  std::fflush(stderr);
  return lines.size();
}

}  // namespace pdm::cli

// pdm: the command-line tool of a pdm file system. `pdm COMMAND ...` runs
// as a singleton or under mpiexec; every rank runs the same command (see
// command.h). The dispatch table below is the list `pdm --help` prints.
#include <mpi.h>

#include <algorithm>
#include <exception>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "apps/pdm/command.h"
#include "runtime/mpi/collective.h"
#include "runtime/mpi/job_exit.h"

namespace pdm::cli {
namespace {

std::vector<Command> commands() {
  std::vector<Command> all;
  for (auto make : {mkfs_command, put_command, get_command, cat_command, ls_command, stat_command,
                    mkdir_command, rm_command, mv_command, truncate_command, df_command,
                    fsck_command, sessions_command, events_command}) {
    all.push_back(make());
  }
  return all;
}

std::string top_help(const std::vector<Command> &all) {
  std::string text =
      "Usage: pdm COMMAND [options] [arguments]\n"
      "       pdm --help | --version\n"
      "\n"
      "The command-line tool of pdm, a parallel file system whose I/O servers are the ranks of\n"
      "an MPI job. Run it alone (every volume is then served by this process) or under\n"
      "mpiexec (each rank serves some of the volumes; put and get split large files among\n"
      "the ranks). Output comes from rank 0 only.\n"
      "\n"
      "Commands:\n";
  for (const Command &command : all) {
    text += fmt::format("  {:<10}{}\n", command.name, command.summary);
  }
  text +=
      "\n"
      "Every command but mkfs works on the file system named by --fs FS or, without it, the\n"
      "PDM_FS environment variable: the config file 'pdm mkfs' wrote. Paths inside the file\n"
      "system are absolute (\"/dir/file\").\n"
      "Run 'pdm COMMAND --help' for the options of a command and the runtime setting flags.\n"
      "\n"
      "Exit status: 0 ok, 1 the operation failed, 2 usage error.\n";
  return text;
}

int run_with_mpi(const Command &command, CommandLine line, int &argc, char **&argv) {
  int provided = 0;
  if (MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided) != MPI_SUCCESS) {
    fmt::print(stderr, "pdm: MPI_Init_thread failed\n");
    return kExitFailed;
  }
  int code = kExitOk;
  {
    auto world = mpi::Comm::dup(MPI_COMM_WORLD);
    if (!world.ok()) {
      if (is_printing_rank()) fmt::print(stderr, "{}\n", error_text(world.error()));
      code = kExitFailed;
    } else {
      Invocation invocation(command, std::move(line), *world);
      try {
        code = command.run(invocation);
      } catch (const std::exception &e) {
        // Only allocation failures (a chunk buffer, say) and library bugs get here.
        fmt::print(stderr, "pdm: {}: rank {}: internal error: {}\n", command.name,
                   invocation.rank(), e.what());
        code = kExitFailed;
      }
      code = mpi::agree_exit_code(*world, code, kExitFailed);
    }
  }
  MPI_Finalize();
  return code;
}

int run(int argc, char **argv) {
  const std::vector<Command> all = commands();
  const std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {
    if (is_printing_rank()) fmt::print(stderr, "{}", top_help(all));
    return kExitUsage;
  }
  const std::string &first = args.front();
  if (first == "--help" || first == "-h" || first == "help") {
    if (is_printing_rank()) fmt::print("{}", top_help(all));
    return kExitOk;
  }
  if (first == "--version") {
    if (is_printing_rank()) fmt::print("pdm {}\n", PDM_VERSION);
    return kExitOk;
  }
  const auto command =
      std::find_if(all.begin(), all.end(), [&](const Command &c) { return c.name == first; });
  if (command == all.end()) {
    if (is_printing_rank()) {
      fmt::print(stderr, "pdm: '{}' is not a pdm command; see 'pdm --help'\n", first);
    }
    return kExitUsage;
  }
  // The command line is parsed before MPI starts: --help and usage errors
  // need no MPI, so `pdm put --help` works on a login node without a launcher.
  auto line = parse_command_line(*command, std::span(args).subspan(1));
  if (!line.ok()) {
    if (is_printing_rank()) fmt::print(stderr, "{}\n", line.error().message);
    return kExitUsage;
  }
  if (line->help) {
    if (is_printing_rank()) fmt::print("{}", help_text(*command));
    return kExitOk;
  }
  return run_with_mpi(*command, std::move(line).value(), argc, argv);
}

}  // namespace
}  // namespace pdm::cli

int main(int argc, char **argv) {
  return pdm::cli::run(argc, argv);
}

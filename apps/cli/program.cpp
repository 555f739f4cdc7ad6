#include "apps/cli/program.h"

#include <mpi.h>

#include <algorithm>
#include <exception>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "runtime/mpi/collective.h"
#include "runtime/mpi/job_exit.h"
#include "runtime/node/finalize_guard.h"

namespace pdm::cli {
namespace {

std::string top_help(const Program &program) {
  std::string text = program.intro;
  text += "\nCommands:\n";
  std::size_t width = 8;
  for (const Command &command : program.commands) width = std::max(width, command.name.size() + 2);
  for (const Command &command : program.commands) {
    text += fmt::format("  {:<{}}{}\n", command.name, width, command.summary);
  }
  text += "\n" + program.trailer;
  return text;
}

int run_with_mpi(const Command &command, CommandLine line, int &argc, char **&argv) {
  int provided = 0;
  if (MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided) != MPI_SUCCESS) {
    fmt::print(stderr, "{}: MPI_Init_thread failed\n", program_name());
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
        fmt::print(stderr, "{}: {}: rank {}: internal error: {}\n", program_name(), command.name,
                   invocation.rank(), e.what());
        code = kExitFailed;
      }
      code = mpi::agree_exit_code(*world, code, kExitFailed);
    }
  }
  // Bounded when ranks died: Open MPI's closing fence can hang then
  // (docs/FAILURES.md §1); `code` is decided already.
  pdm::node::finalize_mpi(code);
  return code;
}

}  // namespace

int run_program(const Program &program, int argc, char **argv) {
  set_program_name(program.name);
  const std::vector<Command> &all = program.commands;
  const std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {
    if (is_printing_rank()) fmt::print(stderr, "{}", top_help(program));
    return kExitUsage;
  }
  const std::string &first = args.front();
  if (first == "--help" || first == "-h" || first == "help") {
    if (is_printing_rank()) fmt::print("{}", top_help(program));
    return kExitOk;
  }
  if (first == "--version") {
    if (is_printing_rank()) fmt::print("{} {}\n", program.name, program.version);
    return kExitOk;
  }
  const auto command =
      std::find_if(all.begin(), all.end(), [&](const Command &c) { return c.name == first; });
  if (command == all.end()) {
    if (is_printing_rank()) {
      fmt::print(stderr, "{0}: '{1}' is not a {0} command; see '{0} --help'\n", program.name,
                 first);
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

}  // namespace pdm::cli

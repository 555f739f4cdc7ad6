// A multi-command program (`pdm`, `pdm-hsm`): `PROGRAM COMMAND [options]
// [arguments]`, run alone or under mpiexec. The command line is parsed
// before MPI starts, so --help, --version and usage errors need no
// launcher; then MPI starts (MPI_THREAD_MULTIPLE), every rank runs the
// command, and the exit code is agreed across ranks (the highest wins).
#pragma once

#include <string>
#include <vector>

#include "apps/cli/command.h"

namespace pdm::cli {

struct Program {
  std::string name;     // "pdm-hsm"
  std::string version;  // printed by --version
  // The text of `PROGRAM --help` before and after the list of commands.
  std::string intro;
  std::string trailer;
  std::vector<Command> commands;  // in the order --help lists them
};

// The whole of main(): returns the process exit code.
int run_program(const Program &program, int argc, char **argv);

}  // namespace pdm::cli

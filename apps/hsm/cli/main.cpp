// pdm-hsm: the HSM DM application of pdm (issue #6). `pdm-hsm COMMAND ...`
// runs alone or under mpiexec; every rank runs the same command (see
// apps/cli/command.h). The list below is the one `pdm-hsm --help` prints.
#include "apps/cli/program.h"
#include "apps/hsm/cli/hsm_commands.h"

int main(int argc, char **argv) {
  using namespace pdm::cli;
  Program program;
  program.name = "pdm-hsm";
  program.version = PDM_VERSION;
  program.intro =
      "Usage: pdm-hsm COMMAND [options] [arguments]\n"
      "       pdm-hsm --help | --version\n"
      "\n"
      "The hierarchical storage manager of pdm: copies file data to archives and brings\n"
      "it back. Run it alone or under mpiexec (the ranks share the work); output comes\n"
      "from rank 0 only.\n";
  program.trailer =
      "Every command works on the file system named by --fs FS or, without it, the PDM_FS\n"
      "environment variable. Run 'pdm-hsm COMMAND --help' for the options of a command.\n"
      "\n"
      "Exit status: 0 ok, 1 the operation failed, 2 usage error.\n";
  for (auto make : {archive_command, rebuild_catalog_command}) {
    program.commands.push_back(make());
  }
  return run_program(program, argc, argv);
}

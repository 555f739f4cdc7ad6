// pdm: the command-line tool of a pdm file system. `pdm COMMAND ...` runs
// as a singleton or under mpiexec; every rank runs the same command (see
// apps/cli/command.h). The list below is the one `pdm --help` prints.
#include "apps/cli/program.h"
#include "apps/pdm/commands.h"

int main(int argc, char **argv) {
  using namespace pdm::cli;
  Program program;
  program.name = "pdm";
  program.version = PDM_VERSION;
  program.intro =
      "Usage: pdm COMMAND [options] [arguments]\n"
      "       pdm --help | --version\n"
      "\n"
      "The command-line tool of pdm, a parallel file system whose I/O servers are the ranks of\n"
      "an MPI job. Run it alone (every volume is then served by this process) or under\n"
      "mpiexec (each rank serves some of the volumes; put and get split large files among\n"
      "the ranks). Output comes from rank 0 only.\n";
  program.trailer =
      "Every command but mkfs works on the file system named by --fs FS or, without it, the\n"
      "PDM_FS environment variable: the config file 'pdm mkfs' wrote. Paths inside the file\n"
      "system are absolute (\"/dir/file\").\n"
      "Run 'pdm COMMAND --help' for the options of a command and the runtime setting flags.\n"
      "\n"
      "Exit status: 0 ok, 1 the operation failed, 2 usage error.\n";
  for (auto make : {mkfs_command, put_command, get_command, cat_command, ls_command, stat_command,
                    mkdir_command, rm_command, mv_command, truncate_command, df_command,
                    fsck_command, status_command, sessions_command, events_command}) {
    program.commands.push_back(make());
  }
  return run_program(program, argc, argv);
}

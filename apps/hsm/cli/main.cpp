// pdm-hsm: the HSM application of pdm (issue #6). `pdm-hsm COMMAND ...`
// runs alone or under mpiexec; every rank is an instance of the parallel DM
// application (its own session in the group "pdm-hsm"). The list below is
// the one `pdm-hsm --help` prints.
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
      "Hierarchical storage management for a pdm file system: copies cold files to an\n"
      "archive, frees their space on the volumes and recalls them transparently when they\n"
      "are read, written or truncated. Run it under mpiexec: every rank is an instance of\n"
      "the parallel DM application, and migrate, release and recall divide the files among\n"
      "the ranks. Output comes from rank 0 only.\n"
      "\n"
      "File states: resident (no valid archive copy), premigrated (archived, data still on\n"
      "disk), migrated (space released; any access recalls it).\n";
  program.trailer =
      "Every command works on the file system named by --fs FS or, without it, the PDM_FS\n"
      "environment variable. Run 'pdm-hsm COMMAND --help' for the options of a command.\n"
      "\n"
      "Exit status: 0 ok, 1 the operation failed (for some file), 2 usage error.\n";
  for (auto make : {archive_command, migrate_command, release_command, recall_command,
                    status_command, serve_command, remove_command, rebuild_catalog_command}) {
    program.commands.push_back(make());
  }
  return run_program(program, argc, argv);
}

// The subcommands of `pdm-hsm`, one source file each (cmd_<name>.cpp).
#pragma once

#include "apps/cli/command.h"

namespace pdm::cli {

Command migrate_command();
Command release_command();
Command recall_command();
Command status_command();
Command serve_command();
Command remove_command();
Command archive_command();
Command rebuild_catalog_command();

}  // namespace pdm::cli

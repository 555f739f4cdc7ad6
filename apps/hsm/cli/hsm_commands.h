// The subcommands of `pdm-hsm`, one source file each (cmd_<name>.cpp). The
// archive helper's archive_command() and rebuild_catalog_command() join the
// list in main.cpp once their branch is merged.
#pragma once

#include "apps/cli/command.h"

namespace pdm::cli {

Command migrate_command();
Command release_command();
Command recall_command();
Command status_command();
Command serve_command();
Command remove_command();

}  // namespace pdm::cli

// The subcommands of `pdm-hsm`, one source file each (cmd_<name>.cpp).
#pragma once

#include "apps/cli/command.h"

namespace pdm::cli {

Command archive_command();
Command rebuild_catalog_command();

}  // namespace pdm::cli

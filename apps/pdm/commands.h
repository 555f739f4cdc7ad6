// The subcommands of `pdm`, one source file each (cmd_<name>.cpp).
#pragma once

#include "apps/cli/command.h"

namespace pdm::cli {

Command mkfs_command();
Command put_command();
Command get_command();
Command cat_command();
Command ls_command();
Command stat_command();
Command mkdir_command();
Command rm_command();
Command mv_command();
Command truncate_command();
Command df_command();
Command fsck_command();
Command status_command();
Command sessions_command();
Command events_command();

}  // namespace pdm::cli

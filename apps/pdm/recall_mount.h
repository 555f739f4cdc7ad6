// The mount of pdm's commands that read file data (get, cat): like
// Invocation::with_mounted, but as the process node, with a pdm-hsm recall
// agent on every rank when the file system has an archive ([hsm] in its
// config), so that reading a migrated file recalls it transparently
// (docs/HSM.md). Without archives no agent starts and nothing changes.
#pragma once

#include <functional>

#include "apps/cli/command.h"

namespace pdm::cli {

int with_mounted_recalling(Invocation &invocation, const std::function<int(node::Node &)> &work);

}  // namespace pdm::cli

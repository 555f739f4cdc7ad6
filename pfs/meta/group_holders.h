// The holders of a group open or close (an MPI file's ranks, for whom one
// request of rank 0's opens or closes the file: dm_state_msg::kOpenFor,
// meta_msg::kCloseFor).
#pragma once

#include <cstdint>
#include <vector>

#include "runtime/base/result.h"
#include "runtime/cluster/view.h"

namespace pdm::pfs {

// EINVAL unless every holder is a live member of `view`, named once, and
// `source` (the requesting rank) is one of them. An open counted for a rank
// that is not live would never end (a dead rank's opens end at the view
// change that removes it), and one counted twice would outlive the
// holder's one close.
Status check_holders(const std::vector<std::int32_t> &holders, int source,
                     const cluster::View &view);

}  // namespace pdm::pfs

// Exactly-once metadata operations across a metadata server's death
// (issue #4, DESIGN.md §7; docs/FAILURES.md §2).
//
// A client whose call was cut by a view change sends it again, under the
// same operation id (runtime/mpi/retried_call.h), to whichever rank serves
// metadata in the next view. The first attempt may have been applied by the
// server that then died: a create would then fail with EEXIST, an unlink
// with ENOENT, a close would drop the open count twice. So every metadata
// handler is wrapped: an attempt at an operation the store already applied
// gets the reply recorded for it, and an operation applied now records
// "applied" in the same LMDB transaction as its changes and its reply right
// after. The journal lives in the store, so the server that takes over
// answers like the dead one. The one window left is a death between the
// operation's commit and the reply's: the repeated attempt then fails with
// EIO, saying the outcome is unknown, instead of applying it twice.
#pragma once

#include <functional>

#include "pfs/meta/meta_service.h"
#include "runtime/mpi/rpc.h"

namespace pdm::pfs {

// One handler, made replayable as described above.
mpi::Handler replayable(std::function<MetaService *()> service, mpi::Handler inner);

// Wraps every registered metadata handler (message types 0x0200-0x02ff);
// call after registering them.
void make_metadata_replayable(mpi::RpcEngine &engine, std::function<MetaService *()> service);

}  // namespace pdm::pfs

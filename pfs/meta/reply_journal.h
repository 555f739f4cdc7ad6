// Exactly-once metadata operations across a metadata server's death
// (issue #4, DESIGN.md §7; docs/FAILURES.md §2).
//
// A client whose call was cut by a view change sends it again, under the
// same operation id (runtime/mpi/retried_call.h), to whichever rank serves
// metadata in the next view. The first attempt may have been applied by the
// server that then died: a create would then fail with EEXIST, an unlink
// with ENOENT, a close would drop the open count twice. So every metadata
// handler is wrapped: an attempt at an operation the store already applied
// gets the reply recorded for it, and an operation applied now commits all
// its changes and its reply in one LMDB transaction (MetaStore::ApplyingOp),
// before the reply is sent. The journal lives in the store, so the server
// that takes over answers like the dead one. A server that dies at any
// point has applied an operation with its reply, or not at all: its repeat
// gets the reply, or applies it once.
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

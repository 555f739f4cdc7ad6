// Registers the data protocol's handlers: the owner of a volume does the I/O
// for remote requests on it. A request for a volume this rank does not own
// in the current view is refused with ESTALE (the caller retries with the
// new owner), so two ranks never serve one volume.
#pragma once

#include "pfs/data/object_store.h"
#include "runtime/mpi/rpc.h"

namespace pdm::pfs {

void register_data_handlers(mpi::RpcEngine &engine, ObjectStore &objects);

// OK if this rank owns `volume` in the current view, else ESTALE naming the
// owner: every handler that touches a volume's objects checks it first.
Status check_owner(mpi::RpcEngine &engine, std::uint32_t volume);

}  // namespace pdm::pfs

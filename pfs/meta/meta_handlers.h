// Registers the metadata protocol's handlers on an RPC engine. The handlers
// serve while `service()` returns a service (this rank owns the metadata
// volume) and refuse with ESTALE otherwise, so a request that reached a
// former owner is retried by its caller in the new view.
#pragma once

#include <functional>

#include "pfs/meta/meta_service.h"
#include "runtime/mpi/rpc.h"

namespace pdm::pfs {

void register_meta_handlers(mpi::RpcEngine &engine, std::function<MetaService *()> service);

}  // namespace pdm::pfs

// Registers the DM attribute protocol's handlers (dm_attr_protocol.h) on an
// RPC engine; like the metadata handlers they serve while `service()` returns
// a service and answer ESTALE otherwise. Each handler is one store
// transaction and never blocks on another call.
#pragma once

#include <functional>

#include "pfs/meta/meta_service.h"
#include "runtime/mpi/rpc.h"

namespace pdm::pfs {

void register_dm_attr_handlers(mpi::RpcEngine &engine, std::function<MetaService *()> service);

}  // namespace pdm::pfs

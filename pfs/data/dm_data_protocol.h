// The data messages of the DMAPI (dm_punch_hole, dm_get_allocinfo): requests
// to the rank that owns a volume, like the rest of the data protocol.
#pragma once

#include "pfs/data/data_protocol.h"
#include "runtime/mpi/rpc.h"

namespace pdm::pfs {

namespace dm_data_msg {
enum : mpi::MsgType {
  kPunch = 0x0320,  // ObjectRange (object offset, length) -> empty
  kDataRanges,      // ObjectRange (volume, ino) -> std::vector<ByteRange> of the object
};
}  // namespace dm_data_msg

// Registers the handlers on a rank's engine (beside register_data_handlers).
void register_dm_data_handlers(mpi::RpcEngine &engine, ObjectStore &objects);

}  // namespace pdm::pfs

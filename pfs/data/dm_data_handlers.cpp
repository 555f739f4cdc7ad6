#include "pfs/data/data_handlers.h"
#include "pfs/data/dm_data_protocol.h"
#include "pfs/volume_map.h"
#include "runtime/mpi/typed_rpc.h"

namespace pdm::pfs {

void register_dm_data_handlers(mpi::RpcEngine &engine, ObjectStore &objects) {
  using mpi::make_handler;
  using mpi::Request;
  engine.register_handler(dm_data_msg::kPunch,
                          make_handler<ObjectRange>(
                              [&engine, &objects](const ObjectRange &r, const Request &) -> Status {
                                PDM_TRY(check_owner(engine, r.volume));
                                return objects.punch(r.volume, r.ino, r.offset, r.length);
                              }));
  engine.register_handler(
      dm_data_msg::kDataRanges,
      make_handler<ObjectRange>([&engine, &objects](const ObjectRange &r, const Request &)
                                    -> Result<std::vector<ByteRange>> {
        PDM_TRY(check_owner(engine, r.volume));
        return objects.data_ranges(r.volume, r.ino);
      }));
}

}  // namespace pdm::pfs

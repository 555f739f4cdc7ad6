#include "pfs/data/data_handlers.h"

#include <sys/types.h>

#include <limits>

#include "pfs/data/data_protocol.h"
#include "pfs/volume_map.h"
#include "runtime/base/failpoint.h"
#include "runtime/mpi/typed_rpc.h"

namespace pdm::pfs {

Status check_owner(mpi::RpcEngine &engine, std::uint32_t volume) {
  auto view = engine.membership().current();
  const int owner = owner_of(volume, *view);
  if (owner != view->self()) {
    return make_error(ESTALE, "volume {} is served by rank {} in view {}", volume, owner,
                      view->epoch());
  }
  return {};
}

void register_data_handlers(mpi::RpcEngine &engine, ObjectStore &objects) {
  using mpi::make_handler;
  using mpi::Request;
  engine.register_handler(data_msg::kWrite,
                          [&engine, &objects](const Request &request, mpi::Encoder &) -> Status {
                            mpi::Decoder in(request.payload);
                            ObjectRange range;
                            PDM_TRY(mpi::decode_field(in, range));
                            PDM_ASSIGN_OR_RETURN(auto data, in.get_raw(range.length));
                            PDM_TRY(in.expect_end());
                            PDM_TRY(check_owner(engine, range.volume));
                            return objects.write(range.volume, range.ino, range.offset, data);
                          });
  engine.register_handler(
      data_msg::kReadRanges,
      [&engine, &objects](const Request &request, mpi::Encoder &response) -> Status {
        PDM_ASSIGN_OR_RETURN(auto req, mpi::decode_payload<ObjectRanges>(request.payload));
        // A malformed request gets an error, never a wrapped size.
        constexpr std::uint64_t kLimit = mpi::Header::kMaxMessage - mpi::Header::kSize;
        constexpr auto kMaxEnd = static_cast<std::uint64_t>(std::numeric_limits<off_t>::max());
        std::uint64_t total = 0;
        for (const ByteRange &r : req.ranges) {
          if (r.offset > kMaxEnd || r.length > kMaxEnd - r.offset) {
            return make_error(EINVAL, "read of object bytes [{}, +{})", r.offset, r.length);
          }
          if (r.length > kLimit - total) {
            return make_error(EMSGSIZE, "a read of more than {} bytes exceeds the message limit",
                              kLimit);
          }
          total += r.length;
        }
        PDM_TRY(check_owner(engine, req.volume));
        const auto data = response.put_space(total);
        std::vector<ReadPiece> pieces;
        pieces.reserve(req.ranges.size());
        std::uint64_t at = 0;
        for (const ByteRange &r : req.ranges) {
          pieces.push_back({r.offset, r.length, data.data() + at, 0});
          at += r.length;
        }
        PDM_TRY(objects.read_pieces(req.volume, req.ino, pieces));
        // Zeros past the object's end, except at the end of the answer:
        // there the client pads it (a read past the end moves no zeros).
        std::uint64_t unfilled_tail = 0;
        for (const ReadPiece &p : pieces) {
          unfilled_tail = p.got == 0 ? unfilled_tail + p.length : p.length - p.got;
        }
        response.drop_tail(unfilled_tail);
        // A test makes the answer longer than asked: the client refuses it.
        if (failpoint::hit("data.read_answer_too_long")) (void)response.put_space(1);
        return {};
      });
  engine.register_handler(data_msg::kTruncate,
                          make_handler<ObjectRange>(
                              [&engine, &objects](const ObjectRange &r, const Request &) -> Status {
                                PDM_TRY(check_owner(engine, r.volume));
                                return objects.truncate(r.volume, r.ino, r.length);
                              }));
  engine.register_handler(data_msg::kRemove,
                          make_handler<ObjectRange>(
                              [&engine, &objects](const ObjectRange &r, const Request &) -> Status {
                                PDM_TRY(check_owner(engine, r.volume));
                                return objects.remove(r.volume, r.ino);
                              }));
  engine.register_handler(data_msg::kSync,
                          make_handler<ObjectRange>(
                              [&engine, &objects](const ObjectRange &r, const Request &) -> Status {
                                PDM_TRY(check_owner(engine, r.volume));
                                return objects.sync(r.volume, r.ino);
                              }));
  engine.register_handler(
      data_msg::kUsage,
      make_handler<VolumeRequest>(
          [&engine, &objects](const VolumeRequest &r, const Request &) -> Result<VolumeUsage> {
            PDM_TRY(check_owner(engine, r.volume));
            return objects.usage(r.volume);
          }));
}

}  // namespace pdm::pfs

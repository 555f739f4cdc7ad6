#include "pfs/meta/reply_journal.h"

#include <spdlog/spdlog.h>

namespace pdm::pfs {
namespace {

constexpr mpi::MsgType kFirstMetadataType = 0x0200;
constexpr mpi::MsgType kLastMetadataType = 0x02ff;

Status replay(const MetaStore::RecordedReply &reply, const mpi::Request &request,
              mpi::Encoder &response) {
  if (!reply.complete) {
    return make_error(EIO,
                      "metadata operation {:#06x} was applied, but the server died before "
                      "recording its reply: its outcome is unknown",
                      request.header.type);
  }
  if (reply.status != 0) return Error{reply.status, reply.message};
  response.put_raw(reply.payload);
  return {};
}

}  // namespace

mpi::Handler replayable(std::function<MetaService *()> service, mpi::Handler inner) {
  return [service = std::move(service), inner = std::move(inner)](
             const mpi::Request &request, mpi::Encoder &response) -> Status {
    const std::uint64_t client = request.header.op_client;
    const std::uint64_t seq = request.header.op_seq;
    MetaService *meta = service();
    // Not an operation, or not served here: the handler answers as it would.
    if (client == 0 || meta == nullptr) return inner(request, response);
    MetaStore &store = meta->store();
    PDM_ASSIGN_OR_RETURN(auto recorded, store.find_reply(client, seq));
    if (recorded) return replay(*recorded, request, response);
    const std::size_t payload_start = response.size();
    MetaStore::ApplyingOp applying(client, seq);
    Status outcome = inner(request, response);
    if (!applying.applied()) return outcome;  // read-only, or it failed before changing anything
    MetaStore::RecordedReply reply;
    reply.complete = true;
    if (outcome.ok()) {
      reply.payload.assign(response.bytes().begin() + static_cast<std::ptrdiff_t>(payload_start),
                           response.bytes().end());
    } else {
      reply.status = outcome.error().code;
      reply.message = outcome.error().message;
    }
    if (auto recorded_now = store.record_reply(client, seq, reply); !recorded_now.ok()) {
      // The operation stands; only a repeat of it would now fail with EIO.
      spdlog::warn("metadata: cannot record a reply: {}", recorded_now.error().message);
    }
    return outcome;
  };
}

void make_metadata_replayable(mpi::RpcEngine &engine, std::function<MetaService *()> service) {
  engine.wrap_handlers(kFirstMetadataType, kLastMetadataType,
                       [&service](mpi::MsgType, mpi::Handler inner) {
                         return replayable(service, std::move(inner));
                       });
}

}  // namespace pdm::pfs

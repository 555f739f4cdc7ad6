#include "pfs/meta/reply_journal.h"

#include <spdlog/spdlog.h>

namespace pdm::pfs {
namespace {

constexpr mpi::MsgType kFirstMetadataType = 0x0200;
constexpr mpi::MsgType kLastMetadataType = 0x02ff;

Status replay(const MetaStore::RecordedReply &reply, mpi::Encoder &response) {
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
    if (recorded) return replay(*recorded, response);
    const std::size_t payload_start = response.size();
    MetaStore::ApplyingOp applying(store, client, seq);
    Status outcome = inner(request, response);
    if (!applying.applied()) return outcome;  // read-only, or it failed before changing anything
    MetaStore::RecordedReply reply;
    if (outcome.ok()) {
      reply.payload.assign(response.bytes().begin() + static_cast<std::ptrdiff_t>(payload_start),
                           response.bytes().end());
    } else {
      reply.status = outcome.error().code;
      reply.message = outcome.error().message;
    }
    // The operation and its reply are committed together, or neither is:
    // then the operation failed and changed nothing, whatever it answered.
    if (auto committed = applying.finish(reply); !committed.ok()) {
      spdlog::warn("metadata: operation {:#06x} not applied: {}", request.header.type,
                   committed.error().message);
      response.drop_tail(response.size() - payload_start);
      return committed;
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

// Calls that outlive view changes (issue #4, DESIGN.md §7).
//
// A call cut by a view change (ESTALE: the peer died, or one side had not
// installed the new view yet) may or may not have been applied by the peer.
// call_across_views() sends it again to whichever member serves it in the
// view that follows, under one OpId for every attempt; a handler made
// replayable (pfs/meta/reply_journal.h) applies an operation once and
// answers a repeated attempt with the reply it recorded, so the caller sees
// exactly one outcome even when the server died after applying it.
#pragma once

#include <chrono>
#include <functional>
#include <span>

#include "runtime/cluster/view.h"
#include "runtime/mpi/fields.h"
#include "runtime/mpi/rpc.h"

namespace pdm::mpi {

// A new operation id: a random client id per process and a sequence number.
OpId next_op_id();

// Who serves a request in a view.
using Target = std::function<int(const cluster::View &)>;

// Sends `payload` (a message body) as `type` to target(view), again after
// every view change that cuts it, until it is answered or `limit` passed
// (then the last ESTALE is returned).
Result<Response> call_across_views(RpcEngine &engine, const Target &target, MsgType type,
                                   std::span<const std::byte> payload,
                                   std::chrono::milliseconds limit);

template <typename Resp, typename Req>
Result<Resp> call_typed_across_views(RpcEngine &engine, const Target &target, MsgType type,
                                     const Req &request, std::chrono::milliseconds limit) {
  const Encoder encoded = encode_message(request);
  PDM_ASSIGN_OR_RETURN(auto response,
                       call_across_views(engine, target, type,
                                         std::span(encoded.bytes()).subspan(Header::kSize), limit));
  return decode_payload<Resp>(response.payload());
}

}  // namespace pdm::mpi

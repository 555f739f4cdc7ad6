// Typed calls over RpcEngine: a handler is built from an operation taking a
// decoded request, and a client call returns a decoded response. This is the
// one place where message bodies meet operations, so handlers stay a line
// each: decode, call the operation, encode.
#pragma once

#include <type_traits>

#include "runtime/mpi/fields.h"
#include "runtime/mpi/rpc.h"

namespace pdm::mpi {

template <typename T>
struct IsResult : std::false_type {};
template <typename T>
struct IsResult<Result<T>> : std::true_type {};

// op(const Req&, const Request&) returns Status or Result<Resp>.
template <typename Req, typename Op>
Handler make_handler(Op op) {
  return [op = std::move(op)](const Request &request, Encoder &response) -> Status {
    PDM_ASSIGN_OR_RETURN(auto decoded, decode_payload<Req>(request.payload));
    auto outcome = op(decoded, request);
    if constexpr (std::is_same_v<decltype(outcome), Status>) {
      return outcome;
    } else {
      static_assert(IsResult<decltype(outcome)>::value, "an operation returns Status or Result");
      if (!outcome.ok()) return std::move(outcome).error();
      encode_into(response, *outcome);
      return {};
    }
  };
}

template <typename Resp, typename Req>
Result<Resp> call_typed(RpcEngine &engine, int member, MsgType type, const Req &request) {
  PDM_ASSIGN_OR_RETURN(auto response, engine.call(member, type, encode_message(request)));
  return decode_payload<Resp>(response.payload());
}

template <typename Req>
Status call_status(RpcEngine &engine, int member, MsgType type, const Req &request) {
  PDM_ASSIGN_OR_RETURN(auto response, engine.call(member, type, encode_message(request)));
  return decode_payload<Empty>(response.payload()).ok()
             ? Status{}
             : make_error(EPROTO, "message type {:#06x}: unexpected response body", type);
}

}  // namespace pdm::mpi

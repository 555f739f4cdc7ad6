#include "runtime/mpi/retried_call.h"

#include <atomic>
#include <random>

#include "runtime/mpi/backoff.h"

namespace pdm::mpi {

OpId next_op_id() {
  // Random so that two processes (or two jobs on one file system) never
  // share a client id; 0 means "no operation".
  static const std::uint64_t client = [] {
    std::random_device device;
    std::uint64_t id = 0;
    while (id == 0) id = (std::uint64_t{device()} << 32) ^ device();
    return id;
  }();
  static std::atomic<std::uint64_t> seq{0};
  return OpId{client, seq.fetch_add(1, std::memory_order_relaxed) + 1};
}

Result<Response> call_across_views(RpcEngine &engine, const Target &target, MsgType type,
                                   std::span<const std::byte> payload,
                                   std::chrono::milliseconds limit) {
  const OpId op = next_op_id();
  const auto deadline = std::chrono::steady_clock::now() + limit;
  Backoff backoff;
  bool cut = false;  // an attempt was cut by a view change: it may have been applied
  for (;;) {
    auto view = engine.membership().current();
    Encoder request = begin_message();
    request.put_raw(payload);
    const int member = target(*view);
    // A first attempt at this rank itself is never cut (this rank's death
    // ends its caller too): it needs no reply record. A repeat carries the
    // id even when this rank has become the server, or the reply journal
    // could not tell that the dead server applied it (EEXIST for a create).
    const OpId id = !cut && member == view->self() ? OpId{} : op;
    auto response = engine.call(member, type, std::move(request), id);
    if (response.ok() || response.error().code != ESTALE) return response;
    cut = true;
    if (std::chrono::steady_clock::now() > deadline) return response;
    // The peer died and this rank already installed the next view: go at
    // once. Otherwise the peer was ahead, or the new server is still taking
    // over: wait for this rank's view to catch up.
    if (engine.membership().current() == view) {
      backoff.pause();
    } else {
      backoff.reset();
    }
  }
}

}  // namespace pdm::mpi

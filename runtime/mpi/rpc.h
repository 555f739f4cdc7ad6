// RpcEngine: request/response between ranks, and the per-rank progress thread.
//
// Requests travel on the view's rpc communicator with tag kRequestTag; the
// response to call N comes back on the same communicator with a tag derived
// from N, so concurrent calls from many application threads never mix.
// The progress thread is the only one that receives requests: it probes,
// decodes the header, runs the registered handler and posts the response
// (non-blocking), then runs the pollers other layers registered (control
// broadcasts, heartbeats). When there is nothing to do it backs off (see
// Backoff) so 4-8 ranks can share 2 cores.
//
// A call to the calling rank itself runs the handler directly in the calling
// thread: a rank reads and writes what it owns without MPI. Handlers must
// therefore be thread-safe, and must never make a blocking call() themselves
// (the progress thread would wait on itself).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <thread>
#include <unordered_map>
#include <vector>

#include "runtime/cluster/view.h"
#include "runtime/mpi/message.h"

namespace pdm::mpi {

struct Request {
  int source = -1;  // member id of the caller
  Header header;
  std::span<const std::byte> payload;
};

// A handler decodes its request, calls an operation and appends the
// response payload to `response`; an error becomes the caller's Error.
using Handler = std::function<Status(const Request &request, Encoder &response)>;
// Identifies one operation across its attempts (Header::op_client/op_seq).
struct OpId {
  std::uint64_t client = 0;
  std::uint64_t seq = 0;
  bool none() const { return client == 0; }
};

// A poller runs on the progress thread once per loop; returns true if it did work.
using Poller = std::function<bool()>;

class Response {
 public:
  explicit Response(Bytes message) : message_(std::move(message)) {}
  std::span<const std::byte> payload() const { return payload_of(message_); }

 private:
  Bytes message_;
};

// One call in flight (see RpcEngine::start).
class PendingCall {
 public:
  PendingCall() = default;
  PendingCall(PendingCall &&other) noexcept { *this = std::move(other); }
  PendingCall &operator=(PendingCall &&other) noexcept;
  PendingCall(const PendingCall &) = delete;
  PendingCall &operator=(const PendingCall &) = delete;
  ~PendingCall();

 private:
  friend class RpcEngine;
  int dest = -1;
  int tag = 0;
  cluster::ViewPtr view;  // keeps the communicator alive while the call is in flight
  Bytes request;          // must outlive the send
  MPI_Request send = MPI_REQUEST_NULL;
  std::optional<Result<Response>> done;  // set for local calls and once answered
  // An MPI error talking to the peer (a dead peer's socket, say): the call
  // waits for the view change that removes it (then ESTALE, which callers
  // retry) and returns this error only if none comes in time.
  std::optional<Error> failed;
  std::chrono::steady_clock::time_point failed_at;
};

class RpcEngine {
 public:
  static constexpr int kRequestTag = 1;
  // How long a call whose peer MPI reported unreachable waits for the view
  // change that would explain it before failing with the MPI error.
  static constexpr std::chrono::seconds kUnreachablePeerWait{30};

  explicit RpcEngine(cluster::Membership &membership);
  ~RpcEngine();
  RpcEngine(const RpcEngine &) = delete;
  RpcEngine &operator=(const RpcEngine &) = delete;

  // Registration happens before start().
  void register_handler(MsgType type, Handler handler);
  void add_poller(Poller poller);
  // Replaces each registered handler of a type in [first, last] by
  // wrap(type, handler); registration time only.
  void wrap_handlers(MsgType first, MsgType last,
                     const std::function<Handler(MsgType, Handler)> &wrap);

  Status start();
  // Stops the progress thread; callers make sure no peer still sends requests
  // (pdm_stop does a barrier first).
  void stop();

  // Sends a request (built with begin_message()) to a member and waits for the response.
  // `op` names the operation the request is an attempt at (none by default).
  Result<Response> call(int member, MsgType type, Encoder &&request, OpId op = {});
  // Starts a call without waiting; a local call runs to completion here.
  PendingCall start(int member, MsgType type, Encoder &&request, OpId op = {});
  // Waits for every pending call, polling all of them with one backoff.
  std::vector<Result<Response>> wait_all(std::span<PendingCall> calls);
  Result<Response> wait(PendingCall &call);
  // Polls a started call once, without waiting: its outcome once it has one
  // (then the call is spent). Any thread may test a call, one at a time.
  std::optional<Result<Response>> test(PendingCall &call);

  cluster::Membership &membership() { return membership_; }

 private:
  void progress_loop();
  bool serve_one_request(const cluster::View &view);
  bool reap_sends();
  // Polls one call once; true when it has an outcome.
  bool poll(PendingCall &call);
  Result<Response> run_local(const Header &head, std::span<const std::byte> message);
  Bytes respond(const Request &request);
  int tag_for(std::uint64_t call_id) const;

  cluster::Membership &membership_;
  std::unordered_map<MsgType, Handler> handlers_;
  std::vector<Poller> pollers_;
  std::atomic<std::uint64_t> next_call_{1};
  int tag_ub_ = 32767;
  std::atomic<bool> stopping_{false};
  std::thread progress_;

  struct OutgoingResponse {
    MPI_Request request;
    Bytes bytes;
    cluster::ViewPtr view;  // the view it was sent in (abandoned: never waited on)
  };
  std::vector<OutgoingResponse> sending_;  // progress thread only
};

}  // namespace pdm::mpi

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
//
// A handler that cannot answer yet (a synchronous DM event waits for its
// session's response) defers its request: the progress thread sends nothing,
// and the answer goes later, from whichever thread has it, straight to the
// caller's wait (reply()). The caller sees one round trip instead of an
// acknowledgement now and a second call back to it later.
//
// Express requests (set_express: DM event deliveries) travel on their own
// tag, kExpressTag, and any thread may serve them (serve_express), not only
// the progress thread: a DM application's thread waiting in dm_get_events
// takes its event off the wire itself instead of waiting for the progress
// thread to wake, queue it and wake it in turn. One thread at a time serves
// them, so the requests of one caller are handled in the order sent.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <span>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "runtime/cluster/view.h"
#include "runtime/mpi/message.h"

namespace pdm::mpi {

struct Request {
  int source = -1;  // member id of the caller
  Header header;
  std::span<const std::byte> payload;
  // Set for a request that came over MPI (a local call has no address to answer later).
  cluster::ViewPtr view;
  int comm_source = -1;
  mutable bool deferred = false;  // RpcEngine::defer was called
};

// Where the answer to a deferred request goes (RpcEngine::defer, reply).
class ReplyAddress {
 private:
  friend class RpcEngine;
  cluster::ViewPtr view;  // the view the request came in; the answer goes in it or not at all
  int dest = -1;          // the caller's rank in view's rpc communicator
  MsgType type = 0;
  std::uint64_t call_id = 0;
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
  static constexpr int kExpressTag = 0;
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
  // Requests of this type go on the express tag (see above).
  void set_express(MsgType type);
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
  // busy: how long to poll without pausing first (Backoff), for an answer
  // expected within microseconds.
  Result<Response> wait(PendingCall &call, std::chrono::microseconds busy = {});
  // Polls a started call once, without waiting: its outcome once it has one
  // (then the call is spent). Any thread may test a call, one at a time.
  std::optional<Result<Response>> test(PendingCall &call);

  // Inside a handler: its request is answered later with reply(), not when
  // the handler returns (unless the handler fails: then the error goes now).
  // A local call cannot wait for that: nullopt, and the handler answers now.
  std::optional<ReplyAddress> defer(const Request &request);
  // Answers a deferred request, from any thread. ESTALE when the view it
  // came in is gone: the caller's wait ended with ESTALE too, and a caller
  // that retries sends the request again.
  Status reply(const ReplyAddress &address, Encoder &&response);
  // Serves one express request if one is waiting and no other thread is
  // serving them; true if it served one. Any thread; handlers run in it.
  bool serve_express();

  cluster::Membership &membership() { return membership_; }

 private:
  struct OutgoingResponse {
    MPI_Request request;
    Bytes bytes;
    cluster::ViewPtr view;  // the view it was sent in (abandoned: never waited on)
  };

  void progress_loop();
  // Serves one request waiting on `tag`. The progress thread keeps its
  // answers' sends in sending_, another thread hands them over.
  bool serve_one_request(const cluster::ViewPtr &view, int tag, bool progress_thread);
  // Sends an answer; a send still in flight is kept until it completes.
  Status send_answer(OutgoingResponse out, int dest, int tag, bool progress_thread);
  bool reap_sends();
  // Polls one call once; true when it has an outcome.
  bool poll(PendingCall &call);
  Result<Response> run_local(const Header &head, std::span<const std::byte> message);
  Bytes respond(const Request &request);
  int tag_for(std::uint64_t call_id) const;

  cluster::Membership &membership_;
  std::unordered_map<MsgType, Handler> handlers_;
  std::unordered_set<MsgType> express_;
  std::mutex express_mutex_;  // held by the thread serving an express request
  std::vector<Poller> pollers_;
  std::atomic<std::uint64_t> next_call_{1};
  int tag_ub_ = 32767;
  std::atomic<bool> stopping_{false};
  std::thread progress_;

  std::vector<OutgoingResponse> sending_;  // progress thread only
  // Answers sent by other threads (reply(), serve_express()) whose send had
  // not completed; the progress thread moves them to sending_.
  std::mutex replies_mutex_;
  std::vector<OutgoingResponse> replies_sending_;
};

}  // namespace pdm::mpi

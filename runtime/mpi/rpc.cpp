#include "runtime/mpi/rpc.h"

#include <mutex>
#include <utility>

#include <spdlog/spdlog.h>

#include "runtime/mpi/backoff.h"

namespace pdm::mpi {
namespace {

// A response message becomes a Response, or the Error its status carries.
Result<Response> to_result(Bytes message) {
  PDM_ASSIGN_OR_RETURN(auto header, Header::decode(message));
  if (header.status != 0) {
    auto text = payload_of(message);
    return Error{header.status,
                 std::string(reinterpret_cast<const char *>(text.data()), text.size())};
  }
  return Response(std::move(message));
}

// Receives a probed message into a buffer of its exact size.
Result<Bytes> receive(MPI_Message &message, MPI_Status &status) {
  int count = 0;
  PDM_TRY(check(MPI_Get_count(&status, MPI_BYTE, &count), "MPI_Get_count"));
  Bytes bytes(static_cast<std::size_t>(count));
  PDM_TRY(
      check(MPI_Mrecv(bytes.data(), count, MPI_BYTE, &message, MPI_STATUS_IGNORE), "MPI_Mrecv"));
  return bytes;
}

// Ends a send. A send on an abandoned view (its destination may be dead)
// may never complete and must not be waited on (docs/FAILURES.md §1): the
// request is freed and its buffer kept until the process exits. Never
// MPI_Wait: the destination can die while we wait, and a send to a dead
// rank never completes; only the view change that follows ends the wait
// (seen in failure_manager_busy: a create to the manager ended, its request
// send not yet complete, the manager died, and the caller hung in MPI_Wait
// forever while the view changed around it).
void finish_send(MPI_Request &send, Bytes &buffer, const cluster::View *view) {
  Backoff backoff;
  while (send != MPI_REQUEST_NULL) {
    int done = 0;
    MPI_Test(&send, &done, MPI_STATUS_IGNORE);
    if (done) return;
    if (view != nullptr && view->abandoned()) {
      MPI_Request_free(&send);
      static std::mutex mutex;
      static auto *kept = new std::vector<Bytes>();  // never freed, on purpose
      std::lock_guard lock(mutex);
      kept->push_back(std::move(buffer));
      return;
    }
    backoff.pause();
  }
}

}  // namespace

PendingCall::~PendingCall() {
  // A call abandoned mid-flight (its caller returned early) must not leave a
  // send reading a freed buffer: complete it first.
  finish_send(send, request, view.get());
}

PendingCall &PendingCall::operator=(PendingCall &&other) noexcept {
  if (this != &other) {
    finish_send(send, request, view.get());
    dest = other.dest;
    tag = other.tag;
    view = std::move(other.view);
    request = std::move(other.request);
    send = std::exchange(other.send, MPI_REQUEST_NULL);
    done = std::move(other.done);
    failed = std::move(other.failed);
    failed_at = other.failed_at;
  }
  return *this;
}

RpcEngine::RpcEngine(cluster::Membership &membership) : membership_(membership) {
  int *tag_ub = nullptr;
  int flag = 0;
  MPI_Comm_get_attr(MPI_COMM_WORLD, MPI_TAG_UB, &tag_ub, &flag);
  if (flag && tag_ub != nullptr) tag_ub_ = *tag_ub;
}

RpcEngine::~RpcEngine() {
  stop();
}

void RpcEngine::register_handler(MsgType type, Handler handler) {
  handlers_[type] = std::move(handler);
}

void RpcEngine::wrap_handlers(MsgType first, MsgType last,
                              const std::function<Handler(MsgType, Handler)> &wrap) {
  for (auto &[type, handler] : handlers_) {
    if (type >= first && type <= last) handler = wrap(type, std::move(handler));
  }
}

void RpcEngine::set_express(MsgType type) {
  express_.insert(type);
}

void RpcEngine::add_poller(Poller poller) {
  pollers_.push_back(std::move(poller));
}

Status RpcEngine::start() {
  stopping_ = false;
  progress_ = std::thread([this] { progress_loop(); });
  return {};
}

void RpcEngine::stop() {
  if (progress_.joinable()) {
    stopping_ = true;
    progress_.join();
  }
  {
    std::lock_guard lock(replies_mutex_);
    for (auto &out : replies_sending_) sending_.push_back(std::move(out));
    replies_sending_.clear();
  }
  for (auto &out : sending_) finish_send(out.request, out.bytes, out.view.get());
  sending_.clear();
}

int RpcEngine::tag_for(std::uint64_t call_id) const {
  // Tags kExpressTag (0) and kRequestTag (1) carry requests; responses use
  // the rest of the range.
  const auto span = static_cast<std::uint64_t>(tag_ub_ - kRequestTag);
  return static_cast<int>(kRequestTag + 1 + call_id % span);
}

void RpcEngine::progress_loop() {
  Backoff backoff;
  while (!stopping_.load(std::memory_order_relaxed)) {
    auto view = membership_.current();
    bool worked = serve_one_request(view, kRequestTag, true);
    if (!express_.empty()) {
      std::unique_lock lock(express_mutex_, std::try_to_lock);
      if (lock) worked |= serve_one_request(view, kExpressTag, true);
    }
    worked |= reap_sends();
    for (auto &poller : pollers_) worked |= poller();
    if (worked) {
      backoff.reset();
    } else {
      backoff.pause();
    }
  }
}

bool RpcEngine::serve_express() {
  std::unique_lock lock(express_mutex_, std::try_to_lock);
  if (!lock) return false;
  return serve_one_request(membership_.current(), kExpressTag, false);
}

bool RpcEngine::serve_one_request(const cluster::ViewPtr &view, int tag, bool progress_thread) {
  int flag = 0;
  MPI_Message message = MPI_MESSAGE_NULL;
  MPI_Status status;
  if (MPI_Improbe(MPI_ANY_SOURCE, tag, view->rpc_comm().get(), &flag, &message, &status) !=
          MPI_SUCCESS ||
      !flag) {
    return false;
  }
  auto bytes = receive(message, status);
  if (!bytes.ok()) {
    spdlog::error("rpc: dropping a request: {}", bytes.error().message);
    return true;
  }
  auto header = Header::decode(*bytes);
  if (!header.ok()) {
    // Without a valid header there is no call id to answer: the caller's
    // wait ends through its own view/timeout checks.
    spdlog::error("rpc: dropping a malformed request from rank {}: {}", status.MPI_SOURCE,
                  header.error().message);
    return true;
  }
  Request request{view->member_at(status.MPI_SOURCE), *header, payload_of(*bytes), view,
                  status.MPI_SOURCE};
  OutgoingResponse out{MPI_REQUEST_NULL, respond(request), request.view};
  if (request.deferred) return true;  // answered later by reply()
  auto sent =
      send_answer(std::move(out), status.MPI_SOURCE, tag_for(header->call_id), progress_thread);
  if (!sent.ok()) {
    spdlog::error("rpc: cannot answer rank {}: {}", status.MPI_SOURCE, sent.error().message);
  }
  return true;
}

Status RpcEngine::send_answer(OutgoingResponse out, int dest, int tag, bool progress_thread) {
  PDM_TRY(check(MPI_Isend(out.bytes.data(), static_cast<int>(out.bytes.size()), MPI_BYTE, dest, tag,
                          out.view->rpc_comm().get(), &out.request),
                "MPI_Isend"));
  if (progress_thread) {
    sending_.push_back(std::move(out));
    return {};
  }
  // A small answer usually leaves at once; the rest the progress thread reaps.
  int done = 0;
  MPI_Test(&out.request, &done, MPI_STATUS_IGNORE);
  if (!done) {
    std::lock_guard lock(replies_mutex_);
    replies_sending_.push_back(std::move(out));
  }
  return {};
}

Bytes RpcEngine::respond(const Request &request) {
  Header head;
  head.type = request.header.type;
  head.call_id = request.header.call_id;
  head.epoch = membership_.current()->epoch();
  Encoder body = begin_message();
  Status outcome;
  if (request.header.epoch != head.epoch) {
    outcome = make_error(ESTALE, "request of epoch {} refused in epoch {}", request.header.epoch,
                         head.epoch);
  } else if (auto it = handlers_.find(request.header.type); it == handlers_.end()) {
    outcome = make_error(ENOSYS, "no handler for message type {:#06x}", request.header.type);
  } else {
    outcome = it->second(request, body);
  }
  if (!outcome.ok()) {
    request.deferred = false;  // a failed handler is answered now
    head.status = outcome.error().code == 0 ? EIO : outcome.error().code;
    body = begin_message();
    body.put_raw(as_bytes(outcome.error().message));
  }
  return finish_message(std::move(body), head);
}

std::optional<ReplyAddress> RpcEngine::defer(const Request &request) {
  if (request.view == nullptr || request.comm_source < 0) return std::nullopt;
  request.deferred = true;
  ReplyAddress address;
  address.view = request.view;
  address.dest = request.comm_source;
  address.type = request.header.type;
  address.call_id = request.header.call_id;
  return address;
}

Status RpcEngine::reply(const ReplyAddress &address, Encoder &&response) {
  if (address.view == nullptr) return make_error(EINVAL, "no address to answer");
  if (address.view->abandoned() || membership_.current() != address.view) {
    return make_error(ESTALE, "the view of call {} is gone", address.call_id);
  }
  Header head;
  head.type = address.type;
  head.call_id = address.call_id;
  head.epoch = address.view->epoch();
  OutgoingResponse out{MPI_REQUEST_NULL, finish_message(std::move(response), head), address.view};
  return send_answer(std::move(out), address.dest, tag_for(address.call_id), false);
}

bool RpcEngine::reap_sends() {
  bool worked = false;
  {
    std::lock_guard lock(replies_mutex_);
    for (auto &out : replies_sending_) sending_.push_back(std::move(out));
    replies_sending_.clear();
  }
  for (std::size_t i = 0; i < sending_.size();) {
    int done = 0;
    MPI_Test(&sending_[i].request, &done, MPI_STATUS_IGNORE);
    if (done) {
      sending_[i] = std::move(sending_.back());
      sending_.pop_back();
      worked = true;
    } else {
      ++i;
    }
  }
  return worked;
}

Result<Response> RpcEngine::run_local(const Header &head, std::span<const std::byte> message) {
  return to_result(respond(Request{membership_.current()->self(), head, payload_of(message)}));
}

PendingCall RpcEngine::start(int member, MsgType type, Encoder &&request, OpId op) {
  PendingCall call;
  call.view = membership_.current();
  const std::uint64_t call_id = next_call_.fetch_add(1, std::memory_order_relaxed);
  Header head;
  head.type = type;
  head.epoch = call.view->epoch();
  head.call_id = call_id;
  head.op_client = op.client;
  head.op_seq = op.seq;
  call.request = finish_message(std::move(request), head);
  head.payload_len = static_cast<std::uint32_t>(call.request.size() - Header::kSize);
  if (call.request.size() > Header::kMaxMessage) {
    call.done = make_error(EMSGSIZE, "request of {} bytes exceeds the message limit of {}",
                           call.request.size(), Header::kMaxMessage);
    return call;
  }
  if (member == call.view->self()) {
    // With the operation id the caller gave: call_across_views leaves it out
    // of a first local attempt (never cut, it needs no reply record) but
    // not of the repeat of a remote attempt that a view change cut.
    call.done = run_local(head, call.request);
    return call;
  }
  call.dest = call.view->comm_rank_of(member);
  if (call.dest < 0) {
    call.done = make_error(EHOSTDOWN, "rank {} is not in view {}", member, call.view->epoch());
    return call;
  }
  call.tag = tag_for(call_id);
  const int request_tag = express_.count(type) != 0 ? kExpressTag : kRequestTag;
  auto sent = check(MPI_Isend(call.request.data(), static_cast<int>(call.request.size()), MPI_BYTE,
                              call.dest, request_tag, call.view->rpc_comm().get(), &call.send),
                    "MPI_Isend");
  if (!sent.ok()) {
    call.failed = std::move(sent).error();
    call.failed_at = std::chrono::steady_clock::now();
  }
  return call;
}

bool RpcEngine::poll(PendingCall &call) {
  if (call.done) return true;
  if (call.failed) {
    // MPI gave up on the peer; a view change that removes it says why.
    if (membership_.current()->epoch() != call.view->epoch()) {
      call.done = make_error(ESTALE, "view changed after MPI failed to reach rank {}: {}",
                             call.view->member_at(call.dest), call.failed->message);
    } else if (std::chrono::steady_clock::now() - call.failed_at > kUnreachablePeerWait) {
      call.done = std::move(*call.failed);
    }
    return call.done.has_value();
  }
  if (call.send != MPI_REQUEST_NULL) {
    int sent = 0;
    MPI_Test(&call.send, &sent, MPI_STATUS_IGNORE);
  }
  int flag = 0;
  MPI_Message message = MPI_MESSAGE_NULL;
  MPI_Status status;
  auto probed =
      check(MPI_Improbe(call.dest, call.tag, call.view->rpc_comm().get(), &flag, &message, &status),
            "MPI_Improbe");
  if (!probed.ok()) {
    call.failed = std::move(probed).error();
    call.failed_at = std::chrono::steady_clock::now();
    return false;
  }
  if (flag) {
    auto bytes = receive(message, status);
    if (bytes.ok()) {
      call.done = to_result(std::move(bytes).value());
    } else {
      call.done = std::move(bytes).error();
    }
    return true;
  }
  if (membership_.current()->epoch() != call.view->epoch()) {
    call.done = make_error(ESTALE, "view changed while waiting for rank {}",
                           call.view->member_at(call.dest));
    return true;
  }
  return false;
}

Result<Response> RpcEngine::wait(PendingCall &call, std::chrono::microseconds busy) {
  Backoff backoff(busy);
  for (;;) {
    if (auto outcome = test(call)) return std::move(*outcome);
    backoff.pause();
  }
}

std::optional<Result<Response>> RpcEngine::test(PendingCall &call) {
  if (!poll(call)) return std::nullopt;
  finish_send(call.send, call.request, call.view.get());
  return std::move(*call.done);
}

std::vector<Result<Response>> RpcEngine::wait_all(std::span<PendingCall> calls) {
  Backoff backoff;
  for (;;) {
    bool all = true;
    bool progressed = false;
    for (auto &call : calls) {
      if (call.done) continue;
      if (poll(call)) {
        progressed = true;
      } else {
        all = false;
      }
    }
    if (all) break;
    if (progressed) {
      backoff.reset();
    } else {
      backoff.pause();
    }
  }
  std::vector<Result<Response>> out;
  out.reserve(calls.size());
  for (auto &call : calls) {
    finish_send(call.send, call.request, call.view.get());
    out.push_back(std::move(*call.done));
  }
  return out;
}

Result<Response> RpcEngine::call(int member, MsgType type, Encoder &&request, OpId op) {
  auto pending = start(member, type, std::move(request), op);
  return wait(pending);
}

}  // namespace pdm::mpi

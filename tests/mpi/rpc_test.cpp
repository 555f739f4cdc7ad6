// The RPC engine between 4 ranks: concurrent calls from many threads never
// mix their responses, a malformed or unknown request never takes a progress
// thread down, stale epochs are refused, and a handler's error reaches the
// caller with its errno and message. A deferred request is answered later,
// from another thread, and only then; express requests are served by the
// thread that asks, in the order each caller sent them.
#include <gtest/gtest.h>
#include <mpi.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "runtime/cluster/view.h"
#include "runtime/mpi/rpc.h"
#include "runtime/mpi/typed_rpc.h"
#include "tests/mpi/world_engine.h"

namespace pdm::mpi {
namespace {

constexpr MsgType kEcho = 0x0101;
constexpr MsgType kFail = 0x0102;
constexpr MsgType kDefer = 0x0103;      // answered later by the test's thread
constexpr MsgType kDeferFail = 0x0104;  // defers, then fails
constexpr MsgType kInOrder = 0x0105;    // express: records the order of arrival
constexpr MsgType kUnknown = 0x01ff;

struct EchoRequest {
  std::uint64_t value = 0;
  std::string text;
  auto fields() { return std::tie(value, text); }
};

class RpcTest : public ::testing::Test {
 protected:
  void SetUp() override {
    world_.make();
    if (HasFatalFailure()) return;
    view_ = world_.view;
    engine_ = world_.engine.get();
    engine_->register_handler(
        kEcho, make_handler<EchoRequest>([](const EchoRequest &r, const Request &request) {
          EchoRequest out = r;
          out.value = r.value * 1000 + static_cast<std::uint64_t>(request.source);
          return Result<EchoRequest>(out);
        }));
    engine_->register_handler(kFail, make_handler<Empty>([](const Empty &, const Request &) {
                                return Status(make_error(EXDEV, "handler refused on purpose"));
                              }));
    engine_->register_handler(kDefer, [this](const Request &request, Encoder &response) -> Status {
      PDM_ASSIGN_OR_RETURN(auto r, decode_payload<EchoRequest>(request.payload));
      auto address = engine_->defer(request);
      if (!address) {  // a call to this rank itself: answered now
        encode_into(response, EchoRequest{r.value + 2, "now"});
        return {};
      }
      std::lock_guard lock(mutex_);
      deferred_.push_back({*address, r.value});
      return {};
    });
    engine_->register_handler(kDeferFail, [this](const Request &request, Encoder &) -> Status {
      (void)engine_->defer(request);
      return make_error(EXDEV, "deferred, then refused");
    });
    engine_->set_express(kInOrder);
    engine_->register_handler(
        kInOrder, make_handler<EchoRequest>([this](const EchoRequest &r, const Request &) {
          // A handler that takes a while: without one server at a time, the
          // next request would overtake this one (ExpressRequests... below).
          std::this_thread::sleep_for(std::chrono::microseconds(20));
          std::lock_guard lock(mutex_);
          arrived_.push_back(r.value);
          return Status{};
        }));
    ASSERT_TRUE(engine_->start().ok());
    MPI_Barrier(MPI_COMM_WORLD);
  }
  void TearDown() override {
    test::serving_barrier();
    engine_->stop();
  }
  int rank() const { return view_->self(); }
  int size() const { return static_cast<int>(view_->size()); }

  std::size_t deferred_count() {
    std::lock_guard lock(mutex_);
    return deferred_.size();
  }

  test::WorldEngine world_;
  cluster::ViewPtr view_;
  RpcEngine *engine_ = nullptr;
  std::mutex mutex_;
  std::vector<std::pair<ReplyAddress, std::uint64_t>> deferred_;  // kDefer requests
  std::vector<std::uint64_t> arrived_;                            // kInOrder requests
};

// Polls `done` while this rank keeps serving express requests, for at most 30 s.
bool serve_until(RpcEngine &engine, const std::function<bool()> &done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    if (!engine.serve_express()) std::this_thread::yield();
  }
  return true;
}

TEST_F(RpcTest, ConcurrentCallsFromManyThreadsGetTheirOwnResponses) {
  constexpr int kThreads = 4;
  constexpr int kCalls = 200;
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kCalls; ++i) {
        const int dest = (rank() + i + t) % size();
        const std::uint64_t value = static_cast<std::uint64_t>(t * kCalls + i);
        auto got = call_typed<EchoRequest>(*engine_, dest, kEcho,
                                           EchoRequest{value, std::to_string(value)});
        if (!got.ok() || got->value != value * 1000 + static_cast<std::uint64_t>(rank()) ||
            got->text != std::to_string(value)) {
          ++wrong;
        }
      }
    });
  }
  for (auto &thread : threads) thread.join();
  EXPECT_EQ(wrong.load(), 0);
}

TEST_F(RpcTest, HandlerErrorReachesTheCallerWithErrnoAndMessage) {
  auto got = engine_->call((rank() + 1) % size(), kFail, encode_message(Empty{}));
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().code, EXDEV);
  EXPECT_EQ(got.error().message, "handler refused on purpose");
}

TEST_F(RpcTest, UnknownMessageTypeIsRefusedWithEnosys) {
  auto got = engine_->call((rank() + 1) % size(), kUnknown, encode_message(Empty{}));
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().code, ENOSYS);
}

TEST_F(RpcTest, TruncatedRequestBodyIsRefusedWithEproto) {
  Encoder body = begin_message();
  body.put<std::uint8_t>(7);  // an EchoRequest needs 8 bytes of value first
  auto got = engine_->call((rank() + 1) % size(), kEcho, std::move(body));
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().code, EPROTO);
}

// Raw garbage (no valid header) on the request tag: the receiving progress
// thread drops it and keeps serving.
TEST_F(RpcTest, GarbageOnTheWireDoesNotStopTheProgressThread) {
  const int dest = (rank() + 1) % size();
  std::vector<char> garbage(100, 'z');
  MPI_Send(garbage.data(), static_cast<int>(garbage.size()), MPI_CHAR, dest, RpcEngine::kRequestTag,
           view_->rpc_comm().get());
  MPI_Send(garbage.data(), 3, MPI_CHAR, dest, RpcEngine::kRequestTag, view_->rpc_comm().get());
  auto got = call_typed<EchoRequest>(*engine_, dest, kEcho, EchoRequest{5, "still alive"});
  ASSERT_TRUE(got.ok()) << got.error().message;
  EXPECT_EQ(got->text, "still alive");
}

// A request carrying another epoch is refused with ESTALE (the caller retries
// in the current view).
TEST_F(RpcTest, RequestOfAnotherEpochIsRefusedAsStale) {
  const int dest = (rank() + 1) % size();
  Header head;
  head.type = kEcho;
  head.epoch = view_->epoch() + 7;
  head.call_id = 999'000 + static_cast<std::uint64_t>(rank());
  Bytes message = finish_message(encode_message(EchoRequest{1, "x"}), head);
  const int reply_tag = RpcEngine::kRequestTag + 1 + static_cast<int>(head.call_id);
  MPI_Send(message.data(), static_cast<int>(message.size()), MPI_BYTE, dest, RpcEngine::kRequestTag,
           view_->rpc_comm().get());
  MPI_Status status;
  MPI_Probe(dest, reply_tag, view_->rpc_comm().get(), &status);
  int count = 0;
  MPI_Get_count(&status, MPI_BYTE, &count);
  Bytes reply(static_cast<std::size_t>(count));
  MPI_Recv(reply.data(), count, MPI_BYTE, dest, reply_tag, view_->rpc_comm().get(),
           MPI_STATUS_IGNORE);
  auto header = Header::decode(reply);
  ASSERT_TRUE(header.ok()) << header.error().message;
  EXPECT_EQ(header->status, ESTALE);
}

// A deferred request gets no answer until the callee replies, from a thread
// of its own, and then exactly that answer. A call to the calling rank cannot
// be deferred: its handler answers at once.
TEST_F(RpcTest, ADeferredRequestIsAnsweredOnlyByTheLaterReply) {
  const int next = (rank() + 1) % size();
  auto call = engine_->start(next, kDefer, encode_message(EchoRequest{10u + rank(), "later"}));
  ASSERT_TRUE(serve_until(*engine_, [&] { return deferred_count() == 1; }))
      << "the request of rank " << (rank() + size() - 1) % size() << " never arrived";
  test::serving_barrier();  // every request arrived and was deferred
  EXPECT_FALSE(engine_->test(call).has_value()) << "answered although the handler deferred";
  test::serving_barrier();
  auto [address, value] = deferred_.front();
  ASSERT_TRUE(engine_->reply(address, encode_message(EchoRequest{value * 3, "replied"})).ok());
  auto got = engine_->wait(call);
  ASSERT_TRUE(got.ok()) << got.error().message;
  auto answer = decode_payload<EchoRequest>(got->payload());
  ASSERT_TRUE(answer.ok()) << answer.error().message;
  EXPECT_EQ(answer->value, (10u + rank()) * 3);
  EXPECT_EQ(answer->text, "replied");

  auto local = call_typed<EchoRequest>(*engine_, rank(), kDefer, EchoRequest{5, "self"});
  ASSERT_TRUE(local.ok()) << local.error().message;
  EXPECT_EQ(local->value, 7u);
}

// A handler that defers and then fails is answered with its error at once
// (the caller must not wait for a reply that will never come).
TEST_F(RpcTest, AHandlerThatDefersAndFailsIsAnsweredWithItsError) {
  auto got = engine_->call((rank() + 1) % size(), kDeferFail, encode_message(Empty{}));
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().code, EXDEV);
  EXPECT_EQ(got.error().message, "deferred, then refused");
}

// Express requests: the rank's own thread serves them alongside the progress
// thread, one at a time, so the many requests one caller has in flight are
// handled in the order it sent them.
TEST_F(RpcTest, ExpressRequestsOfOneCallerAreHandledInTheirOrder) {
  constexpr std::uint64_t kCalls = 300;
  const int next = (rank() + 1) % size();
  std::vector<PendingCall> calls;
  for (std::uint64_t i = 0; i < kCalls; ++i) {
    calls.push_back(engine_->start(next, kInOrder, encode_message(EchoRequest{i, ""})));
  }
  ASSERT_TRUE(serve_until(*engine_, [&] {
    std::lock_guard lock(mutex_);
    return arrived_.size() == kCalls;
  }));
  for (auto &outcome : engine_->wait_all(calls)) {
    EXPECT_TRUE(outcome.ok()) << outcome.error().message;
  }
  std::lock_guard lock(mutex_);
  for (std::uint64_t i = 0; i < kCalls; ++i) {
    ASSERT_EQ(arrived_[i], i) << "express request " << i << " handled out of order";
  }
}

}  // namespace
}  // namespace pdm::mpi

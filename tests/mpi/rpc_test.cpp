// The RPC engine between 4 ranks: concurrent calls from many threads never
// mix their responses, a malformed or unknown request never takes a progress
// thread down, stale epochs are refused, and a handler's error reaches the
// caller with its errno and message.
#include <gtest/gtest.h>
#include <mpi.h>

#include <atomic>
#include <memory>
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
    ASSERT_TRUE(engine_->start().ok());
    MPI_Barrier(MPI_COMM_WORLD);
  }
  void TearDown() override {
    test::serving_barrier();
    engine_->stop();
  }
  int rank() const { return view_->self(); }
  int size() const { return static_cast<int>(view_->size()); }

  test::WorldEngine world_;
  cluster::ViewPtr view_;
  RpcEngine *engine_ = nullptr;
};

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

}  // namespace
}  // namespace pdm::mpi

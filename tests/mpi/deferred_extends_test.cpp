// DeferredExtends (pfs/client/deferred_extends.h, issue #5: the lazy size of
// MPI-IO writes) between 2 ranks: rank 0 plays the metadata server with a
// test handler, rank 1 hands it the size updates of writes. Pinned here:
//   - a write's access guard ends only once the server answered its update,
//     so a DM right (which drains guards) never sees the file before the
//     update: pdm-hsm's release check stays sound (B16);
//   - an update cut by a view change (ESTALE) is sent again until its retry
//     limit, then reported (B20: writes through the MPI-IO shim);
//   - a failed update is reported by the next settle of its inode, once.
#include <gtest/gtest.h>
#include <mpi.h>

#include <array>
#include <atomic>
#include <chrono>
#include <memory>
#include <thread>

#include "pfs/client/deferred_extends.h"
#include "pfs/meta/meta_protocol.h"
#include "runtime/cluster/view.h"
#include "runtime/mpi/rpc.h"
#include "runtime/mpi/typed_rpc.h"
#include "tests/mpi/world_engine.h"

namespace pdm::pfs {
namespace {

constexpr mpi::MsgType kUpdate = 0x0181;
constexpr int kServer = 0;
constexpr int kWriter = 1;
// What the test server does with an update, by inode.
constexpr InodeNumber kFine = 10;
constexpr InodeNumber kCut = 11;    // ESTALE for its first kCuts attempts
constexpr InodeNumber kFails = 12;  // always EXDEV
constexpr int kCuts = 2;

// Counts the guards it handed out that have not ended.
class CountingAccess : public ObjectAccess {
 public:
  Result<AccessGuard> begin(InodeNumber ino, AccessKind kind) override {
    ++held;
    return AccessGuard(this, ino, kind);
  }
  std::optional<AccessGuard> begin_unresolved(AccessKind) override { return std::nullopt; }
  std::atomic<int> held{0};

 protected:
  void end(InodeNumber, AccessKind) override { --held; }
};

class DeferredExtendsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    world_.make();
    if (HasFatalFailure()) return;
    view_ = world_.view;
    engine_ = world_.engine.get();
    engine_->register_handler(kUpdate,
                              mpi::make_handler<ExtendRequest>(
                                  [this](const ExtendRequest &r, const mpi::Request &) -> Status {
                                    const int attempt = ++attempts_[r.ino % attempts_.size()];
                                    if (r.ino == kFails)
                                      return make_error(EXDEV, "refused on purpose");
                                    if (r.ino == kCut && attempt <= kCuts) {
                                      return make_error(ESTALE, "cut on purpose");
                                    }
                                    return {};
                                  }));
  }
  void TearDown() override {
    test::serving_barrier();
    engine_->stop();
  }
  int rank() const { return view_->self(); }
  std::unique_ptr<DeferredExtends> make_deferred(std::chrono::milliseconds retry_limit) {
    return std::make_unique<DeferredExtends>(
        *engine_,
        [this](InodeNumber ino, std::uint64_t end) {
          return engine_->start(kServer, kUpdate, mpi::encode_message(ExtendRequest{ino, end}));
        },
        retry_limit);
  }
  // A write's update, as FileSystem::pwrite hands it over.
  void add(DeferredExtends &deferred, InodeNumber ino, std::uint64_t end) {
    auto guard = access_.begin(ino, AccessKind::kModify);
    ASSERT_TRUE(guard.ok());
    deferred.add(ino, end,
                 engine_->start(kServer, kUpdate, mpi::encode_message(ExtendRequest{ino, end})),
                 std::move(guard).value());
  }

  test::WorldEngine world_;
  cluster::ViewPtr view_;
  mpi::RpcEngine *engine_ = nullptr;
  CountingAccess access_;
  std::array<std::atomic<int>, 16> attempts_{};
};

TEST_F(DeferredExtendsTest, AWritesGuardEndsOnlyOnceTheServerAnsweredItsUpdateB16) {
  constexpr int kWrites = 5;
  // The server does not serve yet: no update can be answered.
  if (rank() != kServer) {
    ASSERT_TRUE(engine_->start().ok());
  }
  auto deferred = make_deferred(std::chrono::seconds(30));
  if (rank() == kWriter) {
    for (int i = 1; i <= kWrites; ++i) add(*deferred, kFine, static_cast<std::uint64_t>(i) << 20);
    // The progress thread's collecting finds nothing answered: every guard
    // still holds, as a DM right asked for now would see.
    for (int i = 0; i < 100; ++i) EXPECT_FALSE(deferred->reap());
    EXPECT_EQ(access_.held.load(), kWrites);
    EXPECT_TRUE(deferred->pending(kFine));
  }
  MPI_Barrier(MPI_COMM_WORLD);
  if (rank() == kServer) {
    ASSERT_TRUE(engine_->start().ok());
  }
  if (rank() == kWriter) {
    EXPECT_TRUE(deferred->settle(kFine).ok());
    EXPECT_EQ(access_.held.load(), 0);
    EXPECT_FALSE(deferred->pending(kFine));
  }
  test::serving_barrier();
  if (rank() == kServer) {
    EXPECT_EQ(attempts_[kFine].load(), kWrites);
  }
}

TEST_F(DeferredExtendsTest, ACutUpdateIsSentAgainAndAFailedOneIsReportedOnceB20) {
  ASSERT_TRUE(engine_->start().ok());
  auto deferred = make_deferred(std::chrono::seconds(30));
  if (rank() == kWriter) {
    add(*deferred, kCut, 1);
    add(*deferred, kFails, 1);
    add(*deferred, kFine, 1);
    EXPECT_TRUE(deferred->settle(kFine).ok());
    auto cut = deferred->settle(kCut);
    EXPECT_TRUE(cut.ok()) << cut.error().message;
    auto failed = deferred->settle(kFails);
    ASSERT_FALSE(failed.ok());
    EXPECT_EQ(failed.error().code, EXDEV);
    EXPECT_NE(failed.error().message.find("were not published"), std::string::npos)
        << failed.error().message;
    // Reported once, as a write-back error is.
    EXPECT_TRUE(deferred->settle(kFails).ok());
    EXPECT_TRUE(deferred->settle_all().ok());
    EXPECT_EQ(access_.held.load(), 0);
  }
  test::serving_barrier();
  if (rank() == kServer) {
    EXPECT_EQ(attempts_[kCut].load(), kCuts + 1);
    EXPECT_EQ(attempts_[kFails].load(), 1);
  }
}

TEST_F(DeferredExtendsTest, ACutUpdateIsReportedOnceItsRetryLimitPassedB20) {
  ASSERT_TRUE(engine_->start().ok());
  auto deferred = make_deferred(std::chrono::milliseconds(0));
  if (rank() == kWriter) {
    add(*deferred, kCut, 1);
    auto cut = deferred->settle_all();
    ASSERT_FALSE(cut.ok());
    EXPECT_EQ(cut.error().code, ESTALE);
    EXPECT_EQ(access_.held.load(), 0);
  }
  test::serving_barrier();
  if (rank() == kServer) {
    EXPECT_EQ(attempts_[kCut].load(), 1);
  }
}

}  // namespace
}  // namespace pdm::pfs

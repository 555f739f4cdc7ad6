// The reply journal and the opens kept in the metadata store (issue #4:
// metadata operations apply once across a metadata server's death;
// pfs/meta/reply_journal.h). A server that takes over is played by a second
// MetaService opened on the same store directory after the first is gone.
#include <fcntl.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <memory>
#include <vector>

#include "pfs/meta/meta_protocol.h"
#include "pfs/meta/reply_journal.h"
#include "runtime/base/failpoint.h"
#include "runtime/mpi/typed_rpc.h"
#include "tests/unit/unit_support.h"

namespace {

using pdm::test::code_of;
using pdm::test::must;
using pdm::test::TempDir;
using namespace pdm;
using namespace pdm::pfs;

constexpr std::uint64_t kClient = 0x5eed;

class ReplyJournal : public ::testing::Test {
 protected:
  void SetUp() override { open_service(); }

  void open_service() {
    service_.reset();
    MetaStoreOptions o;
    o.dir = dir_.path() + "/meta";
    o.map_size = std::size_t{64} << 20;
    o.default_stripe_size = 65536;
    o.volume_count = 2;
    service_ = std::make_unique<MetaService>(must(MetaStore::open(o)));
  }

  // The open and close handlers as meta_handlers.cpp registers them, made replayable.
  mpi::Handler open_handler() {
    return replayable(
        [this] { return service_.get(); },
        mpi::make_handler<OpenRequest>([this](const OpenRequest &r, const mpi::Request &request) {
          return service_->open(r, request.source);
        }));
  }
  mpi::Handler close_handler() {
    return replayable(
        [this] { return service_.get(); },
        mpi::make_handler<CloseRequest>([this](const CloseRequest &r, const mpi::Request &request) {
          return service_->close(r.ino, r.was_read, request.source);
        }));
  }
  mpi::Handler getattr_handler() {
    return replayable(
        [this] { return service_.get(); },
        mpi::make_handler<InodeRequest>([this](const InodeRequest &r, const mpi::Request &) {
          return service_->getattr(r.ino);
        }));
  }

  // Runs a handler as the progress thread would for an attempt at op `seq`
  // from rank `source`; the decoded response, or the error.
  template <typename Resp, typename Req>
  Result<Resp> attempt(const mpi::Handler &handler, const Req &request, std::uint64_t seq,
                       int source = 1) {
    const mpi::Encoder encoded = mpi::encode_message(request);
    mpi::Request incoming;
    incoming.source = source;
    incoming.header.op_client = seq == 0 ? 0 : kClient;
    incoming.header.op_seq = seq;
    incoming.payload = std::span(encoded.bytes()).subspan(mpi::Header::kSize);
    mpi::Encoder response;
    PDM_TRY(handler(incoming, response));
    return mpi::decode_payload<Resp>(response.bytes());
  }

  static OpenRequest create_exclusive(const std::string &path) {
    return OpenRequest{path, O_CREAT | O_EXCL | O_RDWR, 0644, 0, 0};
  }

  TempDir dir_;
  std::unique_ptr<MetaService> service_;
};

TEST_F(ReplyJournal, ARepeatedExclusiveCreateGetsTheFirstReplyNotEexist) {
  auto handler = open_handler();
  auto first = must(attempt<Created>(handler, create_exclusive("/a"), 7));
  EXPECT_TRUE(first.created);
  auto again = must(attempt<Created>(handler, create_exclusive("/a"), 7));
  EXPECT_TRUE(again.created);
  EXPECT_EQ(again.inode.ino, first.inode.ino);
  // Another operation is no repeat: it fails as POSIX says.
  EXPECT_EQ(code_of(attempt<Created>(handler, create_exclusive("/a"), 8)), EEXIST);
  // Without an operation id nothing is replayed either.
  EXPECT_EQ(code_of(attempt<Created>(handler, create_exclusive("/a"), 0)), EEXIST);
}

TEST_F(ReplyJournal, TheServerThatTakesOverAnswersARepeatLikeTheDeadOne) {
  const auto first = must(attempt<Created>(open_handler(), create_exclusive("/b"), 11));
  open_service();  // the first server is gone; its store is all that is left
  auto again = must(attempt<Created>(open_handler(), create_exclusive("/b"), 11));
  EXPECT_EQ(again.inode.ino, first.inode.ino);
  // The open was counted once, on the store: one close ends it.
  must(attempt<Unlinked>(close_handler(), CloseRequest{first.inode.ino, false}, 12));
  EXPECT_FALSE(must(service_->store().is_open(first.inode.ino)));
  EXPECT_EQ(code_of(attempt<Unlinked>(close_handler(), CloseRequest{first.inode.ino, false}, 13)),
            EBADF);
}

TEST_F(ReplyJournal, ARepeatedCloseDropsTheOpenCountOnce) {
  auto opened = must(attempt<Created>(open_handler(), create_exclusive("/c"), 21));
  must(attempt<Created>(open_handler(), OpenRequest{"/c", O_RDONLY, 0, 0, 0}, 22));
  must(attempt<Unlinked>(close_handler(), CloseRequest{opened.inode.ino, false}, 23));
  must(attempt<Unlinked>(close_handler(), CloseRequest{opened.inode.ino, false}, 23));
  EXPECT_TRUE(must(service_->store().is_open(opened.inode.ino)));
}

TEST_F(ReplyJournal, AFailedOperationIsReplayedWithItsError) {
  auto handler = open_handler();
  must(attempt<Created>(handler, create_exclusive("/d"), 31));
  // Fails without changing anything: not recorded, so a repeat runs again.
  EXPECT_EQ(code_of(attempt<Created>(handler, create_exclusive("/d"), 32)), EEXIST);
  EXPECT_FALSE(must(service_->store().find_reply(kClient, 32)).has_value());
}

TEST_F(ReplyJournal, ReadsAreNotRecorded) {
  auto created = must(attempt<Created>(open_handler(), create_exclusive("/e"), 41));
  must(attempt<Inode>(getattr_handler(), InodeRequest{created.inode.ino}, 42));
  EXPECT_TRUE(must(service_->store().find_reply(kClient, 41)).has_value());
  EXPECT_FALSE(must(service_->store().find_reply(kClient, 42)).has_value());
}

TEST_F(ReplyJournal, AnOperationCutBeforeItsCommitLeavesNothingAndItsRepeatAppliesItOnce) {
  // The server died inside the operation, after its writes (the create and
  // the open count), before its commit.
  InodeNumber created = 0;
  {
    MetaStore::ApplyingOp applying(service_->store(), kClient, 51);
    created = must(service_->open(create_exclusive("/f"), 1)).inode.ino;
    EXPECT_TRUE(applying.applied());
    // The operation's own reads see its writes.
    EXPECT_EQ(must(service_->resolve("/f")).ino, created);
    EXPECT_TRUE(must(service_->store().is_open(created)));
  }
  EXPECT_EQ(code_of(service_->resolve("/f")), ENOENT) << "half an operation was applied";
  EXPECT_FALSE(must(service_->store().is_open(created)));
  EXPECT_FALSE(must(service_->store().find_reply(kClient, 51)).has_value());
  const auto repeat = must(attempt<Created>(open_handler(), create_exclusive("/f"), 51));
  EXPECT_TRUE(repeat.created);
  // One open was counted: one close ends it.
  must(attempt<Unlinked>(close_handler(), CloseRequest{repeat.inode.ino, false}, 52));
  EXPECT_FALSE(must(service_->store().is_open(repeat.inode.ino)));
}

TEST_F(ReplyJournal, AnOperationIsCommittedOnceWithItsReplyB20) {
  // An exclusive create writes the inode, its entry and its open count,
  // then the reply: one commit to the store, after which the reply is there.
  int commits = 0;
  failpoint::arm_every("meta_store.before_commit", [&] { ++commits; });
  const auto first = must(attempt<Created>(open_handler(), create_exclusive("/h"), 71));
  failpoint::disarm();
  EXPECT_EQ(commits, 1);
  // Killed right after that commit: the next server answers the repeat
  // with the reply, neither EIO nor EEXIST.
  bool reply_committed = false;
  failpoint::arm("meta_store.after_commit", [&] {
    auto reply = service_->store().find_reply(kClient, 72);
    reply_committed = reply.ok() && reply->has_value();
  });
  must(attempt<Unlinked>(close_handler(), CloseRequest{first.inode.ino, false}, 72));
  failpoint::disarm();
  EXPECT_TRUE(reply_committed);
  open_service();
  const auto again = must(attempt<Created>(open_handler(), create_exclusive("/h"), 71));
  EXPECT_EQ(again.inode.ino, first.inode.ino);
  EXPECT_TRUE(must(service_->store().find_reply(kClient, 72)).has_value());
}

TEST_F(ReplyJournal, AnOperationInsideAnotherCannotWriteAndLeavesTheOuterOneWhole) {
  MetaStore::ApplyingOp outer(service_->store(), kClient, 91);
  must(service_->open(create_exclusive("/j"), 1));
  {
    MetaStore::ApplyingOp inner(service_->store(), kClient, 92);
    EXPECT_EQ(code_of(service_->open(create_exclusive("/k"), 1)), EDEADLK);
    EXPECT_FALSE(inner.applied());
  }
  must(outer.finish({}));
  EXPECT_TRUE(service_->resolve("/j").ok());
  EXPECT_EQ(code_of(service_->resolve("/k")), ENOENT);
  EXPECT_TRUE(must(service_->store().find_reply(kClient, 91)).has_value());
}

TEST_F(ReplyJournal, AnOperationWhoseCommitFailsFailsAndLeavesNothing) {
  failpoint::arm("meta_store.refuse_commit", [] {});
  EXPECT_EQ(code_of(attempt<Created>(open_handler(), create_exclusive("/l"), 101)), EIO);
  failpoint::disarm();
  EXPECT_EQ(code_of(service_->resolve("/l")), ENOENT);
  EXPECT_FALSE(must(service_->store().find_reply(kClient, 101)).has_value());
  // Its repeat applies it, once.
  const auto repeat = must(attempt<Created>(open_handler(), create_exclusive("/l"), 101));
  EXPECT_TRUE(repeat.created);
}

TEST_F(ReplyJournal, AnOperationThatWritesNothingCommitsNothing) {
  must(attempt<Created>(open_handler(), create_exclusive("/i"), 81));
  int commits = 0;
  failpoint::arm_every("meta_store.before_commit", [&] { ++commits; });
  EXPECT_EQ(code_of(attempt<Created>(open_handler(), create_exclusive("/i"), 82)), EEXIST);
  failpoint::disarm();
  EXPECT_EQ(commits, 0);
}

TEST_F(ReplyJournal, OldRepliesArePrunedAndANewJobStartsEmpty) {
  MetaStore &store = service_->store();
  const MetaStore::RecordedReply reply{0, "", {}};
  must(store.record_reply(kClient, 1, reply));
  must(store.record_reply(kClient, 5000, reply));
  must(store.record_reply(kClient + 1, 1, reply));
  const std::uint64_t later = 2 * MetaStore::kReplyWindow;  // a multiple of 256: prunes
  must(store.record_reply(kClient, later, reply));
  EXPECT_FALSE(must(store.find_reply(kClient, 1)).has_value());
  EXPECT_TRUE(must(store.find_reply(kClient, 5000)).has_value());
  EXPECT_TRUE(must(store.find_reply(kClient + 1, 1)).has_value());  // another client's
  must(store.start_job());
  EXPECT_FALSE(must(store.find_reply(kClient, later)).has_value());
}

TEST_F(ReplyJournal, OpensOfDeadRanksEndWithThem) {
  MetaStore &store = service_->store();
  auto created = must(attempt<Created>(open_handler(), create_exclusive("/g"), 61, 3));
  must(attempt<Created>(open_handler(), OpenRequest{"/g", O_RDONLY, 0, 0, 0}, 62, 3));
  EXPECT_TRUE(must(store.is_open(created.inode.ino)));
  const std::vector<int> still_there{0, 1, 3};
  must(store.drop_opens_except(still_there));
  EXPECT_TRUE(must(store.is_open(created.inode.ino)));
  const std::vector<int> without_3{0, 1, 2};
  must(store.drop_opens_except(without_3));
  EXPECT_FALSE(must(store.is_open(created.inode.ino)));
  must(attempt<Created>(open_handler(), OpenRequest{"/g", O_RDONLY, 0, 0, 0}, 63, 2));
  must(store.start_job());
  EXPECT_FALSE(must(store.is_open(created.inode.ino)));
}

}  // namespace

// DMAPI access rights under 4 ranks (issue #3; XDSM ch. 5 dm_request_right,
// dm_release_right, dm_query_right, dm_upgrade_right, dm_downgrade_right):
// "EXCL excludes other DM rights and conflicting file operations on the
// object while held."
//
// Rank 1 is the DM application with two sessions; its tokens come from
// synchronous events (CREATE to session A, REMOVE to session B) that helper
// threads of rank 1 raise. Rank 2 writes and rank 3 reads the locked file.
// "Blocked" is shown without timing: the operation's thread is counted as
// waiting on the inode by its rank (RightsService::waiting) and has not
// returned; the file's content proves the write did not happen while a
// right excluded it.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <mpi.h>
#include <pdm/dmapi.h>
#include <pdm/pdm.h>

#include <atomic>
#include <cstring>
#include <functional>
#include <optional>
#include <thread>

#include "runtime/mpi/backoff.h"
#include "runtime/node/process_node.h"
#include "tests/mpi/fs_fixture.h"

namespace pdm::test {
namespace {

const auto *const kEnv = ::testing::AddGlobalTestEnvironment(new FileSystemEnvironment());

constexpr int kDm = 1;
constexpr int kWriter = 2;
constexpr int kReader = 3;
constexpr std::size_t kLength = 200 * 1024;  // crosses stripes and volumes
constexpr char kData[] = "/rights-data";

// A file operation in a thread of this rank, observable while it runs.
class Operation {
 public:
  explicit Operation(std::function<long()> op)
      : thread_([this, op = std::move(op)] {
          result_ = op();
          done_ = true;
        }) {}
  ~Operation() {
    if (thread_.joinable()) thread_.join();
  }
  bool done() const { return done_; }
  long join() {
    thread_.join();
    return result_;
  }

 private:
  std::atomic<bool> done_{false};
  long result_ = -1;
  std::thread thread_;
};

// Waits until this rank counts one operation waiting for a right on ino,
// or the operation returned (it was not blocked: the caller's check fails).
void await_blocked(std::uint64_t ino, const Operation &op) {
  mpi::Backoff backoff;
  while (node::process_node()->rights().waiting(ino) != 1 && !op.done()) backoff.pause();
}

// A token of session `sid`: a helper thread raises a synchronous event that
// goes to the session, and blocks until answer().
class TokenSource {
 public:
  TokenSource(dm_sessid_t sid, int event, std::function<long()> op)
      : sid_(sid), op_(std::move(op)) {
    static char buffer[4096];
    std::size_t rlen = 0;
    EXPECT_EQ(dm_get_events(sid, 1, DM_EV_WAIT, sizeof buffer, buffer, &rlen), 0)
        << pdm_last_error();
    auto *message = reinterpret_cast<dm_eventmsg_t *>(buffer);
    EXPECT_EQ(message->ev_type, event);
    token = message->ev_token;
  }
  // Answers CONTINUE (which releases the token's rights) and waits for the operation.
  void answer() {
    EXPECT_EQ(dm_respond_event(sid_, token, DM_RESP_CONTINUE, 0, 0, nullptr), 0)
        << pdm_last_error();
    EXPECT_GE(op_.join(), 0);
  }
  dm_token_t token = DM_NO_TOKEN;

 private:
  dm_sessid_t sid_;
  Operation op_;
};

bool excluded_here(std::uint64_t ino, pfs::AccessKind kind) {
  return node::process_node()->control().read(
      [&](const dm::SessionTable &t) { return t.rights().excludes(ino, kind); });
}

std::vector<std::byte> read_all(int fd) {
  std::vector<std::byte> buffer(kLength);
  EXPECT_EQ(pdm_pread(fd, buffer.data(), buffer.size(), 0), static_cast<ssize_t>(kLength))
      << pdm_last_error();
  return buffer;
}

int error_of(int rc) {
  return rc == 0 ? 0 : errno;
}

TEST(AccessRights, ExclExcludesRightsAndFileOperationsSharedLetsReadsThrough) {
  // The file, and the one whose unlink gives session B its token.
  if (rank() == 0) {
    const auto original = pattern(1, 0, kLength);
    int fd = pdm_open(kData, O_CREAT | O_WRONLY, 0644);
    ASSERT_GE(fd, 0) << pdm_last_error();
    ASSERT_EQ(pdm_pwrite(fd, original.data(), original.size(), 0), static_cast<ssize_t>(kLength));
    ASSERT_EQ(pdm_close(fd), 0);
    fd = pdm_open("/rights-tok-b", O_CREAT | O_WRONLY, 0644);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(pdm_close(fd), 0);
  }
  MPI_Barrier(MPI_COMM_WORLD);
  struct stat st {};
  ASSERT_EQ(pdm_stat(kData, &st), 0) << pdm_last_error();
  const auto ino = static_cast<std::uint64_t>(st.st_ino);
  int fd = -1;
  if (rank() == kWriter) fd = pdm_open(kData, O_RDWR, 0);
  if (rank() == kReader || rank() == 0) fd = pdm_open(kData, O_RDONLY, 0);
  if (rank() != kDm) {
    ASSERT_GE(fd, 0) << pdm_last_error();
  }

  dm_sessid_t a = DM_NO_SESSION;
  dm_sessid_t b = DM_NO_SESSION;
  void *fsh = nullptr;
  void *h = nullptr;
  std::size_t fshlen = 0;
  std::size_t hlen = 0;
  std::unique_ptr<TokenSource> tok_a;
  std::unique_ptr<TokenSource> tok_b;
  if (rank() == kDm) {
    dm_size_t upgrade = 0;
    ASSERT_EQ(dm_path_to_fshandle(const_cast<char *>(kData), &fsh, &fshlen), 0);
    ASSERT_EQ(dm_path_to_handle(const_cast<char *>(kData), &h, &hlen), 0);
    EXPECT_EQ(dm_get_config(fsh, fshlen, DM_CONFIG_LOCK_UPGRADE, &upgrade), 0);
    EXPECT_EQ(upgrade, 1u) << "dm_upgrade_right keeps SHARED until EXCL is granted";
    char info_a[] = "rights-a";
    char info_b[] = "rights-b";
    ASSERT_EQ(dm_create_session(DM_NO_SESSION, info_a, &a), 0);
    ASSERT_EQ(dm_create_session(DM_NO_SESSION, info_b, &b), 0);
    dm_eventset_t create = 0;
    dm_eventset_t remove = 0;
    DMEV_SET(DM_EVENT_CREATE, create);
    DMEV_SET(DM_EVENT_REMOVE, remove);
    ASSERT_EQ(dm_set_disp(a, fsh, fshlen, DM_NO_TOKEN, &create, DM_EVENT_MAX), 0);
    ASSERT_EQ(dm_set_disp(b, fsh, fshlen, DM_NO_TOKEN, &remove, DM_EVENT_MAX), 0);
    dm_eventset_t both = create | remove;
    ASSERT_EQ(dm_set_eventlist(a, fsh, fshlen, DM_NO_TOKEN, &both, DM_EVENT_MAX), 0);
    tok_a = std::make_unique<TokenSource>(a, DM_EVENT_CREATE, [] {
      const int created = pdm_open("/rights-tok-a", O_CREAT | O_WRONLY, 0644);
      return created < 0 ? -1L : static_cast<long>(pdm_close(created));
    });
    tok_b = std::make_unique<TokenSource>(
        b, DM_EVENT_REMOVE, [] { return static_cast<long>(pdm_unlink("/rights-tok-b")); });
    const dm_token_t ta = tok_a->token;
    const dm_token_t tb = tok_b->token;

    // Errno paths (XDSM): nothing here changes a right.
    char junk[32] = {};
    dm_right_t right = DM_RIGHT_EXCL;
    EXPECT_EQ(error_of(dm_request_right(a, h, hlen, ta, 0, DM_RIGHT_NULL)), EINVAL);
    // (An out-of-range dm_right_t is legal C only: tests/dmapi/dmapi_rights.c.)
    EXPECT_EQ(error_of(dm_request_right(a, h, hlen, ta, 0x10, DM_RIGHT_SHARED)), EINVAL);
    EXPECT_EQ(error_of(dm_request_right(a, h, hlen, DM_NO_TOKEN, 0, DM_RIGHT_SHARED)), EINVAL);
    EXPECT_EQ(error_of(dm_request_right(a, h, hlen, tb, 0, DM_RIGHT_SHARED)), ESRCH)
        << "session A does not hold B's token";
    EXPECT_EQ(error_of(dm_request_right(9999, h, hlen, ta, 0, DM_RIGHT_SHARED)), EINVAL);
    EXPECT_EQ(error_of(dm_request_right(a, junk, sizeof junk, ta, 0, DM_RIGHT_SHARED)), EBADF);
    EXPECT_EQ(error_of(dm_request_right(a, fsh, fshlen, ta, 0, DM_RIGHT_SHARED)), EINVAL);
    EXPECT_EQ(error_of(dm_query_right(a, h, hlen, ta, nullptr)), EFAULT);
    EXPECT_EQ(error_of(dm_release_right(a, h, hlen, ta)), EACCES) << "holds no right";
    EXPECT_EQ(error_of(dm_upgrade_right(a, h, hlen, ta)), EPERM) << "upgrade from NULL";
    EXPECT_EQ(error_of(dm_downgrade_right(a, h, hlen, ta)), EPERM) << "downgrade from NULL";
    ASSERT_EQ(dm_query_right(a, h, hlen, ta, &right), 0);
    EXPECT_EQ(right, DM_RIGHT_NULL);

    // A takes EXCL; B can have no right on the object.
    ASSERT_EQ(dm_request_right(a, h, hlen, ta, 0, DM_RIGHT_EXCL), 0) << pdm_last_error();
    ASSERT_EQ(dm_query_right(a, h, hlen, ta, &right), 0);
    EXPECT_EQ(right, DM_RIGHT_EXCL);
    EXPECT_EQ(error_of(dm_request_right(b, h, hlen, tb, 0, DM_RIGHT_SHARED)), EAGAIN);
    EXPECT_EQ(error_of(dm_request_right(b, h, hlen, tb, 0, DM_RIGHT_EXCL)), EAGAIN);
  }
  MPI_Barrier(MPI_COMM_WORLD);
  // When dm_request_right returned, every rank held the right.
  EXPECT_TRUE(excluded_here(ino, pfs::AccessKind::kRead));

  // EXCL: a write on rank 2 and a read on rank 3 wait.
  const auto written = pattern(2, 0, kLength);
  std::vector<std::byte> seen(kLength);
  std::unique_ptr<Operation> op;
  if (rank() == kWriter) {
    op = std::make_unique<Operation>(
        [&] { return static_cast<long>(pdm_pwrite(fd, written.data(), written.size(), 0)); });
  }
  if (rank() == kReader) {
    op = std::make_unique<Operation>(
        [&] { return static_cast<long>(pdm_pread(fd, seen.data(), seen.size(), 0)); });
  }
  if (op) {
    await_blocked(ino, *op);
    EXPECT_FALSE(op->done()) << "the operation went through an EXCL right";
  }
  MPI_Barrier(MPI_COMM_WORLD);

  // DM_RR_WAIT: B waits for EXCL while A holds a right.
  std::unique_ptr<Operation> waiter;
  if (rank() == kDm) {
    waiter = std::make_unique<Operation>([&] {
      return static_cast<long>(
          dm_request_right(b, h, hlen, tok_b->token, DM_RR_WAIT, DM_RIGHT_EXCL));
    });
    // A downgrades to SHARED: reads may go on, writes still wait.
    ASSERT_EQ(dm_downgrade_right(a, h, hlen, tok_a->token), 0) << pdm_last_error();
    ASSERT_EQ(dm_downgrade_right(a, h, hlen, tok_a->token), 0) << "SHARED already: no change";
    dm_right_t right = DM_RIGHT_NULL;
    ASSERT_EQ(dm_query_right(a, h, hlen, tok_a->token, &right), 0);
    EXPECT_EQ(right, DM_RIGHT_SHARED);
  }
  MPI_Barrier(MPI_COMM_WORLD);
  if (rank() == kReader) {
    EXPECT_EQ(op->join(), static_cast<long>(kLength)) << pdm_last_error();
    EXPECT_EQ(seen, pattern(1, 0, kLength)) << "the waiting write must not have happened";
  }
  if (rank() == kWriter) {
    EXPECT_FALSE(op->done()) << "a write went through a SHARED right";
    EXPECT_EQ(node::process_node()->rights().waiting(ino), 1u);
  }
  if (rank() == 0) {
    EXPECT_EQ(read_all(fd), pattern(1, 0, kLength)) << "SHARED lets reads through";
  }
  MPI_Barrier(MPI_COMM_WORLD);

  if (rank() == kDm) {
    const dm_token_t ta = tok_a->token;
    const dm_token_t tb = tok_b->token;
    // A's release lets B's waiting request through.
    ASSERT_EQ(dm_release_right(a, h, hlen, ta), 0) << pdm_last_error();
    EXPECT_EQ(waiter->join(), 0) << pdm_last_error();
    dm_right_t right = DM_RIGHT_NULL;
    ASSERT_EQ(dm_query_right(b, h, hlen, tb, &right), 0);
    EXPECT_EQ(right, DM_RIGHT_EXCL);
    // Upgrade and downgrade.
    EXPECT_EQ(dm_upgrade_right(b, h, hlen, tb), 0) << "EXCL already: no change";
    ASSERT_EQ(dm_downgrade_right(b, h, hlen, tb), 0);
    ASSERT_EQ(dm_request_right(a, h, hlen, ta, 0, DM_RIGHT_SHARED), 0) << "SHARED with SHARED";
    EXPECT_EQ(error_of(dm_upgrade_right(b, h, hlen, tb)), EAGAIN) << "A holds SHARED";
    ASSERT_EQ(dm_release_right(a, h, hlen, ta), 0);
    ASSERT_EQ(dm_upgrade_right(b, h, hlen, tb), 0) << pdm_last_error();
    ASSERT_EQ(dm_query_right(b, h, hlen, tb, &right), 0);
    EXPECT_EQ(right, DM_RIGHT_EXCL);
    // Answering the event releases the token's rights (XDSM), on every rank
    // before dm_respond_event returns.
    tok_b->answer();
    EXPECT_EQ(error_of(dm_request_right(b, h, hlen, tb, 0, DM_RIGHT_SHARED)), ESRCH)
        << "an answered token holds nothing";
  }
  MPI_Barrier(MPI_COMM_WORLD);
  EXPECT_FALSE(excluded_here(ino, pfs::AccessKind::kModify));
  if (rank() == kWriter) {
    EXPECT_EQ(op->join(), static_cast<long>(kLength)) << pdm_last_error();
  }
  MPI_Barrier(MPI_COMM_WORLD);
  if (rank() != kDm) {
    EXPECT_EQ(read_all(fd), written) << "the write happened after the release";
  }

  MPI_Barrier(MPI_COMM_WORLD);
  if (rank() == kDm) {
    tok_a->answer();
    dm_eventset_t none = 0;
    EXPECT_EQ(dm_set_eventlist(a, fsh, fshlen, DM_NO_TOKEN, &none, DM_EVENT_MAX), 0);
    EXPECT_EQ(dm_destroy_session(a), 0);
    EXPECT_EQ(dm_destroy_session(b), 0);
    dm_handle_free(h, hlen);
    dm_handle_free(fsh, fshlen);
  }
  if (fd >= 0) {
    EXPECT_EQ(pdm_close(fd), 0);
  }
  MPI_Barrier(MPI_COMM_WORLD);
}

// An operation already running when a right is granted must finish before
// dm_request_right returns. Rank 2 holds an operation in flight (a guard of
// ObjectAccess, exactly what pread takes); rank 1's request is granted on
// every rank but does not return until rank 2's operation ends.
TEST(AccessRights, AGrantWaitsForTheOperationsAlreadyRunning) {
  if (rank() == 0) {
    int fd = pdm_open("/rights-busy", O_CREAT | O_WRONLY, 0644);
    ASSERT_GE(fd, 0) << pdm_last_error();
    ASSERT_EQ(pdm_close(fd), 0);
  }
  MPI_Barrier(MPI_COMM_WORLD);
  struct stat st {};
  ASSERT_EQ(pdm_stat("/rights-busy", &st), 0) << pdm_last_error();
  const auto ino = static_cast<std::uint64_t>(st.st_ino);
  std::optional<pfs::AccessGuard> running;
  if (rank() == kWriter) {
    auto guard = node::process_node()->rights().begin(ino, pfs::AccessKind::kRead);
    ASSERT_TRUE(guard.ok()) << guard.error().message;
    running.emplace(std::move(guard).value());
  }
  MPI_Barrier(MPI_COMM_WORLD);

  dm_sessid_t sid = DM_NO_SESSION;
  void *fsh = nullptr;
  void *h = nullptr;
  std::size_t fshlen = 0;
  std::size_t hlen = 0;
  std::unique_ptr<TokenSource> token;
  std::unique_ptr<Operation> request;
  if (rank() == kDm) {
    ASSERT_EQ(dm_path_to_fshandle(const_cast<char *>("/rights-busy"), &fsh, &fshlen), 0);
    ASSERT_EQ(dm_path_to_handle(const_cast<char *>("/rights-busy"), &h, &hlen), 0);
    char info[] = "rights-busy";
    ASSERT_EQ(dm_create_session(DM_NO_SESSION, info, &sid), 0);
    dm_eventset_t create = 0;
    DMEV_SET(DM_EVENT_CREATE, create);
    ASSERT_EQ(dm_set_disp(sid, fsh, fshlen, DM_NO_TOKEN, &create, DM_EVENT_MAX), 0);
    ASSERT_EQ(dm_set_eventlist(sid, fsh, fshlen, DM_NO_TOKEN, &create, DM_EVENT_MAX), 0);
    token = std::make_unique<TokenSource>(sid, DM_EVENT_CREATE, [] {
      const int created = pdm_open("/rights-busy-token", O_CREAT | O_WRONLY, 0644);
      return created < 0 ? -1L : static_cast<long>(pdm_close(created));
    });
    request = std::make_unique<Operation>([&] {
      return static_cast<long>(dm_request_right(sid, h, hlen, token->token, 0, DM_RIGHT_EXCL));
    });
    // The request is granted everywhere, then finds rank 2's operation
    // running and waits for it (draining), and cannot return meanwhile.
    mpi::Backoff backoff;
    auto &rights = node::process_node()->rights();
    while (rights.draining() != 1 && !request->done()) backoff.pause();
    EXPECT_FALSE(request->done()) << "dm_request_right returned while an operation was running";
    EXPECT_TRUE(excluded_here(ino, pfs::AccessKind::kRead));
  }
  MPI_Barrier(MPI_COMM_WORLD);
  running.reset();  // rank 2's operation ends
  if (rank() == kDm) {
    EXPECT_EQ(request->join(), 0) << pdm_last_error();
    token->answer();
    dm_eventset_t none = 0;
    EXPECT_EQ(dm_set_eventlist(sid, fsh, fshlen, DM_NO_TOKEN, &none, DM_EVENT_MAX), 0);
    EXPECT_EQ(dm_destroy_session(sid), 0);
    dm_handle_free(h, hlen);
    dm_handle_free(fsh, fshlen);
  }
  MPI_Barrier(MPI_COMM_WORLD);
}

// XDSM: a DM call made with DM_NO_TOKEN acquires the right it needs for its
// duration. So while session A's token holds EXCL on a file, session B's
// dm_set_dmattr with DM_NO_TOKEN waits (counted as waiting on the inode,
// not returned, the attribute not set), and goes through once A releases;
// while A only holds SHARED, B's DM_NO_TOKEN reads go through at once.
TEST(AccessRights, NoTokenCallsTakeAShortTermRight) {
  if (rank() == 0) {
    int fd = pdm_open("/rights-notoken", O_CREAT | O_WRONLY, 0644);
    ASSERT_GE(fd, 0) << pdm_last_error();
    ASSERT_EQ(pdm_close(fd), 0);
  }
  MPI_Barrier(MPI_COMM_WORLD);
  if (rank() == kDm) {
    struct stat st {};
    ASSERT_EQ(pdm_stat("/rights-notoken", &st), 0) << pdm_last_error();
    const auto ino = static_cast<std::uint64_t>(st.st_ino);
    void *h = nullptr;
    std::size_t hlen = 0;
    ASSERT_EQ(dm_path_to_handle(const_cast<char *>("/rights-notoken"), &h, &hlen), 0);
    dm_sessid_t a = DM_NO_SESSION;
    dm_sessid_t b = DM_NO_SESSION;
    char info_a[] = "notoken-a";
    char info_b[] = "notoken-b";
    ASSERT_EQ(dm_create_session(DM_NO_SESSION, info_a, &a), 0);
    ASSERT_EQ(dm_create_session(DM_NO_SESSION, info_b, &b), 0);
    dm_token_t ta = DM_NO_TOKEN;
    char user[] = "token";
    ASSERT_EQ(dm_create_userevent(a, sizeof user, user, &ta), 0) << pdm_last_error();
    ASSERT_EQ(dm_request_right(a, h, hlen, ta, DM_RR_WAIT, DM_RIGHT_EXCL), 0) << pdm_last_error();

    dm_attrname_t name{};
    std::memcpy(name.an_chars, "nt", 2);
    char value[] = "b";
    Operation set([&] {
      return static_cast<long>(dm_set_dmattr(b, h, hlen, DM_NO_TOKEN, &name, 0, 1, value));
    });
    await_blocked(ino, set);
    EXPECT_FALSE(set.done()) << "a DM_NO_TOKEN change went through under another token's EXCL";
    char got[8] = {};
    std::size_t rlen = 0;
    EXPECT_EQ(dm_get_dmattr(a, h, hlen, ta, &name, sizeof got, got, &rlen), -1);
    EXPECT_EQ(errno, ENOENT) << "the waiting change must not have happened";

    ASSERT_EQ(dm_downgrade_right(a, h, hlen, ta), 0) << pdm_last_error();
    // SHARED still excludes the change ...
    EXPECT_FALSE(set.done());
    // ... but lets a DM_NO_TOKEN read through.
    EXPECT_EQ(dm_get_dmattr(b, h, hlen, DM_NO_TOKEN, &name, sizeof got, got, &rlen), -1);
    EXPECT_EQ(errno, ENOENT);
    ASSERT_EQ(dm_release_right(a, h, hlen, ta), 0) << pdm_last_error();
    EXPECT_EQ(set.join(), 0) << pdm_last_error();
    EXPECT_EQ(dm_get_dmattr(b, h, hlen, DM_NO_TOKEN, &name, sizeof got, got, &rlen), 0);
    EXPECT_EQ(std::string(got, rlen), "b");

    EXPECT_EQ(dm_respond_event(a, ta, DM_RESP_CONTINUE, 0, 0, nullptr), 0) << pdm_last_error();
    EXPECT_EQ(dm_destroy_session(a), 0);
    EXPECT_EQ(dm_destroy_session(b), 0);
    dm_handle_free(h, hlen);
  }
  MPI_Barrier(MPI_COMM_WORLD);
}

}  // namespace
}  // namespace pdm::test

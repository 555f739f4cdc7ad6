// RightsService: DMAPI access rights that are real (XDSM ch. 5,
// dm_request_right etc.; issue #3) — they exclude other tokens' rights and
// the file operations of every rank that conflict with them.
//
// Rights live in the replicated session table (RightsTable): a change is one
// update the session manager validates (EAGAIN on a conflict) and every rank
// applies, so each rank knows locally which objects are locked.
//
// File operations: pfs asks ObjectAccess::begin(ino, kind) first, which this
// class implements. Under the control plane's mutex — the lock under which
// replicated updates are applied — it checks the rights on the object and,
// if none excludes the operation, counts it as in flight on this rank;
// otherwise the operation waits for the next applied update and checks
// again. Check and count being atomic with the application of a right means
// every operation either saw the right (and waits) or is counted. So after a
// grant reached every rank, the requester polls every rank's in-flight count
// of the operations the right excludes (a non-blocking RPC) until it is zero:
// when dm_request_right/dm_upgrade_right returns, no conflicting operation is
// running anywhere and none can start.
//
// Waiting (DM_RR_WAIT, blocked operations) sleeps on the control plane's
// acknowledgement condition variable, never spins.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>

#include "pfs/object_access.h"
#include "runtime/dm/control_plane.h"
#include "runtime/mpi/rpc.h"

namespace pdm::dm {

class RightsService : public pfs::ObjectAccess {
 public:
  RightsService(mpi::RpcEngine &engine, ControlPlane &control);

  // Registers the in-flight query handler; before the engine starts.
  void attach();

  // dm_request_right: SHARED or EXCL for the token; with `wait`, waits until
  // it is granted instead of EAGAIN. Returns once the right holds everywhere
  // and the operations it excludes have finished.
  Status request(SessionId session, Token token, std::uint64_t ino, Right right, bool wait);
  Status release(SessionId session, Token token, std::uint64_t ino);
  Status upgrade(SessionId session, Token token, std::uint64_t ino);
  Status downgrade(SessionId session, Token token, std::uint64_t ino);
  Right query(Token token, std::uint64_t ino) const;
  // Drops every right of a token (XDSM: when its event is answered); no
  // message when it holds none.
  Status release_token(Token token);
  // dm_move_event moved the token to `session`: its rights go with it (else
  // destroying the old session would drop them). No message if it holds none.
  Status move_token(Token token, SessionId session);

  // ObjectAccess.
  Result<pfs::AccessGuard> begin(pfs::InodeNumber ino, pfs::AccessKind kind) override;
  std::optional<pfs::AccessGuard> begin_unresolved(pfs::AccessKind kind) override;

  // File operations of this rank waiting for a right on ino to go (tests use
  // it to see that an operation is blocked without timing anything).
  std::uint32_t waiting(std::uint64_t ino) const;
  // Grants of this rank waiting for operations that were already running.
  std::uint32_t draining() const { return draining_; }

 protected:
  void end(pfs::InodeNumber ino, pfs::AccessKind kind) override;

 private:
  struct Counts {
    std::uint32_t reads = 0;
    std::uint32_t modifies = 0;
    std::uint32_t waiting = 0;
    bool idle() const { return reads == 0 && modifies == 0 && waiting == 0; }
  };
  // Submits a change; with `wait`, retries a conflict after each newer update.
  Status change(const RightChange &change, bool wait);
  // Polls every rank until no operation that `right` on ino excludes is in flight.
  Status drain(std::uint64_t ino, Right right);
  // This rank's in-flight operations that `right` on ino excludes (caller
  // holds the control plane's mutex, i.e. runs inside control_.read).
  std::uint64_t busy(std::uint64_t ino, Right right) const;
  void forget_if_idle(std::uint64_t ino);

  mpi::RpcEngine &engine_;
  ControlPlane &control_;
  // Guarded by the control plane's mutex: touched only inside control_.read,
  // so counting an operation is atomic with applying a right.
  std::map<std::uint64_t, Counts> counts_;
  Counts unresolved_;  // begin_unresolved: in flight on every object
  std::atomic<std::uint32_t> draining_{0};
};

}  // namespace pdm::dm

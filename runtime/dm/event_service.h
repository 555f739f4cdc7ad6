// EventService: DMAPI events from the rank where a file operation raises them
// (the source) to the session that holds their disposition (DESIGN.md §5).
//
// Source side (pfs calls it through EventGate): check the file system's event
// list (data events skip it: a managed region raised them); find the disposition in the replicated
// session table (B7); an enabled synchronous event without one fails the operation with EIO. A
// group disposition goes to the group's member on this rank when there is
// one (the event is handled where it arises, B18), else to the active member
// chosen by load (the fewest events this rank sent it that are not done;
// ties to the lowest id); a group with async_to_all gets asynchronous events at every
// member (B19). The event travels by RPC to the session node, which queues it. A
// synchronous event carries a cluster-unique token and blocks the operation
// until the session responds: CONTINUE lets it go on, ABORT fails it with
// the session's errno. The session node defers its reply to that call
// (RpcEngine::defer) and dm_respond_event sends the answer as the reply, so
// an event costs one round trip on the wire (issue #3's latency target).
// A view change cuts such a call; the source sends the event again with its
// token, and the node answers the new call, from the answers it keeps for a
// while (kAnswersKept) when the session responded in between.
//
// An asynchronous event's source keeps a copy until the session hands it
// out, to send it again if the session's node dies (EventCourier). It also
// sends it again when a view change cut its delivery, which the node may
// have queued all the same: the node knows each asynchronous event by its
// source and receipt for as long as it keeps answers, and takes a repeat of
// one it queued as delivered. So while its node lives a session gets each
// asynchronous event once.
//
// Session side: one queue per session of events not yet handed out by
// dm_get_events, and the synchronous events handed out but not yet answered
// (the session's tokens). dm_respond_event removes the token — a response is
// accepted once, and only from the session that holds the token — and sends
// the outcome to the source rank (the deferred reply; through pending_ when
// the source is the session's own rank).
//
// Tokens are (source member + 1) * 2^20 + a per-source counter, so every
// rank makes unique tokens without asking anyone; they fit dm_token_t (int).
//
// Event lists: an event governed by an object with a per-file list (in the
// replicated session table) follows that list, else the file system's (see
// pfs::FsEvent). USER events are addressed to a session, not disposed:
// dm_send_msg delivers one to the session's node (synchronous ones wait for
// the answer like any other), dm_create_userevent makes a token with no
// operation behind it. A token whose message has source -1 has nobody
// waiting: answering it only ends it (dm_create_userevent, MOUNT).
//
// Destroying a session: its node first closes it here (EBUSY while it has
// undelivered events, tokens or a reader waiting in dm_get_events); a closed
// session takes no new event, so nothing can slip in between the check and
// the replicated destroy.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <utility>
#include <vector>

#include "pfs/event_gate.h"
#include "runtime/dm/control_plane.h"
#include "runtime/dm/event_courier.h"
#include "runtime/dm/event_message.h"
#include "runtime/dm/recent_map.h"
#include "runtime/mpi/rpc.h"

namespace pdm::dm {

class EventTap;

// The most message data a USER event carries (dm_send_msg, dm_create_userevent).
inline constexpr std::size_t kMaxUserData = 64 * 1024 - 1024;

class EventService : public pfs::EventGate {
 public:
  EventService(mpi::RpcEngine &engine, ControlPlane &control, FsId fs);

  // Registers the delivery and response handlers; before the engine starts.
  void attach();
  // Every event queued for a session of this rank is also recorded in tap
  // (for `pdm events`); before the engine starts.
  void set_tap(EventTap *tap) { tap_ = tap; }
  // How long a synchronous event may wait for its orphaned session to be
  // assumed before its operation fails with EIO (session.orphan_timeout).
  // The same limit drops an asynchronous event kept for a session that stays
  // unreachable (EventCourier).
  void set_orphan_timeout(std::chrono::milliseconds limit);

  // EventGate.
  bool wanted(int type) const override;
  bool wanted(int type, pfs::EventObject governing) const override;
  Status raise(const pfs::FsEvent &event, bool synchronous) override;
  void object_gone(pfs::EventObject object) override;

  // Hands out up to max_messages events of a session of this rank, as many
  // as `fits` accepts (it is asked with the running count and each message);
  // EAGAIN when there are none and !wait, E2BIG when not even the first fits.
  Result<std::vector<EventMessage>> get_events(
      SessionId session, unsigned max_messages, bool wait,
      const std::function<bool(std::size_t count, const EventMessage &)> &fits);
  // Answers a synchronous event: errno 0 continues the operation, otherwise
  // it fails with that errno.
  Status respond(SessionId session, Token token, int error);
  // The tokens a session holds (handed out, not answered).
  Result<std::vector<Token>> tokens(SessionId session);
  // OK if `session` is a session of this rank that holds `token` (access
  // rights are held by such tokens); EINVAL for no such session here, ESRCH
  // for a token it does not hold.
  Status holds_token(SessionId session, Token token);
  // Runs when a token is answered, before the outcome goes to the source:
  // the DM layer releases the token's access rights there (XDSM).
  void set_on_answered(std::function<Status(Token)> on_answered) {
    on_answered_ = std::move(on_answered);
  }

  // What the sessions of this rank have waiting, for `pdm sessions`.
  struct QueueCounts {
    std::size_t undelivered = 0;  // queued, not yet handed out by dm_get_events
    std::size_t outstanding = 0;  // synchronous, handed out, not answered
  };
  std::map<SessionId, QueueCounts> queue_counts();
  // The message of a token the session holds: EINVAL for an invalid token,
  // ESRCH for one it does not hold.
  Result<EventMessage> find(SessionId session, Token token);
  // Moves a held token to another session of this rank (the token stays the
  // same; the source of the event is not told).
  Status move(SessionId from, Token token, SessionId to);
  // dm_pending: the session says it is still working on the token. Recorded
  // only: pdm has no event timeout to extend yet (failure handling, #4).
  Status mark_pending(SessionId session, Token token);

  // USER events: an (a)synchronous message to a session on any rank; a
  // synchronous one returns the session's answer (ABORT's errno).
  Status send_message(SessionId target, bool synchronous, std::string data);
  // A token of the session with no operation behind it.
  Result<Token> create_user_event(SessionId session, std::string data);

  // dm_destroy_session: closes the session at its node, EBUSY while it is
  // busy; reopen() undoes a close whose destroy failed.
  Status close_session(SessionId session);
  Status reopen_session(SessionId session);

  // MOUNT for the mounted file system, to a session that just took the MOUNT
  // disposition (the file system was mounted before any session existed).
  // Synchronous as XDSM says, but nothing waits for the answer.
  Status deliver_mount(SessionId session, pfs::EventObject root);
  // The MOUNT event data of the mounted file system (dm_get_mountinfo).
  EventMessage mount_message(pfs::EventObject root) const;
  // The manager, when the job unmounts: PREUNMOUNT (synchronous: waits for
  // the answer) then UNMOUNT (asynchronous). An ABORT cannot keep the file
  // system of an ending job mounted: it is returned for logging only.
  Status unmount(pfs::EventObject root);
  // Every rank, after unmount(): waits until the sessions of this rank have
  // taken every UNMOUNT delivered to them.
  void wait_unmount_taken();
  // The asynchronous events raised here that their sessions have not handed
  // out yet (kept to be sent again if a session's node dies).
  std::size_t kept_async() const { return courier_.kept(); }
  // Wakes every reader (dm_get_events then fails with ESHUTDOWN once its
  // queue is empty) and waits until none is left inside.
  void shutdown();

 private:
  struct Pending {
    std::optional<int> outcome;  // errno; 0 = continue
    SessionId session = 0;       // where it waits (for least_loaded)
  };
  struct Outstanding {
    EventMessage message;
    bool pending = false;  // dm_pending was called
  };
  struct Queue {
    std::deque<EventMessage> undelivered;
    std::map<Token, Outstanding> outstanding;
    std::uint32_t next_sequence = 1;
    int readers = 0;  // threads waiting in get_events
    bool closed = false;
  };
  // The sessions an event goes to: one, or every active member of a group
  // that asked for asynchronous events to all (B19).
  Result<std::vector<Session>> targets_of(FsId fs, int type, bool synchronous);
  // The group member with the fewest events from this rank not yet done.
  Session least_loaded(const std::vector<Session> &members);
  Status check_local_session(SessionId session) const;
  // get_events without the count of readers inside.
  Result<std::vector<EventMessage>> take_events(
      SessionId session, unsigned max_messages, bool wait,
      const std::function<bool(std::size_t count, const EventMessage &)> &fits);
  Token make_token();
  // Sends m to the target sessions; synchronous: to the first, with a new
  // token, and waits for the answer.
  Status deliver(EventMessage m, const std::vector<Session> &targets, bool synchronous);
  // The session's node, EINVAL if there is no such session.
  Result<int> node_of(SessionId session) const;
  // Session side of a delivery (the handler; never blocks). reply_to: the
  // source's call, for a synchronous event from another rank.
  Status enqueue(const EventMessage &m, std::optional<mpi::ReplyAddress> reply_to);
  // Sends a session's answer as the reply to the source's call.
  Status send_answer(const mpi::ReplyAddress &to, Token token, int error);
  Status close_local(SessionId session);
  // The outstanding entry of a token (mutex_ held).
  Result<Outstanding *> held(SessionId session, Token token);

  mpi::RpcEngine &engine_;
  ControlPlane &control_;
  FsId fs_;
  EventTap *tap_ = nullptr;
  std::chrono::milliseconds orphan_timeout_{60000};

  std::mutex mutex_;
  std::condition_variable changed_;    // a pending outcome arrived, or an event was queued
  std::map<Token, Pending> pending_;   // source side
  std::map<SessionId, Queue> queues_;  // session side
  // Session side: the call to answer for each synchronous event from another
  // rank queued here (undelivered or held), and the answers already sent.
  std::unordered_map<Token, mpi::ReplyAddress> reply_to_;
  RecentMap<Token, int> answers_;
  // Bumped when an event is queued here: what a waiting reader polls while
  // it serves deliveries itself, before it sleeps on changed_.
  std::atomic<std::uint64_t> queued_{0};
  // Session side: the asynchronous events queued here, by source and
  // receipt, kept as answers_ are, so that a repeated delivery is not
  // queued twice.
  RecentMap<std::pair<std::int32_t, std::uint64_t>, bool> async_queued_;
  std::uint32_t next_token_ = 0;
  std::function<Status(Token)> on_answered_;
  bool shut_down_ = false;
  int readers_ = 0;       // threads inside get_events (waiting or not)
  EventCourier courier_;  // last: its thread uses the members above
};

}  // namespace pdm::dm

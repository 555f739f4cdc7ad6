// EventService: DMAPI events from the rank where a file operation raises them
// (the source) to the session that holds their disposition (DESIGN.md §5).
//
// Source side (pfs calls it through EventGate): check the file system's event
// list (data events skip it: a managed region raised them); find the disposition in the replicated
// session table (B7); an enabled synchronous event without one fails the operation with EIO. A
// group disposition goes to the group's member on this rank when there is
// one (the event is handled where it arises, B18), else to its lowest active
// member; a group with async_to_all gets asynchronous events at every
// member (B19). The event travels by RPC to the session node, which queues it. A
// synchronous event carries a cluster-unique token and blocks the operation
// until the session responds: CONTINUE lets it go on, ABORT fails it with
// the session's errno.
//
// Session side: one queue per session of events not yet handed out by
// dm_get_events, and the synchronous events handed out but not yet answered
// (the session's tokens). dm_respond_event removes the token — a response is
// accepted once, and only from the session that holds the token — and sends
// the outcome to the source rank.
//
// Tokens are (source member + 1) * 2^20 + a per-source counter, so every
// rank makes unique tokens without asking anyone; they fit dm_token_t (int).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <vector>

#include "pfs/event_gate.h"
#include "runtime/dm/control_plane.h"
#include "runtime/mpi/rpc.h"

namespace pdm::dm {

using Token = std::int32_t;  // dm_token_t; 0 is DM_INVALID_TOKEN (asynchronous events)

struct EventObjectWire {
  std::uint64_t ino = 0;
  std::uint64_t generation = 0;
  auto fields() { return std::tie(ino, generation); }
};

// One event as a session receives it.
struct EventMessage {
  Token token = 0;
  std::uint32_t sequence = 0;  // per session node, in arrival order
  std::int32_t type = 0;
  std::int32_t source = -1;  // member id of the rank that raised it
  SessionId session = 0;
  EventObjectWire object1;
  EventObjectWire object2;
  std::string name1;
  std::string name2;
  std::uint32_t mode = 0;
  std::int32_t retcode = 0;
  std::uint64_t offset = 0;  // data events: the range of the operation
  std::uint64_t length = 0;
  auto fields() {
    return std::tie(token, sequence, type, source, session, object1, object2, name1, name2, mode,
                    retcode, offset, length);
  }
};

class EventService : public pfs::EventGate {
 public:
  EventService(mpi::RpcEngine &engine, ControlPlane &control, FsId fs);

  // Registers the delivery and response handlers; before the engine starts.
  void attach();

  // EventGate.
  bool wanted(int type) const override;
  Status raise(const pfs::FsEvent &event, bool synchronous) override;

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

 private:
  struct Pending {
    std::optional<int> outcome;  // errno; 0 = continue
  };
  struct Queue {
    std::deque<EventMessage> undelivered;
    std::map<Token, EventMessage> outstanding;
    std::uint32_t next_sequence = 1;
  };
  // The sessions an event goes to: one, or every active member of a group
  // that asked for asynchronous events to all (B19).
  Result<std::vector<Session>> targets_of(int type, bool synchronous) const;
  Status check_local_session(SessionId session) const;
  Token make_token();

  mpi::RpcEngine &engine_;
  ControlPlane &control_;
  FsId fs_;

  std::mutex mutex_;
  std::condition_variable changed_;    // a pending outcome arrived, or an event was queued
  std::map<Token, Pending> pending_;   // source side
  std::map<SessionId, Queue> queues_;  // session side
  std::uint32_t next_token_ = 0;
};

}  // namespace pdm::dm

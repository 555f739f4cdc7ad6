// EventCourier: an asynchronous event stays at its source rank until the
// session's node has handed it out (issue #4: no event lost; DESIGN.md §7).
//
// Without it an asynchronous event was forgotten once the session's node
// queued it, and a node that died with events in its queue took them along
// (GPFS loses them the same way). Now:
//
// - Source side: raise() sends the event itself, once, and keeps a copy here
//   under a receipt number. The copy goes when the session's node reports the
//   receipt consumed. If that node dies, or the session is assumed elsewhere
//   (dm_create_session(oldsid)) or taken over by a standby, the courier's
//   thread sends the copy again, same receipt, to the session's node or
//   successor (SessionTable::successor) once it is active on a live rank.
//   A copy whose session stays unreachable longer than the orphan timeout,
//   or whose session was destroyed, is dropped with a log line: nobody waits
//   for an asynchronous event.
// - Session side: dm_get_events hands events out and tells consumed() their
//   receipts; the courier's thread sends them back to their sources in
//   batches, off the reader's path.
//
// Delivery is at least once across a node's death: an event handed out just
// before its node died, whose receipt never reached the source, is sent
// again. While the node lives it is once: a delivery that a view change cut
// after the node had queued it is sent again too, but the node knows the
// event by source and receipt and does not queue it twice (EventService).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "runtime/base/result.h"
#include "runtime/dm/control_plane.h"
#include "runtime/dm/event_message.h"
#include "runtime/mpi/rpc.h"

namespace pdm::dm {

class EventCourier {
 public:
  // Queues a message at a node (the kDeliver call): OK once queued there.
  using Send = std::function<Status(int node, const EventMessage &message)>;

  EventCourier(mpi::RpcEngine &engine, ControlPlane &control, Send send);
  ~EventCourier();
  EventCourier(const EventCourier &) = delete;
  EventCourier &operator=(const EventCourier &) = delete;

  // Registers the receipt handler (before the engine starts) and starts the
  // thread; stop() ends it (before the engine stops).
  void attach();
  void stop();
  void set_orphan_timeout(std::chrono::milliseconds limit) { orphan_timeout_ = limit; }

  // Source side. keep() gives `message` (addressed to its session, going to
  // `node`) a receipt and keeps a copy; call it before sending. sent() takes
  // the outcome of that first delivery.
  void keep(EventMessage &message, int node);
  void sent(std::uint64_t receipt, const Status &outcome);
  // The asynchronous events this rank raised and still keeps: all, and
  // those for one session (its load as this rank sees it).
  std::size_t kept() const;
  std::size_t kept_for(SessionId session) const;

  // Session side: these events were handed out by dm_get_events.
  void consumed(const std::vector<EventMessage> &handed_out);

 private:
  struct Copy {
    EventMessage message;  // message.session: where it was last sent
    int node = -1;         // the rank that queued it; -1: queued nowhere yet
    std::chrono::steady_clock::time_point unqueued_since{};
  };
  struct Resend {
    std::uint64_t receipt = 0;
    EventMessage message;
    int node = -1;
  };

  void run();
  void forget(const std::vector<std::uint64_t> &receipts);
  void acknowledge(std::map<int, std::vector<std::uint64_t>> receipts);
  // The copies to send again (mutex_ held); drops the hopeless ones.
  std::vector<Resend> due_resends();
  void resend(std::vector<Resend> todo);
  void mark_unqueued(Copy &copy);  // mutex_ held
  // Drops the copy if its delivery failed for good, not by a view change or
  // a replica behind (mutex_ held); true if dropped.
  bool dropped_if_refused(std::map<std::uint64_t, Copy>::iterator it, const Error &error);
  // Drops a copy and counts it off its session (mutex_ held).
  std::map<std::uint64_t, Copy>::iterator erase(std::map<std::uint64_t, Copy>::iterator it);
  void count_off(SessionId session);

  mpi::RpcEngine &engine_;
  ControlPlane &control_;
  Send send_;
  std::chrono::milliseconds orphan_timeout_{60000};

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::map<std::uint64_t, Copy> kept_;                    // by receipt
  std::map<SessionId, std::size_t> per_session_;          // kept_ by message.session
  std::map<int, std::vector<std::uint64_t>> to_confirm_;  // by source rank
  std::uint64_t next_receipt_ = 0;
  // What the copies were last checked against: a change of view or table
  // may have moved or orphaned their sessions.
  std::uint64_t checked_epoch_ = 0;
  std::uint64_t checked_version_ = 0;
  // Some copies are queued nowhere: try them again at most every retry
  // interval (a node that answers ESRCH at once must not make a busy loop).
  bool retry_due_ = false;
  std::chrono::steady_clock::time_point last_retry_{};
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace pdm::dm

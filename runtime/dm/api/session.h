// Session: a DMAPI session owned by a C++ DM application (RAII, move-only).
// It is created on this rank (the session node, CLAIMS.md B2) and destroyed
// when the object goes (errors are logged, never thrown: a session with
// events not yet answered cannot be destroyed, EBUSY) or by destroy(),
// which reports them. Every change returns once every rank applied it.
//
// The calls share their code with the C API (<pdm/dmapi.h>): events and
// responses go straight to the EventService; calls whose C function holds
// more than argument checks (create/assume/destroy, dispositions, event
// lists, groups, rights) call that function (see c_call.h).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "runtime/base/result.h"
#include "runtime/dm/api/event.h"
#include "runtime/dm/api/reply.h"
#include "runtime/dm/rights_table.h"

namespace pdm::dm::api {

class Right;

inline constexpr Token kNoToken = -1;  // DM_NO_TOKEN

class Session {
 public:
  // A new session with `info` (at most kMaxSessionInfo bytes: E2BIG).
  static Result<Session> create(std::string info);
  // Takes over session `old` (of a failed or ended DM application) with new
  // info; it keeps its group and dispositions (B4).
  static Result<Session> assume(SessionId old, std::string info);

  Session(Session &&other) noexcept;
  Session &operator=(Session &&other) noexcept;
  Session(const Session &) = delete;
  Session &operator=(const Session &) = delete;
  ~Session();

  // Destroys the session now (EBUSY while it has undelivered events or
  // unanswered tokens: the session then stays, owned by this object).
  Status destroy();
  // Gives up ownership without destroying: the session stays in the table
  // (for a later assume(), by this or another process). Returns its id.
  SessionId release() noexcept { return std::exchange(id_, 0); }
  SessionId id() const { return id_; }
  bool valid() const { return id_ != 0; }

  // The session's disposition: the events of `events` of the mounted file
  // system, and MOUNT (which XDSM disposes on the global handle) if it is in
  // `events`. Replaces what the session held before on both.
  Status set_disposition(EventSet events) const;
  // The mounted file system's event list, or one object's (per-file list).
  Status set_eventlist(EventSet events) const;
  Status set_eventlist(const Handle &object, EventSet events) const;
  // Joins the named session group ("" leaves it): with a group disposition,
  // an event goes to the member on its source rank when there is one (B18).
  Status join_group(const std::string &group) const;
  // Leaves the session's group; if no member is left, `events` leave the
  // mounted file system's event list in the same change
  // (pdm_dm_leave_session_group).
  Status leave_group(EventSet events) const;
  // Makes this session a standby member of its group (or not): it takes
  // over the group's orphaned sessions (pdm_dm_set_session_standby).
  Status set_standby(bool standby) const;

  // Up to `max` events (at least 1); EAGAIN when none is queued and !wait.
  Result<std::vector<Event>> get_events(unsigned max, bool wait) const;
  Status respond(const Event &event, Reply reply) const;
  Status respond(Token token, Reply reply) const;

  // An access right of `token` (held by this session) on an object, held
  // until the Right goes or is released; EAGAIN if it conflicts and !wait.
  Result<Right> request_right(Token token, const Handle &object, dm::Right level, bool wait) const;

  // The tokens of this session's outstanding events (dm_getall_tokens).
  Result<std::vector<Token>> tokens() const;
  // The right `token` holds on an object (dm_query_right): kNull if none.
  Result<dm::Right> query_right(Token token, const Handle &object) const;
  // The event list of the mounted file system, or one object's own list (0
  // when it has none and follows the file system's) (dm_get_eventlist).
  Result<EventSet> eventlist() const;
  Result<EventSet> eventlist(const Handle &object) const;
  // The mounted file system's MOUNT event data (dm_get_mountinfo).
  Result<MountEvent> mount_info() const;

  // The event a token of this session holds (dm_find_eventmsg): ESRCH for
  // a token it does not hold.
  Result<Event> find_event(Token token) const;
  // Hands an event (and the token's rights) to session `to`
  // (dm_move_event); the token stays the same.
  Status move_event(Token token, SessionId to) const;
  // Tells the source that the answer to `token` will take long
  // (dm_pending): the event stays outstanding.
  Status mark_pending(Token token) const;
  // A token of this session for a USER event of its own
  // (dm_create_userevent): it holds rights like any other token, and
  // respond() ends it.
  Result<Token> create_user_event(std::string data) const;

 private:
  explicit Session(SessionId id) : id_(id) {}
  SessionId id_ = 0;
};

// A USER event to session `target` (dm_send_msg), from any rank: a
// synchronous one returns when the target answered it (its Abort's errno).
Status send_message(SessionId target, bool synchronous, std::string data);

// async_to_all: the group's asynchronous events go to every member
// (pdm_dm_set_group_options).
Status set_group_options(const std::string &group, bool async_to_all);

// A group's disposition on the mounted file system (pdm_dm_set_group_disp),
// from any rank; replaces the group's set there.
Status set_group_disposition(const std::string &group, EventSet events);

}  // namespace pdm::dm::api

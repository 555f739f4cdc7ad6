#include "runtime/dm/api/session.h"

#include <pdm/dmapi.h>
#include <spdlog/spdlog.h>

#include <utility>

#include "runtime/dm/api/c_call.h"
#include "runtime/dm/api/handles.h"
#include "runtime/dm/api/right.h"
#include "runtime/node/process_node.h"

namespace pdm::dm::api {
namespace {

Result<node::Node *> running() {
  auto *node = node::process_node();
  if (node == nullptr) return Error{EINVAL, "pdm is not started: call pdm_start first"};
  return node;
}

Result<SessionId> create_or_assume(SessionId old, std::string info) {
  dm_sessid_t id = DM_NO_SESSION;
  PDM_TRY(detail::c_status(dm_create_session(old, info.data(), &id)));
  return id;
}

// Marks an event whose source rank is no longer in the view.
Event marked(Event event, const cluster::View &view) {
  event.source_lost = event.source >= 0 && !view.is_live(event.source);
  return event;
}

}  // namespace

Result<Session> Session::create(std::string info) {
  PDM_ASSIGN_OR_RETURN(auto id, create_or_assume(DM_NO_SESSION, std::move(info)));
  return Session(id);
}

Result<Session> Session::assume(SessionId old, std::string info) {
  if (old == DM_NO_SESSION) return Error{EINVAL, "assume: DM_NO_SESSION is no session"};
  PDM_ASSIGN_OR_RETURN(auto id, create_or_assume(old, std::move(info)));
  return Session(id);
}

Session::Session(Session &&other) noexcept : id_(std::exchange(other.id_, 0)) {}

// The destructor's (and move assignment's) destroy: errors are logged, and
// the session then stays in the table (a later assume() can take it).
static void destroy_logged(Session &session) {
  const SessionId id = session.id();
  if (auto done = session.destroy(); !done.ok()) {
    spdlog::error("DM session {} could not be destroyed: {} (errno {})", id, done.error().message,
                  done.error().code);
  }
}

Session &Session::operator=(Session &&other) noexcept {
  if (this != &other) {
    if (id_ != 0) destroy_logged(*this);
    id_ = std::exchange(other.id_, 0);
  }
  return *this;
}

Session::~Session() {
  if (id_ != 0) destroy_logged(*this);
}

Status Session::destroy() {
  if (id_ == 0) return Error{EINVAL, "destroy: the session is already gone"};
  PDM_TRY(detail::c_status(dm_destroy_session(id_)));
  id_ = 0;
  return {};
}

Status Session::set_disposition(EventSet events) const {
  const EventSet mount = event_bit(EventType::kMount);
  PDM_ASSIGN_OR_RETURN(auto fs, mounted_fs_handle());
  auto fs_bytes = fs.encode();
  dm_eventset_t fs_events = events & ~mount;
  PDM_TRY(detail::c_status(
      dm_set_disp(id_, fs_bytes.data(), fs_bytes.size(), DM_NO_TOKEN, &fs_events, DM_EVENT_MAX)));
  // MOUNT lives on the global handle. Only touched when asked for or held,
  // so that a session never clears a MOUNT disposition it does not hold.
  PDM_ASSIGN_OR_RETURN(auto *node, running());
  const bool holds_mount = node->control().read(
      [&](const SessionTable &t) { return (t.disposed_to(kGlobalFs, id_) & mount) != 0; });
  if ((events & mount) == 0 && !holds_mount) return {};
  auto global = Handle::global().encode();
  dm_eventset_t global_events = events & mount;
  return detail::c_status(
      dm_set_disp(id_, global.data(), global.size(), DM_NO_TOKEN, &global_events, DM_EVENT_MAX));
}

Status Session::set_eventlist(EventSet events) const {
  PDM_ASSIGN_OR_RETURN(auto fs, mounted_fs_handle());
  return set_eventlist(fs, events);
}

Status Session::set_eventlist(const Handle &object, EventSet events) const {
  auto bytes = object.encode();
  dm_eventset_t set = events;
  return detail::c_status(
      dm_set_eventlist(id_, bytes.data(), bytes.size(), DM_NO_TOKEN, &set, DM_EVENT_MAX));
}

Status Session::join_group(const std::string &group) const {
  return detail::c_status(pdm_dm_set_session_group(id_, group.c_str()));
}

Status Session::leave_group(EventSet events) const {
  PDM_ASSIGN_OR_RETURN(auto fs, mounted_fs_handle());
  auto bytes = fs.encode();
  dm_eventset_t set = events;
  return detail::c_status(
      pdm_dm_leave_session_group(id_, bytes.data(), bytes.size(), &set, DM_EVENT_MAX));
}

Status Session::set_standby(bool standby) const {
  return detail::c_status(pdm_dm_set_session_standby(id_, standby ? 1 : 0));
}

Status set_group_disposition(const std::string &group, EventSet events) {
  PDM_ASSIGN_OR_RETURN(auto fs, mounted_fs_handle());
  auto bytes = fs.encode();
  dm_eventset_t set = events;
  return detail::c_status(
      pdm_dm_set_group_disp(group.c_str(), bytes.data(), bytes.size(), &set, DM_EVENT_MAX));
}

Result<std::vector<Event>> Session::get_events(unsigned max, bool wait) const {
  if (max == 0) return Error{EINVAL, "get_events: ask for at least one event"};
  PDM_ASSIGN_OR_RETURN(auto *node, running());
  PDM_ASSIGN_OR_RETURN(auto fsid, pdm::dmapi::parse_fs_id(node->fs().config().fs_id));
  // No buffer to fill: every message fits.
  PDM_ASSIGN_OR_RETURN(auto messages,
                       node->events().get_events(
                           id_, max, wait, [](std::size_t, const EventMessage &) { return true; }));
  const auto view = node->membership().current();
  std::vector<Event> events;
  events.reserve(messages.size());
  for (const auto &m : messages) events.push_back(marked(to_event(m, fsid), *view));
  return events;
}

Status Session::respond(const Event &event, Reply reply) const {
  return respond(event.token, std::move(reply));
}

Status Session::respond(Token token, Reply reply) const {
  int error = 0;
  if (const auto *abort = std::get_if<Abort>(&reply)) {
    if (abort->error <= 0) return Error{EINVAL, "respond: Abort needs a positive errno"};
    error = abort->error;
  }
  PDM_ASSIGN_OR_RETURN(auto *node, running());
  return node->events().respond(id_, token, error);
}

Result<Right> Session::request_right(Token token, const Handle &object, dm::Right level,
                                     bool wait) const {
  if (level == dm::Right::kNull) return Error{EINVAL, "request_right: ask for SHARED or EXCL"};
  auto bytes = object.encode();
  PDM_TRY(
      detail::c_status(dm_request_right(id_, bytes.data(), bytes.size(), token,
                                        wait ? DM_RR_WAIT : 0, static_cast<dm_right_t>(level))));
  return Right(id_, token, object, level);
}

Result<std::vector<Token>> Session::tokens() const {
  PDM_ASSIGN_OR_RETURN(auto *node, running());
  return node->events().tokens(id_);
}

Result<dm::Right> Session::query_right(Token token, const Handle &object) const {
  auto bytes = object.encode();
  dm_right_t right = DM_RIGHT_NULL;
  PDM_TRY(detail::c_status(dm_query_right(id_, bytes.data(), bytes.size(), token, &right)));
  return static_cast<dm::Right>(right);
}

// dm_get_eventlist's checks (the session, the handle) and the table read.
static Result<EventSet> eventlist_of(SessionId id, const Handle &target) {
  auto bytes = target.encode();
  dm_eventset_t set = 0;
  unsigned int count = 0;
  PDM_TRY(detail::c_status(
      dm_get_eventlist(id, bytes.data(), bytes.size(), DM_NO_TOKEN, DM_EVENT_MAX, &set, &count)));
  return EventSet{set};
}

Result<EventSet> Session::eventlist() const {
  PDM_ASSIGN_OR_RETURN(auto fs, mounted_fs_handle());
  return eventlist_of(id_, fs);
}

Result<EventSet> Session::eventlist(const Handle &object) const {
  return eventlist_of(id_, object);
}

Result<MountEvent> Session::mount_info() const {
  PDM_ASSIGN_OR_RETURN(auto *node, running());
  PDM_ASSIGN_OR_RETURN(auto fsid, pdm::dmapi::parse_fs_id(node->fs().config().fs_id));
  const bool known =
      node->control().read([&](const dm::SessionTable &t) { return t.session(id_) != nullptr; });
  if (!known) return Error{EINVAL, "mount_info: the session does not exist"};
  PDM_ASSIGN_OR_RETURN(auto root, node->fs().stat("/"));
  const Event event = to_event(node->events().mount_message({root.ino, root.generation}), fsid);
  if (const auto *mount = event.as<MountEvent>()) return *mount;
  return Error{EIO, "mount_info: the mount message is no MOUNT event"};
}

Result<Event> Session::find_event(Token token) const {
  PDM_ASSIGN_OR_RETURN(auto *node, running());
  PDM_ASSIGN_OR_RETURN(auto fsid, pdm::dmapi::parse_fs_id(node->fs().config().fs_id));
  PDM_ASSIGN_OR_RETURN(auto message, node->events().find(id_, token));
  return marked(to_event(message, fsid), *node->membership().current());
}

Status Session::move_event(Token token, SessionId to) const {
  dm_token_t moved = DM_NO_TOKEN;  // the same token (pdm keeps it across the move)
  return detail::c_status(dm_move_event(id_, token, to, &moved));
}

Status Session::mark_pending(Token token) const {
  return detail::c_status(dm_pending(id_, token, nullptr));
}

Result<Token> Session::create_user_event(std::string data) const {
  dm_token_t token = DM_NO_TOKEN;
  PDM_TRY(detail::c_status(dm_create_userevent(id_, data.size(), data.data(), &token)));
  return token;
}

Status set_group_options(const std::string &group, bool async_to_all) {
  return detail::c_status(pdm_dm_set_group_options(group.c_str(), async_to_all ? 1 : 0));
}

Status send_message(SessionId target, bool synchronous, std::string data) {
  return detail::c_status(dm_send_msg(target, synchronous ? DM_MSGTYPE_SYNC : DM_MSGTYPE_ASYNC,
                                      data.size(), data.data()));
}

}  // namespace pdm::dm::api

// SessionTable: the replicated control state of the DM layer (DESIGN.md §4):
// sessions, session groups, per-file-system dispositions and event lists,
// the per-file event lists (so that every rank routes by them without asking
// anyone), plus a version number. The session manager is its only writer: it checks a
// change with validate(), assigns what only it may assign (session ids), and
// distributes the Update; every rank applies updates in version order, so all
// replicas agree (B3, B7, B14, B15).
//
// The table is a deterministic state machine: the same updates in the same
// order give the same table on every rank, and apply() refuses an update
// whose version is not the next one.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "runtime/base/result.h"
#include "runtime/dm/rights_table.h"
#include "runtime/mpi/fields.h"

namespace pdm::dm {

using SessionId = std::int32_t;  // dm_sessid_t; 0 is DM_NO_SESSION
using FsId = std::uint64_t;      // dm_fsid_t; kGlobalFs holds global dispositions (DM_GLOBAL_HANP)
inline constexpr FsId kGlobalFs = 0;
inline constexpr int kEventTypes = 23;               // DM_EVENT_MAX
inline constexpr std::size_t kMaxSessionInfo = 256;  // DM_SESSION_INFO_LEN
inline constexpr std::size_t kMaxGroupName = 64;
using EventSet = std::uint64_t;  // dm_eventset_t: bit n = event type n

enum class SessionState : std::uint8_t { kActive = 0, kOrphaned = 1 };

struct Session {
  SessionId id = 0;
  int node = -1;  // member id of the session node (B2)
  std::string info;
  std::string group;  // "" = not in a group
  SessionState state = SessionState::kActive;
  // A standby member of its group takes over the group's orphaned sessions
  // automatically (issue #4): their pending events go to it, with their tokens.
  bool standby = false;
  auto fields() { return std::tie(id, node, info, group, state, standby); }
  bool operator==(const Session &) const = default;
};

// The event types pdm generates and lets a session be disposed to (XDSM
// names; LINK/SYMLINK/DEBUT/CANCEL do not exist in pdm, and USER events are
// addressed to a session, not disposed).
EventSet disposable_events();
// The event types pdm can generate at all (dm_get_config_events).
EventSet supported_events();
inline EventSet event_bit(int event) {
  return EventSet{1} << event;
}

// Who receives an event type of a file system: one session, or one group.
struct DispTarget {
  SessionId session = 0;
  std::string group;
  bool empty() const { return session == 0 && group.empty(); }
  auto fields() { return std::tie(session, group); }
  bool operator==(const DispTarget &) const = default;
};

struct GroupOptions {
  bool async_to_all = false;  // deliver asynchronous events to every member (B19)
  auto fields() { return std::tie(async_to_all); }
  bool operator==(const GroupOptions &) const = default;
};

struct FsState {
  std::array<DispTarget, kEventTypes> dispositions{};
  EventSet eventlist = 0;  // the file system's event list
  bool operator==(const FsState &) const = default;
};

// The event list of one file or directory (dm_set_eventlist on an object
// handle). It overrides the file system's list for events governed by that
// object. The metadata store keeps it persistent (pfs); the table holds a
// replica on every rank, loaded at mount. Inode numbers are never reused, so
// a list left behind by a destroyed inode can never govern another object.
struct ObjectEventList {
  FsId fs = kGlobalFs;
  std::uint64_t ino = 0;
  std::uint64_t generation = 0;
  EventSet events = 0;
  auto fields() { return std::tie(fs, ino, generation, events); }
  bool operator==(const ObjectEventList &) const = default;
};

// One change to the table. Exactly the fields of its kind are meaningful.
struct Update {
  enum class Kind : std::uint8_t {
    kCreateSession = 1,  // session (with its id assigned by the manager)
    kAssumeSession,    // session.id = oldsid taken over by session.node (dm_create_session(oldsid))
    kDestroySession,   // session.id
    kModifySession,    // session.id: new info, group and/or standby flag (B14); with
                       // events, they leave fs's event list if the session's old
                       // group is left with no member (pdm_dm_leave_session_group)
    kSetDisposition,   // fs, session.id or group, events
    kSetEventList,     // fs, events
    kSetGroupOptions,  // group, options
    kOrphanNode,       // node: every session of that node becomes orphaned (failure handling)
    kShrinkNotice,     // a file shrank somewhere: every rank drops the sizes it cached
    kChangeRight,      // right: a token's access right on an object (dm_request_right etc.)
    kReleaseToken,     // right.token: the token was answered; its rights go
    kSetObjectEventList,   // fs, ino, generation, events: a per-file event list
    kDropObjectEventList,  // fs, ino, generation: the object is gone
    kMoveToken,            // right.token, right.session: dm_move_event; its rights follow it
    kTakeOver,             // session.id (orphaned) is taken over by its group's standby `into`: it
                           // ends, its dispositions and rights go to `into`, its events follow (#4)
  };
  std::uint64_t version = 0;
  Kind kind = Kind::kCreateSession;
  Session session;
  std::string group;
  GroupOptions options;
  FsId fs = kGlobalFs;
  EventSet events = 0;
  int node = -1;
  RightChange right;
  std::uint64_t ino = 0;  // per-file event lists
  std::uint64_t generation = 0;
  SessionId into = 0;  // kTakeOver: the standby session
  auto fields() {
    return std::tie(version, kind, session, group, options, fs, events, node, right, ino,
                    generation, into);
  }
};

class SessionTable {
 public:
  std::uint64_t version() const { return version_; }
  // Counts shrinking truncates; a size cached under an older value is stale.
  std::uint64_t shrink_epoch() const { return shrink_epoch_; }
  SessionId last_session_id() const { return last_session_id_; }

  // Checks that an update (with its version and ids filled in) would apply:
  // the errno XDSM gives for each refusal (EINVAL, ESRCH, EBUSY, E2BIG).
  Status validate(const Update &update) const;
  // Validates and applies; the version must be version() + 1.
  Status apply(const Update &update);

  const std::map<SessionId, Session> &sessions() const { return sessions_; }
  const Session *session(SessionId id) const;
  // The session that answers for `id` now: `id` itself while it exists, else
  // the standby that took it over (following takeovers of takeovers); 0 if
  // there is neither.
  SessionId successor(SessionId id) const;
  // The standby that takes over session `id` if it is orphaned: the active
  // standby member of its group that has taken over the fewest sessions so
  // far (ties: the lowest id); nullptr if there is none or `id` is not
  // orphaned.
  const Session *standby_for(SessionId id) const;
  // The sessions of a group, in id order.
  std::vector<const Session *> members(const std::string &group) const;
  GroupOptions group_options(const std::string &group) const;
  // Who receives `event` of file system `fs` (empty target: no disposition).
  DispTarget disposition(FsId fs, int event) const;
  // The events of `fs` disposed to `session` (directly, or through its group when by_group).
  EventSet disposed_to(FsId fs, SessionId session) const;
  EventSet eventlist(FsId fs) const;
  const std::map<FsId, FsState> &file_systems() const { return fs_; }
  // The access rights tokens hold on objects (issue #3).
  const RightsTable &rights() const { return rights_; }
  // The per-file list of an object (its generation must match), if it has one.
  std::optional<EventSet> object_eventlist(FsId fs, std::uint64_t ino,
                                           std::uint64_t generation) const;
  // Every event type some per-file list of `fs` holds: an operation can skip
  // resolving its object when the type is neither here nor in the fs list.
  EventSet object_events_union(FsId fs) const;
  const std::map<std::pair<FsId, std::uint64_t>, ObjectEventList> &object_eventlists() const {
    return objects_;
  }
  // Installs the per-file lists read from the metadata store at mount, on
  // every rank before the first update (EPROTO after one).
  Status preload_object_eventlists(const std::vector<ObjectEventList> &lists);

  // A full copy (for a new manager or a joining rank).
  struct NamedGroup {
    std::string name;
    GroupOptions options;
    auto fields() { return std::tie(name, options); }
  };
  struct FsCopy {
    FsId fs = kGlobalFs;
    std::vector<DispTarget> dispositions;  // kEventTypes entries
    EventSet eventlist = 0;
    auto fields() { return std::tie(fs, dispositions, eventlist); }
  };
  struct TakenOver {
    SessionId session = 0;
    SessionId into = 0;
    auto fields() { return std::tie(session, into); }
  };
  struct Snapshot {
    std::uint64_t version = 0;
    SessionId last_session_id = 0;
    std::vector<Session> sessions;
    std::vector<NamedGroup> groups;
    std::vector<FsCopy> file_systems;
    std::uint64_t shrink_epoch = 0;
    std::vector<HeldRight> rights;
    std::vector<ObjectEventList> object_eventlists;
    std::vector<TakenOver> taken_over;
    auto fields() {
      return std::tie(version, last_session_id, sessions, groups, file_systems, shrink_epoch,
                      rights, object_eventlists, taken_over);
    }
  };
  Snapshot snapshot() const;
  static Result<SessionTable> from_snapshot(const Snapshot &snapshot);

  bool operator==(const SessionTable &) const = default;

 private:
  Status validate_disposition(const Update &update) const;
  void clear_dispositions_of(SessionId id);
  // Recomputes object_union_[fs] after a per-file list of fs changed.
  void recompute_object_union(FsId fs);

  std::uint64_t version_ = 0;
  std::uint64_t shrink_epoch_ = 0;
  SessionId last_session_id_ = 0;
  std::map<SessionId, Session> sessions_;
  // Sessions that ended by a standby takeover -> the standby (kTakeOver).
  std::map<SessionId, SessionId> taken_over_;
  std::map<std::string, GroupOptions> groups_;
  std::map<FsId, FsState> fs_;
  RightsTable rights_;
  std::map<std::pair<FsId, std::uint64_t>, ObjectEventList> objects_;  // (fs, ino)
  // The union of the per-file lists of each fs, kept so that every file
  // operation's check costs one lookup however many lists exist.
  std::map<FsId, EventSet> object_union_;
};

}  // namespace pdm::dm

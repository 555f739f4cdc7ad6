// Typed DMAPI events for C++ DM applications: what dm_get_events lays out
// as dm_eventmsg_t + dm_namesp_event_t/dm_data_event_t/..., as a variant of
// plain structs with handles (pdm::dmapi::Handle), built from the
// EventMessage a session's queue holds (runtime/dm/event_service.h).
#pragma once

#include <cstdint>
#include <string>
#include <variant>

#include "pfs/dm_events.h"
#include "runtime/dm/event_service.h"
#include "runtime/dm/session_table.h"
#include "runtime/dmapi/handle.h"

namespace pdm::dm::api {

using Handle = pdm::dmapi::Handle;

// XDSM event numbers (the values of dm_eventtype_t), typed; the numbers
// themselves are pfs's (pfs/dm_events.h).
enum class EventType : int {
  kMount = pfs::dm_event::kMount,
  kPreunmount = pfs::dm_event::kPreunmount,
  kUnmount = pfs::dm_event::kUnmount,
  kCreate = pfs::dm_event::kCreate,
  kClose = pfs::dm_event::kClose,
  kPostcreate = pfs::dm_event::kPostcreate,
  kRemove = pfs::dm_event::kRemove,
  kPostremove = pfs::dm_event::kPostremove,
  kRename = pfs::dm_event::kRename,
  kPostrename = pfs::dm_event::kPostrename,
  kRead = pfs::dm_event::kRead,
  kWrite = pfs::dm_event::kWrite,
  kTruncate = pfs::dm_event::kTruncate,
  kAttribute = pfs::dm_event::kAttribute,
  kDestroy = pfs::dm_event::kDestroy,
  kNospace = pfs::dm_event::kNospace,
  kUser = pfs::dm_event::kUser,
};

inline EventSet event_bit(EventType type) {
  return EventSet{1} << static_cast<int>(type);
}

// CREATE, POSTCREATE, REMOVE, POSTREMOVE, RENAME, POSTRENAME, ATTRIBUTE,
// CLOSE, NOSPACE and PREUNMOUNT: the fields XDSM's dm_namesp_event_t fills
// for the type. parent: the directory (ATTRIBUTE/CLOSE/NOSPACE: the object;
// PREUNMOUNT: the file system handle); child: the new or removed object
// (POST* events); new_parent/new_name: RENAME/POSTRENAME; mode: CREATE,
// REMOVE; retcode: POST* (0 or the operation's errno).
struct NamespaceEvent {
  EventType type = EventType::kCreate;
  Handle parent;
  Handle child;  // global (empty) when the event names none
  std::string name;
  Handle new_parent;
  std::string new_name;
  std::uint32_t mode = 0;
  int retcode = 0;
};

// READ, WRITE, TRUNCATE from a managed region (TRUNCATE: offset = the new
// size, length 0).
struct DataEvent {
  EventType type = EventType::kRead;
  Handle object;
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
};

struct DestroyEvent {
  Handle object;
};

struct MountEvent {
  Handle fs;
  Handle root;
  std::string mount_point;  // me_name1
  std::string device;       // me_name2
  std::uint32_t mode = 0;
};

struct UnmountEvent {
  Handle fs;
  int retcode = 0;
};

struct UserEvent {
  std::string data;
};

using EventBody =
    std::variant<NamespaceEvent, DataEvent, DestroyEvent, MountEvent, UnmountEvent, UserEvent>;

struct Event {
  Token token = 0;  // 0 (DM_INVALID_TOKEN) for asynchronous events
  std::uint32_t sequence = 0;
  int source = -1;  // member id (rank) that raised it; -1 for none (MOUNT, user tokens)
  // The source rank died (it is not in this rank's view) when the event was
  // handed out or looked up: nothing waits for its answer any more, and an
  // answer is accepted and ignored (issue #4).
  bool source_lost = false;
  EventType type = EventType::kUser;
  EventBody body;

  bool synchronous() const { return token != 0; }
  template <typename T>
  const T *as() const {
    return std::get_if<T>(&body);
  }
};

// The typed event of a message, with handles of file system `fsid`.
Event to_event(const EventMessage &message, pdm::dmapi::FsId fsid);

}  // namespace pdm::dm::api

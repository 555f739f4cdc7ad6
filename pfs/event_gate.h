// EventGate: how the file system raises DMAPI events without knowing about
// sessions (DESIGN.md §3, §5). At each event point pfs asks the gate, which
// the DM layer implements: "is this event wanted here?" (cheap, local) and
// "deliver it and tell me the outcome". A synchronous event blocks the
// operation until a session answers: an Error aborts the operation with its
// errno (the session's ABORT, or EIO when an enabled event has no
// disposition, as GPFS does). An asynchronous event never fails the operation.
#pragma once

#include <cstdint>
#include <string>

#include "pfs/meta/inode.h"
#include "runtime/base/result.h"

namespace pdm::pfs {

// An object of the file system as events name it (handles are built from it).
struct EventObject {
  InodeNumber ino = 0;
  std::uint64_t generation = 0;
  bool valid() const { return ino != 0; }
};

// The event list that governs an event is object1's per-file list when it
// has one (for RENAME/POSTRENAME object2's too: either directory may ask for
// it), else the file system's list (see dm_set_eventlist in docs/DMAPI.md).
struct FsEvent {
  int type = 0;            // XDSM event number (DM_EVENT_*)
  EventObject object1;     // namespace events: the parent directory; others: the object
  EventObject object2;     // namespace events: the child (POST*), the new parent (RENAME)
  std::string name1;       // the name (the old name for RENAME)
  std::string name2;       // the new name (RENAME); PREUNMOUNT/UNMOUNT: none
  std::uint32_t mode = 0;  // the object's mode (CREATE, REMOVE)
  int retcode = 0;         // POST* events: the operation's result (0 or an errno)
  // Data events (READ, WRITE, TRUNCATE; object1 is the file): the range the
  // operation touches; TRUNCATE: offset = the new size, length 0.
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
};

class EventGate {
 public:
  virtual ~EventGate() = default;
  // True if the event type may be wanted: it is in the file system's list or
  // in some per-file list (no message). False lets an operation skip even
  // resolving the object that would govern the event.
  virtual bool wanted(int type) const = 0;
  // True if the event type is wanted for this governing object (its per-file
  // list, else the file system's list; no message).
  virtual bool wanted(int type, EventObject governing) const = 0;
  // Checks the governing lists of the event itself, then delivers it.
  // Synchronous: waits for the session's answer. Asynchronous: queues it.
  // Data events (READ, WRITE, TRUNCATE) are raised when a managed region
  // asks for them, whatever the event list says (as in XFS); they still
  // need a disposition (EIO without one).
  virtual Status raise(const FsEvent &event, bool synchronous) = 0;
  // The object's inode is gone: its per-file event list goes with it.
  virtual void object_gone(EventObject object) = 0;
};

}  // namespace pdm::pfs

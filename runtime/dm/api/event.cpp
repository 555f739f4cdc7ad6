#include "runtime/dm/api/event.h"

namespace pdm::dm::api {
namespace {

// An object of the message, or the global handle for "none" (ino 0), which
// a handle of an object can never be.
Handle object_of(const EventObjectWire &o, pdm::dmapi::FsId fsid) {
  if (o.ino == 0) return Handle::global();
  return Handle::object(fsid, o.ino, o.generation);
}

}  // namespace

Event to_event(const EventMessage &m, pdm::dmapi::FsId fsid) {
  Event event;
  event.token = m.token;
  event.sequence = m.sequence;
  event.source = m.source;
  event.type = static_cast<EventType>(m.type);
  const Handle fs = Handle::file_system(fsid);
  switch (event.type) {
    case EventType::kUser:
      event.body = UserEvent{m.data};
      break;
    case EventType::kRead:
    case EventType::kWrite:
    case EventType::kTruncate:
      event.body = DataEvent{event.type, object_of(m.object1, fsid), m.offset, m.length};
      break;
    case EventType::kDestroy:
      event.body = DestroyEvent{object_of(m.object1, fsid)};
      break;
    case EventType::kMount:
      event.body = MountEvent{fs, object_of(m.object2, fsid), m.name1, m.name2, m.mode};
      break;
    case EventType::kUnmount:
      event.body = UnmountEvent{fs, m.retcode};
      break;
    default: {
      // The namespace layout (event_layout.cpp renders the same fields).
      NamespaceEvent ns;
      ns.type = event.type;
      ns.parent = event.type == EventType::kPreunmount ? fs : object_of(m.object1, fsid);
      ns.name = m.name1;
      ns.mode = m.mode;
      ns.retcode = m.retcode;
      if (event.type == EventType::kRename || event.type == EventType::kPostrename) {
        ns.new_parent = object_of(m.object2, fsid);
        ns.new_name = m.name2;
      } else {
        ns.child = object_of(m.object2, fsid);
      }
      event.body = std::move(ns);
      break;
    }
  }
  return event;
}

}  // namespace pdm::dm::api

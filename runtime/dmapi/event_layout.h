// How an event message is laid out in the buffers of dm_get_events,
// dm_find_eventmsg and dm_get_mountinfo, as SGI DMAPI programs read them: a
// dm_eventmsg_t, then (8-byte aligned) the event structure ev_data points
// to, then the handles and names its dm_vardata_t fields point to (offsets
// from the start of the structure holding them). USER events carry their
// message data as ev_data itself.
#pragma once

#include <cstddef>
#include <vector>

#include "runtime/dm/event_service.h"
#include "runtime/dmapi/handle.h"

namespace pdm::dmapi {

// The event structure of a message and its tail (no dm_eventmsg_t): for
// MOUNT a dm_mount_event_t, DESTROY dm_destroy_event_t, USER the raw data,
// every other event dm_namesp_event_t (PREUNMOUNT/UNMOUNT: ne_handle1 is
// the file system's handle, ne_handle2 the root directory's). A multiple of
// 8 bytes.
std::vector<char> render_event_data(const dm::EventMessage &m, FsId fsid);

// The whole message (dm_eventmsg_t + data, a multiple of 8 bytes) with
// _link 0; chain messages by setting _link to the size.
std::vector<char> render_message(const dm::EventMessage &m, FsId fsid);

}  // namespace pdm::dmapi

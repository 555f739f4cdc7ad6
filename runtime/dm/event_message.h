// The message of one DMAPI event, as it travels from its source rank to a
// session's node and as the session receives it (dm_eventmsg_t's content).
#pragma once

#include <cstdint>
#include <string>
#include <tuple>

#include "runtime/dm/session_table.h"

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
  std::string data;          // USER events: the message data
  std::uint64_t offset = 0;  // data events: the range of the operation
  std::uint64_t length = 0;
  // Asynchronous events: the source's number for it, which the session's
  // node sends back once dm_get_events handed the event out (EventCourier).
  std::uint64_t receipt = 0;
  auto fields() {
    return std::tie(token, sequence, type, source, session, object1, object2, name1, name2, mode,
                    retcode, data, offset, length, receipt);
  }
};

}  // namespace pdm::dm

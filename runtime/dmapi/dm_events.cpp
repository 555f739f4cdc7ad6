// XDSM events in the C API: dm_get_events, dm_respond_event,
// dm_getall_tokens, and the file system's event list (dm_set_eventlist,
// dm_get_eventlist) over the DM layer's EventService and ControlPlane.
//
// dm_get_events lays each message out as SGI DMAPI programs read it: a
// dm_eventmsg_t, then (8-byte aligned) the event structure ev_data points
// to (dm_data_event_t for READ/WRITE/TRUNCATE, dm_destroy_event_t,
// dm_namesp_event_t), then the handles and names its dm_vardata_t fields point to (offsets
// from the start of the structure holding them); messages are chained by
// _link (DM_STEP_TO_NEXT).
#include <pdm/dmapi.h>

#include <cstring>

#include "runtime/dmapi/handle.h"
#include "runtime/node/c_boundary.h"
#include "runtime/node/process_node.h"

using pdm::Error;
using pdm::cboundary::fail;
using pdm::cboundary::guarded;
using pdm::cboundary::to_int;
namespace dm = pdm::dm;

namespace {

constexpr std::size_t align8(std::size_t n) {
  return (n + 7) / 8 * 8;
}

pdm::Result<pdm::node::Node *> running() {
  auto *node = pdm::node::process_node();
  if (node == nullptr) return Error{EINVAL, "pdm is not started: call pdm_start first"};
  return node;
}

bool has(const dm::EventObjectWire &o) {
  return o.ino != 0;
}

bool is_data_event(int type) {
  return type == DM_EVENT_READ || type == DM_EVENT_WRITE || type == DM_EVENT_TRUNCATE;
}

// The bytes one message takes in a dm_get_events buffer.
std::size_t message_size(const dm::EventMessage &m) {
  std::size_t data = 0;
  if (m.type == DM_EVENT_DESTROY) {
    data = align8(sizeof(dm_destroy_event_t)) + pdm::dmapi::kHandleSize;
  } else if (is_data_event(m.type)) {
    data = align8(sizeof(dm_data_event_t)) + pdm::dmapi::kHandleSize;
  } else {
    data = align8(sizeof(dm_namesp_event_t)) + (has(m.object1) ? pdm::dmapi::kHandleSize : 0) +
           (has(m.object2) ? pdm::dmapi::kHandleSize : 0) +
           (m.name1.empty() ? 0 : m.name1.size() + 1) + (m.name2.empty() ? 0 : m.name2.size() + 1);
  }
  return align8(align8(sizeof(dm_eventmsg_t)) + data);
}

// Appends bytes after a structure and points a vardata at them.
class Tail {
 public:
  Tail(char *structure, std::size_t offset) : base_(structure), offset_(offset) {}
  void put(dm_vardata_t &field, const void *data, std::size_t length) {
    field.vd_offset = static_cast<int>(offset_);
    field.vd_length = static_cast<unsigned int>(length);
    std::memcpy(base_ + offset_, data, length);
    offset_ += length;
  }
  std::size_t end() const { return offset_; }

 private:
  char *base_;
  std::size_t offset_;
};

void write_message(char *at, const dm::EventMessage &m, pdm::dmapi::FsId fsid, int link) {
  std::memset(at, 0, message_size(m));
  auto *msg = reinterpret_cast<dm_eventmsg_t *>(at);
  msg->_link = link;
  msg->ev_type = static_cast<dm_eventtype_t>(m.type);
  msg->ev_token = m.token;
  msg->ev_sequence = m.sequence;
  char *data = at + align8(sizeof(dm_eventmsg_t));
  msg->ev_data.vd_offset = static_cast<int>(data - at);
  auto handle_bytes = [&](const dm::EventObjectWire &o) {
    return pdm::dmapi::Handle::object(fsid, o.ino, o.generation).encode();
  };
  if (m.type == DM_EVENT_DESTROY) {
    auto *ev = reinterpret_cast<dm_destroy_event_t *>(data);
    Tail tail(data, align8(sizeof(dm_destroy_event_t)));
    const auto h = handle_bytes(m.object1);
    tail.put(ev->ds_handle, h.data(), h.size());
    msg->ev_data.vd_length = static_cast<unsigned int>(tail.end());
    return;
  }
  if (is_data_event(m.type)) {
    auto *ev = reinterpret_cast<dm_data_event_t *>(data);
    ev->de_offset = static_cast<dm_off_t>(m.offset);
    ev->de_length = m.length;
    Tail tail(data, align8(sizeof(dm_data_event_t)));
    const auto h = handle_bytes(m.object1);
    tail.put(ev->de_handle, h.data(), h.size());
    msg->ev_data.vd_length = static_cast<unsigned int>(tail.end());
    return;
  }
  auto *ev = reinterpret_cast<dm_namesp_event_t *>(data);
  ev->ne_mode = static_cast<mode_t>(m.mode);
  ev->ne_retcode = m.retcode;
  Tail tail(data, align8(sizeof(dm_namesp_event_t)));
  if (has(m.object1)) {
    const auto h = handle_bytes(m.object1);
    tail.put(ev->ne_handle1, h.data(), h.size());
  }
  if (has(m.object2)) {
    const auto h = handle_bytes(m.object2);
    tail.put(ev->ne_handle2, h.data(), h.size());
  }
  if (!m.name1.empty()) tail.put(ev->ne_name1, m.name1.c_str(), m.name1.size() + 1);
  if (!m.name2.empty()) tail.put(ev->ne_name2, m.name2.c_str(), m.name2.size() + 1);
  msg->ev_data.vd_length = static_cast<unsigned int>(tail.end());
}

// The file system a handle names for an event list: only the mounted one.
pdm::Status check_fs_handle(pdm::node::Node &node, const void *hanp, size_t hlen) {
  PDM_ASSIGN_OR_RETURN(auto handle, pdm::dmapi::Handle::decode(hanp, hlen));
  PDM_ASSIGN_OR_RETURN(auto fsid, pdm::dmapi::parse_fs_id(node.fs().config().fs_id));
  if (handle.is_object()) {
    return Error{EINVAL,
                 "per-file event lists are not supported yet (issue #3); "
                 "set the file system's event list"};
  }
  if (!handle.is_file_system() || handle.fsid != fsid) {
    return Error{EINVAL, handle.to_string() + " is not the mounted file system"};
  }
  return {};
}

}  // namespace

extern "C" {

int dm_get_events(dm_sessid_t sid, unsigned int maxmsgs, unsigned int flags, size_t buflen,
                  void *bufp, size_t *rlenp) {
  return guarded(
      [&] {
        if (rlenp == nullptr) return fail(Error{EFAULT, "dm_get_events: null rlenp"});
        if (bufp == nullptr && buflen > 0) return fail(Error{EFAULT, "dm_get_events: null buffer"});
        auto node = running();
        if (!node.ok()) return fail(node.error());
        auto fsid = pdm::dmapi::parse_fs_id((*node)->fs().config().fs_id);
        if (!fsid.ok()) return fail(fsid.error());
        std::size_t used = 0;
        std::size_t first_needed = 0;
        auto fits = [&](std::size_t count, const dm::EventMessage &m) {
          const std::size_t size = message_size(m);
          if (count == 0) first_needed = size;
          if (used + size > buflen) return false;
          used += size;
          return true;
        };
        auto messages = (*node)->events().get_events(sid, maxmsgs, (flags & DM_EV_WAIT) != 0, fits);
        if (!messages.ok()) {
          if (messages.error().code == E2BIG) *rlenp = first_needed;
          return fail(messages.error());
        }
        char *at = static_cast<char *>(bufp);
        for (std::size_t i = 0; i < messages->size(); ++i) {
          const auto &m = (*messages)[i];
          const std::size_t size = message_size(m);
          write_message(at, m, *fsid, i + 1 < messages->size() ? static_cast<int>(size) : 0);
          at += size;
        }
        *rlenp = used;
        return 0;
      },
      -1);
}

int dm_respond_event(dm_sessid_t sid, dm_token_t token, dm_response_t response, int reterror,
                     size_t buflen, void *respbufp) {
  (void)buflen;
  (void)respbufp;
  return guarded(
      [&] {
        int error = 0;
        if (response == DM_RESP_ABORT) {
          if (reterror <= 0) {
            return fail(Error{EINVAL, "dm_respond_event: DM_RESP_ABORT needs a positive errno"});
          }
          error = reterror;
        } else if (response != DM_RESP_CONTINUE) {
          return fail(Error{EINVAL, "dm_respond_event: response must be CONTINUE or ABORT"});
        }
        auto node = running();
        if (!node.ok()) return fail(node.error());
        return to_int((*node)->events().respond(sid, token, error));
      },
      -1);
}

int dm_getall_tokens(dm_sessid_t sid, unsigned int nelem, dm_token_t *tokenbufp,
                     unsigned int *nelemp) {
  return guarded(
      [&] {
        if (nelemp == nullptr) return fail(Error{EFAULT, "dm_getall_tokens: null nelemp"});
        auto node = running();
        if (!node.ok()) return fail(node.error());
        auto tokens = (*node)->events().tokens(sid);
        if (!tokens.ok()) return fail(tokens.error());
        *nelemp = static_cast<unsigned int>(tokens->size());
        if (tokens->size() > nelem) return fail(Error{E2BIG, "dm_getall_tokens: buffer too small"});
        if (!tokens->empty() && tokenbufp == nullptr) {
          return fail(Error{EFAULT, "dm_getall_tokens: null buffer"});
        }
        std::copy(tokens->begin(), tokens->end(), tokenbufp);
        return 0;
      },
      -1);
}

int dm_set_eventlist(dm_sessid_t sid, void *hanp, size_t hlen, dm_token_t token,
                     dm_eventset_t *eventsetp, unsigned int maxevent) {
  (void)token;
  return guarded(
      [&] {
        if (eventsetp == nullptr) return fail(Error{EFAULT, "dm_set_eventlist: null event set"});
        if (maxevent > DM_EVENT_MAX) return fail(Error{E2BIG, "maxevent exceeds DM_EVENT_MAX"});
        auto node = running();
        if (!node.ok()) return fail(node.error());
        if (auto ok = check_fs_handle(**node, hanp, hlen); !ok.ok()) return fail(ok.error());
        const bool session_exists = (*node)->control().read(
            [&](const dm::SessionTable &t) { return t.session(sid) != nullptr; });
        if (!session_exists) return fail(Error{EINVAL, "session does not exist"});
        auto fsid = pdm::dmapi::parse_fs_id((*node)->fs().config().fs_id);
        if (!fsid.ok()) return fail(fsid.error());
        const dm_eventset_t mask =
            maxevent >= 64 ? ~dm_eventset_t{0} : ((dm_eventset_t{1} << maxevent) - 1);
        dm::Update u;
        u.kind = dm::Update::Kind::kSetEventList;
        u.fs = *fsid;
        u.events = *eventsetp & mask;
        auto done = (*node)->control().submit(u);
        return done.ok() ? 0 : fail(done.error());
      },
      -1);
}

int dm_get_eventlist(dm_sessid_t sid, void *hanp, size_t hlen, dm_token_t token, unsigned int nelem,
                     dm_eventset_t *eventsetp, unsigned int *nelemp) {
  (void)sid;
  (void)token;
  return guarded(
      [&] {
        if (eventsetp == nullptr || nelemp == nullptr) {
          return fail(Error{EFAULT, "dm_get_eventlist: null pointer"});
        }
        auto node = running();
        if (!node.ok()) return fail(node.error());
        if (auto ok = check_fs_handle(**node, hanp, hlen); !ok.ok()) return fail(ok.error());
        auto fsid = pdm::dmapi::parse_fs_id((*node)->fs().config().fs_id);
        if (!fsid.ok()) return fail(fsid.error());
        const auto set =
            (*node)->control().read([&](const dm::SessionTable &t) { return t.eventlist(*fsid); });
        *nelemp = DM_EVENT_MAX;
        if (nelem < DM_EVENT_MAX) {
          return fail(Error{E2BIG, "dm_get_eventlist: nelem below DM_EVENT_MAX"});
        }
        *eventsetp = set;
        return 0;
      },
      -1);
}

}  // extern "C"

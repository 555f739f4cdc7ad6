// XDSM events in the C API: dm_get_events, dm_respond_event,
// dm_getall_tokens, and the event lists of the file system and of its files
// (dm_set_eventlist, dm_get_eventlist) over the DM layer's EventService and
// ControlPlane. Messages are laid out by event_layout.h (dm_data_event_t for
// READ/WRITE/TRUNCATE) and chained by
// _link (DM_STEP_TO_NEXT).
#include <pdm/dmapi.h>

#include <cstring>
#include <optional>
#include <vector>

#include "runtime/dmapi/event_layout.h"
#include "runtime/dmapi/handle.h"
#include "runtime/node/c_boundary.h"
#include "runtime/node/process_node.h"

using pdm::Error;
using pdm::cboundary::fail;
using pdm::cboundary::guarded;
using pdm::cboundary::to_int;
namespace dm = pdm::dm;

namespace {

pdm::Result<pdm::node::Node *> running() {
  auto *node = pdm::node::process_node();
  if (node == nullptr) return Error{EINVAL, "pdm is not started: call pdm_start first"};
  return node;
}

// The events a per-file list may hold (XDSM: the events that can occur on
// that kind of object; EINVAL for others): a directory's namespace events,
// a file's data events, and for both ATTRIBUTE, DESTROY and CLOSE.
constexpr dm_eventset_t bit(int e) {
  return dm_eventset_t{1} << e;
}
constexpr dm_eventset_t kObjectEvents =
    bit(DM_EVENT_ATTRIBUTE) | bit(DM_EVENT_DESTROY) | bit(DM_EVENT_CLOSE);
constexpr dm_eventset_t kDirectoryEvents =
    kObjectEvents | bit(DM_EVENT_CREATE) | bit(DM_EVENT_POSTCREATE) | bit(DM_EVENT_REMOVE) |
    bit(DM_EVENT_POSTREMOVE) | bit(DM_EVENT_RENAME) | bit(DM_EVENT_POSTRENAME);
constexpr dm_eventset_t kFileEvents = kObjectEvents | bit(DM_EVENT_READ) | bit(DM_EVENT_WRITE) |
                                      bit(DM_EVENT_TRUNCATE) | bit(DM_EVENT_NOSPACE);

// What an event list call names: the mounted file system, or one of its
// objects (checked to exist with that generation: EBADF otherwise).
struct ListTarget {
  pdm::dmapi::FsId fsid = 0;
  std::optional<pdm::pfs::Inode> object;
};

pdm::Result<ListTarget> list_target(pdm::node::Node &node, const void *hanp, size_t hlen) {
  PDM_ASSIGN_OR_RETURN(auto handle, pdm::dmapi::Handle::decode(hanp, hlen));
  PDM_ASSIGN_OR_RETURN(auto fsid, pdm::dmapi::parse_fs_id(node.fs().config().fs_id));
  if (handle.is_global() || handle.fsid != fsid) {
    return Error{EINVAL,
                 handle.to_string() + " is not the mounted file system or one of its files"};
  }
  ListTarget target{fsid, std::nullopt};
  if (handle.is_object()) {
    auto inode = node.fs().getattr(handle.ino);
    if (!inode.ok() || inode->generation != handle.generation) {
      return Error{EBADF, handle.to_string() + " names no existing file"};
    }
    target.object = *inode;
  }
  return target;
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
          const std::size_t size = pdm::dmapi::render_message(m, *fsid).size();
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
          std::vector<char> bytes = pdm::dmapi::render_message((*messages)[i], *fsid);
          if (i + 1 < messages->size()) {
            reinterpret_cast<dm_eventmsg_t *>(bytes.data())->_link = static_cast<int>(bytes.size());
          }
          std::memcpy(at, bytes.data(), bytes.size());
          at += bytes.size();
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
        const long long answer = pdm::cboundary::c_enum_value(response);
        if (answer == DM_RESP_ABORT) {
          if (reterror <= 0) {
            return fail(Error{EINVAL, "dm_respond_event: DM_RESP_ABORT needs a positive errno"});
          }
          error = reterror;
        } else if (answer != DM_RESP_CONTINUE) {
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
        auto target = list_target(**node, hanp, hlen);
        if (!target.ok()) return fail(target.error());
        const bool session_exists = (*node)->control().read(
            [&](const dm::SessionTable &t) { return t.session(sid) != nullptr; });
        if (!session_exists) return fail(Error{EINVAL, "session does not exist"});
        const dm_eventset_t mask =
            maxevent >= 64 ? ~dm_eventset_t{0} : ((dm_eventset_t{1} << maxevent) - 1);
        dm::Update u;
        u.fs = target->fsid;
        u.events = *eventsetp & mask;
        if (!target->object) {
          u.kind = dm::Update::Kind::kSetEventList;
          auto done = (*node)->control().submit(u);
          return done.ok() ? 0 : fail(done.error());
        }
        // A per-file list: persistent first (the metadata owner), then
        // replicated, so every rank routes by it when this returns.
        const auto &inode = *target->object;
        const dm_eventset_t allowed = inode.is_dir() ? kDirectoryEvents : kFileEvents;
        if (u.events & ~allowed) {
          return fail(Error{EINVAL, "dm_set_eventlist: events that cannot occur on this object"});
        }
        if (auto stored = (*node)->fs().set_eventlist(inode.ino, inode.generation, u.events);
            !stored.ok()) {
          Error e = stored.error();
          if (e.code == ENOENT || e.code == ESTALE) e.code = EBADF;
          return fail(e);
        }
        u.kind = dm::Update::Kind::kSetObjectEventList;
        u.ino = inode.ino;
        u.generation = inode.generation;
        auto done = (*node)->control().submit(u);
        return done.ok() ? 0 : fail(done.error());
      },
      -1);
}

int dm_get_eventlist(dm_sessid_t sid, void *hanp, size_t hlen, dm_token_t token, unsigned int nelem,
                     dm_eventset_t *eventsetp, unsigned int *nelemp) {
  (void)token;
  return guarded(
      [&] {
        if (eventsetp == nullptr || nelemp == nullptr) {
          return fail(Error{EFAULT, "dm_get_eventlist: null pointer"});
        }
        auto node = running();
        if (!node.ok()) return fail(node.error());
        auto target = list_target(**node, hanp, hlen);
        if (!target.ok()) return fail(target.error());
        const bool session_exists = (*node)->control().read(
            [&](const dm::SessionTable &t) { return t.session(sid) != nullptr; });
        if (!session_exists) return fail(Error{EINVAL, "session does not exist"});
        // An object's own list (empty when it has none: it then follows the
        // file system's list), or the file system's.
        const auto set = (*node)->control().read([&](const dm::SessionTable &t) -> dm_eventset_t {
          if (!target->object) return t.eventlist(target->fsid);
          return t.object_eventlist(target->fsid, target->object->ino, target->object->generation)
              .value_or(0);
        });
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

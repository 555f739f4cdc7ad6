// XDSM functions on single event messages and tokens (<pdm/dmapi.h>, XDSM
// ch. 5): USER events (dm_send_msg, dm_create_userevent), dm_find_eventmsg,
// dm_move_event, dm_pending, and dm_get_mountinfo, over the EventService.
// Errno values follow XDSM and SGI's implementation: EINVAL for an unknown
// session or an invalid token, ESRCH for a token the session does not hold,
// E2BIG with the needed length in *rlenp.
#include <pdm/dmapi.h>

#include <cstring>
#include <string>
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

pdm::Result<std::string> message_data(size_t length, const void *data) {
  if (length > dm::kMaxUserData) {
    return Error{E2BIG, "message data of " + std::to_string(length) + " bytes exceeds " +
                            std::to_string(dm::kMaxUserData)};
  }
  if (length > 0 && data == nullptr) return Error{EFAULT, "null message data"};
  return std::string(static_cast<const char *>(data), length);
}

// Copies bytes out as XDSM does: *rlenp is always the needed length.
int copy_out(const std::vector<char> &bytes, size_t buflen, void *bufp, size_t *rlenp) {
  *rlenp = bytes.size();
  if (buflen < bytes.size()) {
    return fail(Error{E2BIG, "the buffer needs " + std::to_string(bytes.size()) + " bytes"});
  }
  if (bufp == nullptr) return fail(Error{EFAULT, "null buffer"});
  std::memcpy(bufp, bytes.data(), bytes.size());
  return 0;
}

}  // namespace

extern "C" {

int dm_send_msg(dm_sessid_t targetsid, dm_msgtype_t msgtype, size_t buflen, void *bufp) {
  return guarded(
      [&] {
        const long long type = pdm::cboundary::c_enum_value(msgtype);
        if (type != DM_MSGTYPE_SYNC && type != DM_MSGTYPE_ASYNC) {
          return fail(Error{EINVAL, "dm_send_msg: msgtype must be DM_MSGTYPE_SYNC or _ASYNC"});
        }
        auto data = message_data(buflen, bufp);
        if (!data.ok()) return fail(data.error());
        auto node = running();
        if (!node.ok()) return fail(node.error());
        return to_int((*node)->events().send_message(targetsid, msgtype == DM_MSGTYPE_SYNC,
                                                     std::move(data).value()));
      },
      -1);
}

int dm_create_userevent(dm_sessid_t sid, size_t msglen, void *msgdatap, dm_token_t *tokenp) {
  return guarded(
      [&] {
        if (tokenp == nullptr) return fail(Error{EFAULT, "dm_create_userevent: null tokenp"});
        auto data = message_data(msglen, msgdatap);
        if (!data.ok()) return fail(data.error());
        auto node = running();
        if (!node.ok()) return fail(node.error());
        auto token = (*node)->events().create_user_event(sid, std::move(data).value());
        if (!token.ok()) return fail(token.error());
        *tokenp = *token;
        return 0;
      },
      -1);
}

int dm_find_eventmsg(dm_sessid_t sid, dm_token_t token, size_t buflen, void *bufp, size_t *rlenp) {
  return guarded(
      [&] {
        if (rlenp == nullptr) return fail(Error{EFAULT, "dm_find_eventmsg: null rlenp"});
        auto node = running();
        if (!node.ok()) return fail(node.error());
        auto fsid = pdm::dmapi::parse_fs_id((*node)->fs().config().fs_id);
        if (!fsid.ok()) return fail(fsid.error());
        auto message = (*node)->events().find(sid, token);
        if (!message.ok()) return fail(message.error());
        return copy_out(pdm::dmapi::render_message(*message, *fsid), buflen, bufp, rlenp);
      },
      -1);
}

int pdm_dm_query_event_source(dm_sessid_t sid, dm_token_t token, int *rankp, int *lostp) {
  return guarded(
      [&] {
        if (rankp == nullptr || lostp == nullptr) {
          return fail(Error{EFAULT, "pdm_dm_query_event_source: null pointer"});
        }
        auto node = running();
        if (!node.ok()) return fail(node.error());
        auto message = (*node)->events().find(sid, token);
        if (!message.ok()) return fail(message.error());
        *rankp = message->source;
        // The same test as api::Event::source_lost: this rank's view.
        *lostp = message->source >= 0 && !(*node)->membership().current()->is_live(message->source);
        return 0;
      },
      -1);
}

int dm_move_event(dm_sessid_t srcsid, dm_token_t token, dm_sessid_t targetsid,
                  dm_token_t *rtokenp) {
  return guarded(
      [&] {
        if (rtokenp == nullptr) return fail(Error{EFAULT, "dm_move_event: null rtokenp"});
        auto node = running();
        if (!node.ok()) return fail(node.error());
        if (auto moved = (*node)->events().move(srcsid, token, targetsid); !moved.ok()) {
          return fail(moved.error());
        }
        if (auto rights = (*node)->rights().move_token(token, targetsid); !rights.ok()) {
          return fail(rights.error());
        }
        *rtokenp = token;  // as SGI's: the token stays the same
        return 0;
      },
      -1);
}

int dm_pending(dm_sessid_t sid, dm_token_t token, dm_timestruct_t *delay) {
  (void)delay;  // pdm has no event timeout to extend yet (issue #4)
  return guarded(
      [&] {
        auto node = running();
        if (!node.ok()) return fail(node.error());
        return to_int((*node)->events().mark_pending(sid, token));
      },
      -1);
}

int dm_get_mountinfo(dm_sessid_t sid, void *hanp, size_t hlen, dm_token_t token, size_t buflen,
                     void *bufp, size_t *rlenp) {
  (void)token;
  return guarded(
      [&] {
        if (rlenp == nullptr) return fail(Error{EFAULT, "dm_get_mountinfo: null rlenp"});
        auto node = running();
        if (!node.ok()) return fail(node.error());
        const bool session_exists = (*node)->control().read(
            [&](const dm::SessionTable &t) { return t.session(sid) != nullptr; });
        if (!session_exists) return fail(Error{EINVAL, "dm_get_mountinfo: no such session"});
        auto handle = pdm::dmapi::Handle::decode(hanp, hlen);
        if (!handle.ok()) return fail(handle.error());
        auto fsid = pdm::dmapi::parse_fs_id((*node)->fs().config().fs_id);
        if (!fsid.ok()) return fail(fsid.error());
        if (!handle->is_file_system() || handle->fsid != *fsid) {
          return fail(Error{EINVAL, "dm_get_mountinfo: not the mounted file system's handle"});
        }
        auto root = (*node)->fs().stat("/");
        if (!root.ok()) return fail(root.error());
        const auto message = (*node)->events().mount_message({root->ino, root->generation});
        return copy_out(pdm::dmapi::render_event_data(message, *fsid), buflen, bufp, rlenp);
      },
      -1);
}

}  // extern "C"

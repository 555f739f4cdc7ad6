// XDSM sessions and dispositions (<pdm/dmapi.h>, XDSM ch. 5) over the DM
// control plane: each call that changes state is one Update submitted to the
// session manager, and returns once every rank applied it.
#include <pdm/dmapi.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "pfs/dm_events.h"
#include "pfs/meta/dm_state.h"
#include "pfs/meta/meta_store.h"
#include "runtime/dmapi/handle.h"
#include "runtime/mpi/fields.h"
#include "runtime/node/c_boundary.h"
#include "runtime/node/process_node.h"

using pdm::Error;
using pdm::cboundary::fail;
using pdm::cboundary::guarded;
using pdm::cboundary::to_int;
namespace dm = pdm::dm;

namespace {

constexpr const char *kVersion = "pdm XDSM (DMAPI) 1.0, SGI-compatible C API";

pdm::Result<pdm::node::Node *> running() {
  auto *node = pdm::node::process_node();
  if (node == nullptr) return Error{EINVAL, "pdm is not started: call pdm_start first"};
  return node;
}

// The dm_fsid_t of the mounted file system.
pdm::Result<dm::FsId> mounted_fsid(pdm::node::Node &node) {
  return pdm::dmapi::parse_fs_id(node.fs().config().fs_id);
}

// The file system a handle names for dispositions: kGlobalFs for the global
// handle, the mounted file system's id for its fs handle (XDSM: EINVAL for
// a handle of another kind).
pdm::Result<dm::FsId> disposition_fs(pdm::node::Node &node, const void *hanp, size_t hlen) {
  PDM_ASSIGN_OR_RETURN(auto handle, pdm::dmapi::Handle::decode(hanp, hlen));
  if (handle.is_global()) return dm::kGlobalFs;
  if (!handle.is_file_system()) {
    return Error{EINVAL, "dispositions are set on a file system or the global handle"};
  }
  PDM_ASSIGN_OR_RETURN(auto fsid, mounted_fsid(node));
  if (handle.fsid != fsid) return Error{EINVAL, handle.to_string() + " is not mounted"};
  return fsid;
}

pdm::Result<dm::Session> session_of(pdm::node::Node &node, dm_sessid_t sid) {
  auto found = node.control().read([&](const dm::SessionTable &t) -> std::optional<dm::Session> {
    const dm::Session *s = t.session(sid);
    return s ? std::optional<dm::Session>(*s) : std::nullopt;
  });
  if (!found) return Error{EINVAL, "session " + std::to_string(sid) + " does not exist"};
  return *found;
}

dm::Update make(dm::Update::Kind kind) {
  dm::Update u;
  u.kind = kind;
  return u;
}

// kModifySession for `sid`: its replicated state changed by `edit`, sent to
// the manager; 0 or -1 with errno (EINVAL for no such session).
template <typename Edit>
int modify_session(dm_sessid_t sid, Edit edit) {
  auto node = running();
  if (!node.ok()) return fail(node.error());
  auto session = session_of(**node, sid);
  if (!session.ok()) return fail(session.error());
  dm::Update u = make(dm::Update::Kind::kModifySession);
  u.session = *session;
  edit(u.session);
  auto done = (*node)->control().submit(u);
  return done.ok() ? 0 : fail(done.error());
}

}  // namespace

extern "C" {

int dm_init_service(char **versionstrpp) {
  return guarded(
      [&] {
        if (versionstrpp == nullptr) return fail(Error{EFAULT, "dm_init_service: null pointer"});
        *versionstrpp = const_cast<char *>(kVersion);
        return 0;
      },
      -1);
}

int dm_create_session(dm_sessid_t oldsid, char *sessinfop, dm_sessid_t *newsidp) {
  return guarded(
      [&] {
        if (sessinfop == nullptr || newsidp == nullptr) {
          return fail(Error{EFAULT, "dm_create_session: null pointer"});
        }
        const std::size_t length = strnlen(sessinfop, DM_SESSION_INFO_LEN + 1);
        if (length > DM_SESSION_INFO_LEN) {
          return fail(Error{E2BIG, "dm_create_session: session info exceeds DM_SESSION_INFO_LEN"});
        }
        auto node = running();
        if (!node.ok()) return fail(node.error());
        dm::Update u = make(oldsid == DM_NO_SESSION ? dm::Update::Kind::kCreateSession
                                                    : dm::Update::Kind::kAssumeSession);
        u.session.id = oldsid == DM_NO_SESSION ? 0 : oldsid;
        u.session.info.assign(sessinfop, length);
        if (oldsid != DM_NO_SESSION) {
          // Assuming a session keeps its group (B4).
          auto old = session_of(**node, oldsid);
          if (!old.ok()) return fail(old.error());
          u.session.group = old->group;
        }
        auto done = (*node)->control().submit(u);
        if (!done.ok()) return fail(done.error());
        *newsidp = done->session.id;
        return 0;
      },
      -1);
}

int dm_destroy_session(dm_sessid_t sid) {
  return guarded(
      [&] {
        auto node = running();
        if (!node.ok()) return fail(node.error());
        // The session's node closes it first: EBUSY while it has events not
        // yet handed out, tokens not answered, or a reader waiting (XDSM);
        // a closed session takes no new event until it is gone.
        if (auto closed = (*node)->events().close_session(sid); !closed.ok()) {
          return fail(closed.error());
        }
        dm::Update u = make(dm::Update::Kind::kDestroySession);
        u.session.id = sid;
        auto done = (*node)->control().submit(u);
        if (!done.ok()) {
          (void)(*node)->events().reopen_session(sid);
          // XDSM names EINVAL for a session id that is not valid.
          Error e = done.error();
          if (e.code == ESRCH) e.code = EINVAL;
          return fail(e);
        }
        return 0;
      },
      -1);
}

int dm_getall_sessions(unsigned int nelem, dm_sessid_t *sidbufp, unsigned int *nelemp) {
  return guarded(
      [&] {
        if (nelemp == nullptr) return fail(Error{EFAULT, "dm_getall_sessions: null nelemp"});
        auto node = running();
        if (!node.ok()) return fail(node.error());
        auto ids = (*node)->control().read([](const dm::SessionTable &t) {
          std::vector<dm_sessid_t> out;
          for (const auto &[id, s] : t.sessions()) out.push_back(id);
          return out;
        });
        *nelemp = static_cast<unsigned int>(ids.size());
        if (ids.size() > nelem) {
          return fail(Error{E2BIG, "dm_getall_sessions: " + std::to_string(ids.size()) +
                                       " sessions do not fit in " + std::to_string(nelem)});
        }
        if (!ids.empty() && sidbufp == nullptr) {
          return fail(Error{EFAULT, "dm_getall_sessions: null buffer"});
        }
        std::copy(ids.begin(), ids.end(), sidbufp);
        return 0;
      },
      -1);
}

int dm_query_session(dm_sessid_t sid, size_t buflen, void *bufp, size_t *rlenp) {
  return guarded(
      [&] {
        if (rlenp == nullptr) return fail(Error{EFAULT, "dm_query_session: null rlenp"});
        auto node = running();
        if (!node.ok()) return fail(node.error());
        auto session = session_of(**node, sid);
        if (!session.ok()) return fail(session.error());
        *rlenp = session->info.size() + 1;
        if (buflen < *rlenp) {
          return fail(Error{
              E2BIG, "dm_query_session: the info needs " + std::to_string(*rlenp) + " bytes"});
        }
        if (bufp == nullptr) return fail(Error{EFAULT, "dm_query_session: null buffer"});
        std::memcpy(bufp, session->info.c_str(), *rlenp);
        return 0;
      },
      -1);
}

int dm_set_disp(dm_sessid_t sid, void *hanp, size_t hlen, dm_token_t token,
                dm_eventset_t *eventsetp, unsigned int maxevent) {
  return guarded(
      [&] {
        if (eventsetp == nullptr) return fail(Error{EFAULT, "dm_set_disp: null event set"});
        if (maxevent > DM_EVENT_MAX) {
          return fail(Error{E2BIG, "dm_set_disp: maxevent exceeds DM_EVENT_MAX"});
        }
        if (token != DM_NO_TOKEN) {
          return fail(Error{EINVAL, "dm_set_disp: pdm takes DM_NO_TOKEN here (no event rights)"});
        }
        auto node = running();
        if (!node.ok()) return fail(node.error());
        auto fs = disposition_fs(**node, hanp, hlen);
        if (!fs.ok()) return fail(fs.error());
        if (auto session = session_of(**node, sid); !session.ok()) return fail(session.error());
        const dm_eventset_t mask =
            maxevent >= 64 ? ~dm_eventset_t{0} : ((dm_eventset_t{1} << maxevent) - 1);
        dm::Update u = make(dm::Update::Kind::kSetDisposition);
        u.session.id = sid;
        u.fs = *fs;
        u.events = *eventsetp & mask;
        return to_int([&]() -> pdm::Status {
          PDM_TRY((*node)->control().submit(u));
          // The file system was mounted before any session existed: a
          // session that takes MOUNT gets the MOUNT event of the mounted one.
          if (*fs == dm::kGlobalFs && (u.events & (dm_eventset_t{1} << DM_EVENT_MOUNT))) {
            PDM_ASSIGN_OR_RETURN(auto root, (*node)->fs().stat("/"));
            PDM_TRY((*node)->events().deliver_mount(sid, {root.ino, root.generation}));
          }
          return {};
        }());
      },
      -1);
}

int dm_getall_disp(dm_sessid_t sid, size_t buflen, void *bufp, size_t *rlenp) {
  return guarded(
      [&] {
        if (rlenp == nullptr) return fail(Error{EFAULT, "dm_getall_disp: null rlenp"});
        auto node = running();
        if (!node.ok()) return fail(node.error());
        if (auto session = session_of(**node, sid); !session.ok()) return fail(session.error());
        // One dm_dispinfo_t per file system where the session holds events,
        // each followed by its file system handle; entries 8-byte aligned and
        // chained by _link (DM_STEP_TO_NEXT).
        auto held = (*node)->control().read([&](const dm::SessionTable &t) {
          std::vector<std::pair<dm::FsId, dm::EventSet>> out;
          for (const auto &[fs, state] : t.file_systems()) {
            if (auto set = t.disposed_to(fs, sid)) out.emplace_back(fs, set);
          }
          return out;
        });
        constexpr std::size_t kEntry =
            (sizeof(dm_dispinfo_t) + pdm::dmapi::kHandleSize + 7) / 8 * 8;
        *rlenp = held.size() * kEntry;
        if (buflen < *rlenp) {
          return fail(Error{E2BIG, "dm_getall_disp: needs " + std::to_string(*rlenp) + " bytes"});
        }
        if (!held.empty() && bufp == nullptr)
          return fail(Error{EFAULT, "dm_getall_disp: null buffer"});
        auto *out = static_cast<char *>(bufp);
        for (std::size_t i = 0; i < held.size(); ++i) {
          char *entry = out + i * kEntry;
          std::memset(entry, 0, kEntry);
          auto *info = reinterpret_cast<dm_dispinfo_t *>(entry);
          info->_link = i + 1 < held.size() ? static_cast<int>(kEntry) : 0;
          info->di_fshandle.vd_offset = static_cast<int>(sizeof(dm_dispinfo_t));
          info->di_fshandle.vd_length = static_cast<unsigned int>(pdm::dmapi::kHandleSize);
          info->di_eventset = held[i].second;
          const auto handle = held[i].first == dm::kGlobalFs
                                  ? pdm::dmapi::Handle::global()
                                  : pdm::dmapi::Handle::file_system(held[i].first);
          const auto bytes = handle.encode();
          std::memcpy(entry + sizeof(dm_dispinfo_t), bytes.data(), bytes.size());
        }
        return 0;
      },
      -1);
}

int pdm_dm_set_session_group(dm_sessid_t sid, const char *group) {
  return guarded(
      [&] {
        if (group == nullptr) return fail(Error{EFAULT, "pdm_dm_set_session_group: null group"});
        return modify_session(sid, [&](dm::Session &s) {
          s.group = group;
          if (*group == '\0') s.standby = false;  // a standby of no group is none
        });
      },
      -1);
}

int pdm_dm_leave_session_group(dm_sessid_t sid, void *hanp, size_t hlen, dm_eventset_t *eventsetp,
                               unsigned int maxevent) {
  return guarded(
      [&] {
        if (eventsetp == nullptr) {
          return fail(Error{EFAULT, "pdm_dm_leave_session_group: null event set"});
        }
        if (maxevent > DM_EVENT_MAX) return fail(Error{E2BIG, "maxevent exceeds DM_EVENT_MAX"});
        auto node = running();
        if (!node.ok()) return fail(node.error());
        auto fs = disposition_fs(**node, hanp, hlen);
        if (!fs.ok()) return fail(fs.error());
        auto session = session_of(**node, sid);
        if (!session.ok()) return fail(session.error());
        const dm_eventset_t mask =
            maxevent >= 64 ? ~dm_eventset_t{0} : ((dm_eventset_t{1} << maxevent) - 1);
        dm::Update u = make(dm::Update::Kind::kModifySession);
        u.session = *session;
        u.session.group.clear();
        u.session.standby = false;
        u.fs = *fs;
        u.events = *eventsetp & mask;
        auto done = (*node)->control().submit(u);
        return done.ok() ? 0 : fail(done.error());
      },
      -1);
}

int pdm_dm_set_session_standby(dm_sessid_t sid, int standby) {
  return guarded(
      [&] { return modify_session(sid, [&](dm::Session &s) { s.standby = standby != 0; }); }, -1);
}

int pdm_dm_set_group_options(const char *group, int async_to_all) {
  return guarded(
      [&] {
        if (group == nullptr) return fail(Error{EFAULT, "pdm_dm_set_group_options: null group"});
        auto node = running();
        if (!node.ok()) return fail(node.error());
        dm::Update u = make(dm::Update::Kind::kSetGroupOptions);
        u.group = group;
        u.options.async_to_all = async_to_all != 0;
        auto done = (*node)->control().submit(u);
        return done.ok() ? 0 : fail(done.error());
      },
      -1);
}

int pdm_dm_set_group_disp(const char *group, void *hanp, size_t hlen, dm_eventset_t *eventsetp,
                          unsigned int maxevent) {
  return guarded(
      [&] {
        if (group == nullptr || eventsetp == nullptr) {
          return fail(Error{EFAULT, "pdm_dm_set_group_disp: null argument"});
        }
        if (*group == '\0') return fail(Error{EINVAL, "pdm_dm_set_group_disp: empty group"});
        if (maxevent > DM_EVENT_MAX) return fail(Error{E2BIG, "maxevent exceeds DM_EVENT_MAX"});
        auto node = running();
        if (!node.ok()) return fail(node.error());
        auto fs = disposition_fs(**node, hanp, hlen);
        if (!fs.ok()) return fail(fs.error());
        const dm_eventset_t mask =
            maxevent >= 64 ? ~dm_eventset_t{0} : ((dm_eventset_t{1} << maxevent) - 1);
        dm::Update u = make(dm::Update::Kind::kSetDisposition);
        u.group = group;
        u.fs = *fs;
        u.events = *eventsetp & mask;
        auto done = (*node)->control().submit(u);
        return done.ok() ? 0 : fail(done.error());
      },
      -1);
}

int dm_get_config_events(void *hanp, size_t hlen, unsigned int nelem, dm_eventset_t *eventsetp,
                         unsigned int *nelemp) {
  return guarded(
      [&] {
        if (eventsetp == nullptr || nelemp == nullptr) {
          return fail(Error{EFAULT, "dm_get_config_events: null pointer"});
        }
        if (auto handle = pdm::dmapi::Handle::decode(hanp, hlen); !handle.ok()) {
          return fail(handle.error());
        }
        *nelemp = DM_EVENT_MAX;
        if (nelem < DM_EVENT_MAX) {
          return fail(Error{E2BIG, "dm_get_config_events: nelem below DM_EVENT_MAX"});
        }
        *eventsetp = pdm::pfs::dm_event::kGenerated;
        return 0;
      },
      -1);
}

int dm_get_config(void *hanp, size_t hlen, dm_config_t flagname, dm_size_t *retvalp) {
  return guarded(
      [&] {
        if (retvalp == nullptr) return fail(Error{EFAULT, "dm_get_config: null retvalp"});
        if (auto handle = pdm::dmapi::Handle::decode(hanp, hlen); !handle.ok()) {
          return fail(handle.error());
        }
        // What pdm does today; each value changes with the feature it names.
        switch (flagname) {
          case DM_CONFIG_MAX_HANDLE_SIZE:
            *retvalp = pdm::dmapi::kHandleSize;
            return 0;
          case DM_CONFIG_MAX_MESSAGE_DATA:
            *retvalp = dm::kMaxUserData;  // the most data a USER event carries
            return 0;
          case DM_CONFIG_PENDING:
          case DM_CONFIG_PERS_EVENTS:
            *retvalp = 1;  // dm_pending; per-file event lists in the metadata store
            return 0;
          case DM_CONFIG_LEGACY:
            *retvalp = 1;  // SGI-style dm_stat_t and handles
            return 0;
          case DM_CONFIG_PERS_ATTRIBUTES:
            *retvalp = 1;  // DM attributes live in the metadata store
            return 0;
          case DM_CONFIG_MAX_ATTRIBUTE_SIZE:
            *retvalp = pdm::pfs::kMaxDmAttrValue;
            return 0;
          case DM_CONFIG_TOTAL_ATTRIBUTE_SPACE:
            *retvalp = pdm::pfs::kMaxDmAttrSpace;  // per object, names and values
            return 0;
          case DM_CONFIG_DTIME_OVERLOAD:
            *retvalp = 1;  // dtime is ctime, as in XFS
            return 0;
          case DM_CONFIG_LOCK_UPGRADE:
            *retvalp = 1;  // dm_upgrade_right keeps the SHARED right until EXCL is granted
            return 0;
          case DM_CONFIG_PUNCH_HOLE:
          case DM_CONFIG_PERS_MANAGED_REGIONS:
            *retvalp = 1;  // regions live in the metadata store
            return 0;
          case DM_CONFIG_MAX_MANAGED_REGIONS:
            *retvalp = pdm::pfs::kMaxManagedRegions;
            return 0;
          case DM_CONFIG_BULKALL:
          case DM_CONFIG_CREATE_BY_HANDLE:
          case DM_CONFIG_MAX_ATTR_ON_DESTROY:  // no dm_set_return_on_destroy
          case DM_CONFIG_OBJ_REF:
          case DM_CONFIG_PERS_INHERIT_ATTRIBS:
          case DM_CONFIG_WILL_RETRY:
            *retvalp = 0;  // not supported (yet): docs/DMAPI.md
            return 0;
          default:
            return fail(Error{EINVAL, "dm_get_config: unknown flag"});
        }
      },
      -1);
}

}  // extern "C"

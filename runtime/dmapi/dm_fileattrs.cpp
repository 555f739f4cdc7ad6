// XDSM file attributes: dm_get_fileattr, dm_set_fileattr, and directory
// listings with attributes (dm_init_attrloc, dm_get_dirattrs), as the SGI
// flavour lays out dm_stat_t. dtime is overloaded onto ctime
// (DM_CONFIG_DTIME_OVERLOAD, as XFS): pdm inodes have no separate dtime.
#include <pdm/dmapi.h>

#include <algorithm>
#include <cstring>

#include "pfs/meta/dm_attr_protocol.h"
#include "runtime/dmapi/dm_object.h"
#include "runtime/node/c_boundary.h"

using pdm::Error;
using pdm::cboundary::fail;
using pdm::cboundary::guarded;
namespace pfs = pdm::pfs;
namespace msg = pdm::pfs::dm_attr_msg;

namespace {

constexpr unsigned kGetMask = DM_AT_MODE | DM_AT_UID | DM_AT_GID | DM_AT_ATIME | DM_AT_MTIME |
                              DM_AT_CTIME | DM_AT_SIZE | DM_AT_DTIME | DM_AT_HANDLE | DM_AT_EMASK |
                              DM_AT_PMANR | DM_AT_PATTR | DM_AT_STAT | DM_AT_CFLAG;
constexpr unsigned kSetMask = DM_AT_MODE | DM_AT_UID | DM_AT_GID | DM_AT_ATIME | DM_AT_MTIME |
                              DM_AT_CTIME | DM_AT_DTIME | DM_AT_SIZE;
constexpr pfs::TimeNs kNsPerSecond = 1'000'000'000;

constexpr std::size_t align8(std::size_t n) {
  return (n + 7) / 8 * 8;
}

// The object of a call by session sid with token, which must hold `needed`.
pdm::Result<pdm::dmapi::Object> target(dm_sessid_t sid, const void *hanp, size_t hlen,
                                       dm_token_t token, pdm::dm::Right needed) {
  PDM_ASSIGN_OR_RETURN(auto object, pdm::dmapi::object_of(hanp, hlen));
  PDM_TRY(pdm::dmapi::check_session(*object.node, sid));
  PDM_ASSIGN_OR_RETURN(object.right,
                       pdm::dmapi::check_right(*object.node, sid, token, object.ino, needed));
  return object;
}

time_t seconds(pfs::TimeNs ns) {
  return static_cast<time_t>(ns / kNsPerSecond);
}

// The file system's event list: the events enabled on every object until
// per-file event lists exist (dt_emask).
dm_eventset_t event_mask(const pdm::dmapi::Object &object) {
  return object.node->control().read(
      [&](const pdm::dm::SessionTable &t) { return t.eventlist(object.fsid); });
}

// The stat(2) fields always, and the DM fields the mask asks for. The
// caller zeroed *st.
void fill_stat(dm_stat_t *st, const pdm::dmapi::Object &object, const pfs::Inode &inode,
               bool has_dmattrs, unsigned mask) {
  const struct stat posix = object.node->fs().to_stat(inode);
  st->dt_dev = static_cast<dm_dev_t>(posix.st_dev);
  st->dt_ino = inode.ino;
  st->dt_mode = static_cast<dm_mode_t>(inode.mode);
  st->dt_nlink = static_cast<dm_nlink_t>(inode.nlink);
  st->dt_uid = static_cast<uid_t>(inode.uid);
  st->dt_gid = static_cast<gid_t>(inode.gid);
  st->dt_rdev = 0;
  st->dt_size = static_cast<dm_off_t>(inode.size);
  st->dt_atime = seconds(inode.atime);
  st->dt_mtime = seconds(inode.mtime);
  st->dt_ctime = seconds(inode.ctime);
  st->dt_blksize = static_cast<unsigned int>(posix.st_blksize);
  st->dt_blocks = static_cast<dm_size_t>(posix.st_blocks);
  st->dt_dtime = seconds(inode.ctime);  // overloaded onto ctime
  if (mask & DM_AT_EMASK) {
    st->dt_emask = event_mask(object);
    st->dt_nevents = DM_EVENT_MAX;
  }
  if (mask & DM_AT_PATTR) st->dt_pers = has_dmattrs ? 1 : 0;
  // Managed regions are not part of this build of pdm: none (DM_AT_PMANR).
  st->dt_pmanreg = 0;
  if (mask & DM_AT_CFLAG) {
    // Changes whenever ctime does, i.e. with every change made by a file
    // operation or with setdtime (dm_set_fileattr sets times explicitly).
    const auto c = static_cast<std::uint64_t>(inode.ctime);
    st->dt_change = static_cast<unsigned int>(c ^ (c >> 32));
  }
}

// Bytes of one dm_get_dirattrs entry: the dm_stat_t, its handle if asked
// for, its NUL-terminated name, 8-byte aligned.
std::size_t entry_size(const pfs::DirAttrsEntry &entry, unsigned mask) {
  return align8(sizeof(dm_stat_t) + ((mask & DM_AT_HANDLE) ? pdm::dmapi::kHandleSize : 0) +
                entry.name.size() + 1);
}

}  // namespace

extern "C" {

int dm_get_fileattr(dm_sessid_t sid, void *hanp, size_t hlen, dm_token_t token, unsigned int mask,
                    dm_stat_t *statp) {
  return guarded(
      [&] {
        if (statp == nullptr) return fail(Error{EFAULT, "dm_get_fileattr: null statp"});
        if ((mask & ~kGetMask) != 0)
          return fail(Error{EINVAL, "dm_get_fileattr: unknown mask bits"});
        auto object = target(sid, hanp, hlen, token, pdm::dm::Right::kShared);
        if (!object.ok()) return fail(object.error());
        auto attrs = pdm::dmapi::meta_call<pfs::ObjectAttrs>(
            *object, msg::kGetObject, pfs::ObjectRequest{object->ino, object->generation});
        if (!attrs.ok()) return fail(attrs.error());
        std::memset(statp, 0, sizeof *statp);
        fill_stat(statp, *object, attrs->inode, attrs->has_dmattrs, mask);
        return 0;
      },
      -1);
}

int dm_set_fileattr(dm_sessid_t sid, void *hanp, size_t hlen, dm_token_t token, unsigned int mask,
                    dm_fileattr_t *attrp) {
  return guarded(
      [&] {
        if (attrp == nullptr) return fail(Error{EFAULT, "dm_set_fileattr: null attrp"});
        if ((mask & ~kSetMask) != 0) {
          return fail(Error{EINVAL,
                            "dm_set_fileattr: mask bits other than MODE, UID, GID, "
                            "ATIME, MTIME, CTIME, DTIME, SIZE"});
        }
        if ((mask & DM_AT_SIZE) && attrp->fa_size < 0) {
          return fail(Error{EINVAL, "dm_set_fileattr: negative size"});
        }
        auto object = target(sid, hanp, hlen, token, pdm::dm::Right::kExcl);
        if (!object.ok()) return fail(object.error());
        pfs::AttrChange change;
        std::optional<pfs::TimeNs> ctime;
        if (mask & DM_AT_MODE) change.mode = static_cast<std::uint32_t>(attrp->fa_mode);
        if (mask & DM_AT_UID) change.uid = static_cast<std::uint32_t>(attrp->fa_uid);
        if (mask & DM_AT_GID) change.gid = static_cast<std::uint32_t>(attrp->fa_gid);
        if (mask & DM_AT_ATIME) change.atime = attrp->fa_atime * kNsPerSecond;
        if (mask & DM_AT_MTIME) change.mtime = attrp->fa_mtime * kNsPerSecond;
        // dtime is ctime (DM_CONFIG_DTIME_OVERLOAD); with both bits, CTIME wins.
        if (mask & DM_AT_DTIME) ctime = attrp->fa_dtime * kNsPerSecond;
        if (mask & DM_AT_CTIME) ctime = attrp->fa_ctime * kNsPerSecond;
        if (mask & DM_AT_SIZE) change.size = static_cast<std::uint64_t>(attrp->fa_size);
        auto changed =
            object->node->fs().dm_set_attr(object->ino, object->generation, change, ctime);
        if (!changed.ok()) return fail(changed.error());
        return 0;
      },
      -1);
}

int dm_init_attrloc(dm_sessid_t sid, void *hanp, size_t hlen, dm_token_t token,
                    dm_attrloc_t *locp) {
  return guarded(
      [&] {
        if (locp == nullptr) return fail(Error{EFAULT, "dm_init_attrloc: null locp"});
        auto object = target(sid, hanp, hlen, token, pdm::dm::Right::kShared);
        if (!object.ok()) return fail(object.error());
        auto attrs = pdm::dmapi::meta_call<pfs::ObjectAttrs>(
            *object, msg::kGetObject, pfs::ObjectRequest{object->ino, object->generation});
        if (!attrs.ok()) return fail(attrs.error());
        if (!attrs->inode.is_dir()) {
          return fail(Error{EINVAL, "dm_init_attrloc: not a directory's handle"});
        }
        *locp = 0;  // the position: entries of the directory (in name order) already returned
        return 0;
      },
      -1);
}

// As many entries as fit, from *locp on; 1 while more remain, 0 at the end.
int dm_get_dirattrs(dm_sessid_t sid, void *hanp, size_t hlen, dm_token_t token, unsigned int mask,
                    dm_attrloc_t *locp, size_t buflen, void *bufp, size_t *rlenp) {
  return guarded(
      [&] {
        if (locp == nullptr || rlenp == nullptr || (bufp == nullptr && buflen > 0)) {
          return fail(Error{EFAULT, "dm_get_dirattrs: null pointer"});
        }
        if ((mask & ~kGetMask) != 0)
          return fail(Error{EINVAL, "dm_get_dirattrs: unknown mask bits"});
        if (*locp < 0) return fail(Error{EINVAL, "dm_get_dirattrs: invalid location"});
        auto object = target(sid, hanp, hlen, token, pdm::dm::Right::kShared);
        if (!object.ok()) return fail(object.error());
        // Ask for about as many entries as the buffer can hold (short names).
        const std::size_t smallest =
            align8(sizeof(dm_stat_t) + ((mask & DM_AT_HANDLE) ? pdm::dmapi::kHandleSize : 0) + 2);
        const auto wanted =
            static_cast<std::uint32_t>(std::min<std::size_t>(buflen / smallest + 1, 4096));
        auto page = pdm::dmapi::meta_call<pfs::DirAttrsPage>(
            *object, msg::kDirAttrs,
            pfs::DirAttrsRequest{object->ino, object->generation, static_cast<std::uint64_t>(*locp),
                                 wanted});
        if (!page.ok()) {
          if (page.error().code == ENOTDIR) {
            return fail(Error{EINVAL, "dm_get_dirattrs: not a directory's handle"});
          }
          return fail(page.error());
        }
        *rlenp = 0;
        if (page->entries.empty()) return 0;
        if (entry_size(page->entries.front(), mask) > buflen) {
          *rlenp = entry_size(page->entries.front(), mask);
          return fail(Error{
              E2BIG, "dm_get_dirattrs: the next entry takes " + std::to_string(*rlenp) + " bytes"});
        }
        char *base = static_cast<char *>(bufp);
        std::size_t used = 0;
        std::size_t packed = 0;
        dm_stat_t *previous = nullptr;
        for (const auto &entry : page->entries) {
          const std::size_t size = entry_size(entry, mask);
          if (used + size > buflen) break;
          char *at = base + used;
          std::memset(at, 0, size);
          auto *st = reinterpret_cast<dm_stat_t *>(at);
          fill_stat(st, *object, entry.inode, entry.has_dmattrs, mask);
          std::size_t tail = sizeof(dm_stat_t);
          if (mask & DM_AT_HANDLE) {
            const auto handle =
                pdm::dmapi::Handle::object(object->fsid, entry.inode.ino, entry.inode.generation)
                    .encode();
            std::memcpy(at + tail, handle.data(), handle.size());
            st->dt_handle.vd_offset = static_cast<int>(tail);
            st->dt_handle.vd_length = static_cast<unsigned int>(handle.size());
            tail += handle.size();
          }
          std::memcpy(at + tail, entry.name.c_str(), entry.name.size() + 1);
          st->dt_compname.vd_offset = static_cast<int>(tail);
          st->dt_compname.vd_length = static_cast<unsigned int>(entry.name.size() + 1);
          if (previous != nullptr) {
            previous->_link =
                static_cast<int>(reinterpret_cast<char *>(st) - reinterpret_cast<char *>(previous));
          }
          previous = st;
          used += size;
          ++packed;
        }
        *rlenp = used;
        *locp += static_cast<dm_attrloc_t>(packed);
        return packed < page->entries.size() || page->more ? 1 : 0;
      },
      -1);
}

}  // extern "C"

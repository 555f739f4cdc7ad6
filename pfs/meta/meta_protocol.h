// The metadata protocol: message types and bodies between clients and the
// rank that owns the metadata volume. Paths travel as strings and are
// validated again by the service (never trust the wire).
#pragma once

#include <cstdint>
#include <tuple>
#include <vector>

#include "pfs/meta/meta_service.h"
#include "runtime/mpi/fields.h"

namespace pdm::pfs {

namespace meta_msg {
enum : mpi::MsgType {
  kResolve = 0x0201,
  kGetattr,
  kOpen,
  kClose,
  kMkdir,
  kUnlink,
  kRmdir,
  kRename,
  kReaddir,
  kSetattr,
  kExtend,
  kForget,
  kOrphans,
  kSync,
  kStats,
  kCloseFor,  // CloseForRequest -> Unlinked (kClose for every rank of a group)
};
// Per-file DM event lists (issue #3), in the range 0x0260-0x027f.
enum : mpi::MsgType {
  kSetEventList = 0x0260,  // SetEventListRequest -> Empty
  kEventLists = 0x0261,    // Empty -> std::vector<StoredEventList>
};
}  // namespace meta_msg

struct SetEventListRequest {
  InodeNumber ino = 0;
  std::uint64_t generation = 0;
  std::uint64_t events = 0;
  auto fields() { return std::tie(ino, generation, events); }
};

struct PathRequest {
  std::string path;
  auto fields() { return std::tie(path); }
};

struct InodeRequest {
  InodeNumber ino = 0;
  auto fields() { return std::tie(ino); }
};

struct CloseRequest {
  InodeNumber ino = 0;
  bool was_read = false;
  auto fields() { return std::tie(ino, was_read); }
};

// A group close (FileSystem::finish_close with holders): one request ends
// the open of every rank in `holders` (checked as a group open's are,
// group_holders.h); was_read if any of them read.
struct CloseForRequest {
  InodeNumber ino = 0;
  bool was_read = false;
  std::vector<std::int32_t> holders;
  auto fields() { return std::tie(ino, was_read, holders); }
};

struct MkdirRequest {
  std::string path;
  std::uint32_t mode = 0;
  std::uint32_t uid = 0;
  std::uint32_t gid = 0;
  auto fields() { return std::tie(path, mode, uid, gid); }
};

struct RenameRequest {
  std::string from;
  std::string to;
  auto fields() { return std::tie(from, to); }
};

struct ReaddirRequest {
  std::string path;
  std::string after;
  std::uint32_t max_entries = 0;
  auto fields() { return std::tie(path, after, max_entries); }
};

struct SetattrRequest {
  InodeNumber ino = 0;
  AttrChange change;
  auto fields() { return std::tie(ino, change); }
};

struct ExtendRequest {
  InodeNumber ino = 0;
  std::uint64_t end = 0;
  auto fields() { return std::tie(ino, end); }
};

// Service-side structs travel as they are.
inline auto wire_fields(OpenRequest &r) {
  return std::tie(r.path, r.flags, r.mode, r.uid, r.gid);
}
inline auto wire_fields(Created &c) {
  return std::tie(c.inode, c.created);
}
inline auto wire_fields(Unlinked &u) {
  return std::tie(u.inode, u.destroy);
}
inline auto wire_fields(Renamed &r) {
  return std::tie(r.moved, r.replaced);
}
inline auto wire_fields(AttrChange &c) {
  return std::tie(c.size, c.mode, c.uid, c.gid, c.atime, c.mtime);
}
inline auto wire_fields(StoredEventList &l) {
  return std::tie(l.ino, l.generation, l.events);
}
inline auto wire_fields(StoreStats &s) {
  return std::tie(s.inodes, s.orphans, s.next_ino);
}

}  // namespace pdm::pfs

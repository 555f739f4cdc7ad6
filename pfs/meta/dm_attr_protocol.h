// The DM attribute protocol: what the XDSM attribute functions
// (dm_*_dmattr, dm_get/set_fileattr, dm_get_dirattrs, dm_handle_to_path) ask
// the rank that serves the metadata. One request per C call; every request
// names its object by inode number and generation, as a handle does, and the
// store answers EBADF for an object that does not exist (any more).
// Message types 0x0240-0x025f.
#pragma once

#include <optional>
#include <tuple>

#include "pfs/meta/meta_protocol.h"

namespace pdm::pfs {

namespace dm_attr_msg {
enum : mpi::MsgType {
  kGetObject = 0x0240,
  kSetDmattr,
  kGetDmattr,
  kRemoveDmattr,
  kListDmattrs,
  kSetFileattr,
  kDirAttrs,
  kPathOf,
  kGetDmattrOfEach,
};
}  // namespace dm_attr_msg

struct ObjectRequest {
  InodeNumber ino = 0;
  std::uint64_t generation = 0;
  auto fields() { return std::tie(ino, generation); }
};

struct ObjectAttrs {
  Inode inode;
  bool has_dmattrs = false;
  auto fields() { return std::tie(inode, has_dmattrs); }
};

struct SetDmattrRequest {
  InodeNumber ino = 0;
  std::uint64_t generation = 0;
  std::string name;
  std::string value;
  bool set_dtime = false;
  auto fields() { return std::tie(ino, generation, name, value, set_dtime); }
};

struct DmattrRequest {  // get (set_dtime unused) and remove
  InodeNumber ino = 0;
  std::uint64_t generation = 0;
  std::string name;
  bool set_dtime = false;
  auto fields() { return std::tie(ino, generation, name, set_dtime); }
};

// One DM attribute of many objects (a scan reading every file's record).
struct DmattrOfEachRequest {
  std::vector<ObjectRequest> objects;
  std::string name;
  auto fields() { return std::tie(objects, name); }
};

// One object's answer: its value, or the error a get of it alone would fail
// with (ENOENT: no such attribute; EBADF: the object is gone), errno and
// message.
struct DmattrOrError {
  std::int32_t error = 0;
  std::string value_or_message;
  auto fields() { return std::tie(error, value_or_message); }
};

struct SetFileattrRequest {
  InodeNumber ino = 0;
  std::uint64_t generation = 0;
  AttrChange change;
  std::optional<TimeNs> ctime;
  auto fields() { return std::tie(ino, generation, change, ctime); }
};

struct DirAttrsRequest {
  InodeNumber dir = 0;
  std::uint64_t generation = 0;
  std::uint64_t skip = 0;
  std::uint32_t max_entries = 0;
  auto fields() { return std::tie(dir, generation, skip, max_entries); }
};

struct PathOfRequest {
  InodeNumber dir = 0;
  std::uint64_t dir_generation = 0;
  InodeNumber target = 0;
  std::uint64_t target_generation = 0;
  auto fields() { return std::tie(dir, dir_generation, target, target_generation); }
};

inline auto wire_fields(DmAttr &a) {
  return std::tie(a.name, a.value);
}
inline auto wire_fields(DirAttrsEntry &e) {
  return std::tie(e.name, e.inode, e.has_dmattrs);
}
inline auto wire_fields(DirAttrsPage &p) {
  return std::tie(p.entries, p.more);
}

}  // namespace pdm::pfs

// Handle: a DMAPI handle of pdm, the opaque bytes by which XDSM names the
// global event space, a file system, or one file or directory for its whole
// life (XDSM ch. 4 and 5; DESIGN.md section 6: fs id + inode + generation).
// The C API (<pdm/dmapi.h>) passes handles as (pointer, length); the runtime
// builds them for events and decodes the ones applications give back.
//
// Wire format: kHandleSize bytes, integers little-endian.
//
//   offset  size  field
//        0     2  magic "pd"
//        2     1  version (kHandleVersion)
//        3     1  kind (HandleKind)
//        4     4  reserved, zero
//        8     8  fs id (dm_fsid_t)
//       16     8  inode number (dm_ino_t)
//       24     8  generation
//
// Which fields a kind uses is fixed, and the others must be zero, so that
// equal handles are equal bytes (dm_handle_cmp, dm_handle_hash):
//   global       fs id, ino and generation zero (DM_GLOBAL_HANP)
//   file system  fs id non-zero; ino and generation zero
//   object       fs id, ino and generation non-zero (pdm never uses 0 for
//                any of them: ino 1 is the root, generations start at 1,
//                and fs id 0 is reserved for the global handle)
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "runtime/base/result.h"

namespace pdm::dmapi {

// A file system id as a number: the 16 hex digits of the fs config
// ("3f9c0a1b2c3d4e5f") read as a 64-bit integer; it is the dm_fsid_t.
using FsId = std::uint64_t;

// EINVAL unless text is 16 hexadecimal digits (either case).
Result<FsId> parse_fs_id(std::string_view text);
// The 16 lowercase hex digits of fsid, as pdm mkfs writes them.
std::string format_fs_id(FsId fsid);

inline constexpr std::size_t kHandleSize = 32;
inline constexpr std::uint8_t kHandleMagic0 = 'p';
inline constexpr std::uint8_t kHandleMagic1 = 'd';
inline constexpr std::uint8_t kHandleVersion = 1;

enum class HandleKind : std::uint8_t { kGlobal = 1, kFileSystem = 2, kObject = 3 };

using HandleBytes = std::array<std::uint8_t, kHandleSize>;

struct Handle {
  HandleKind kind = HandleKind::kGlobal;
  FsId fsid = 0;
  std::uint64_t ino = 0;
  std::uint64_t generation = 0;

  static Handle global() { return Handle{}; }
  static Handle file_system(FsId fsid) { return Handle{HandleKind::kFileSystem, fsid, 0, 0}; }
  static Handle object(FsId fsid, std::uint64_t ino, std::uint64_t generation) {
    return Handle{HandleKind::kObject, fsid, ino, generation};
  }

  bool is_global() const { return kind == HandleKind::kGlobal; }
  bool is_file_system() const { return kind == HandleKind::kFileSystem; }
  bool is_object() const { return kind == HandleKind::kObject; }

  // The handle of the file system that holds this one (itself for a file
  // system handle); EBADF for the global handle, which belongs to none.
  Result<Handle> fs_handle() const;

  // EINVAL, naming the field, unless the fields fit the kind (see above).
  Status validate() const;

  // The wire bytes; the handle must be valid.
  HandleBytes encode() const;
  // EBADF unless data/size are the bytes of a valid handle: XDSM's error for
  // "not a handle" in every function that takes one.
  static Result<Handle> decode(const void *data, std::size_t size);

  // "global", "fs 3f9c0a1b2c3d4e5f" or "object 3f9c0a1b2c3d4e5f/ino 12/gen 7",
  // for messages.
  std::string to_string() const;

  bool operator==(const Handle &) const = default;
};

// Hands a handle to a C caller as XDSM wants: a malloc'd copy of its bytes
// in *hanpp and its length in *hlenp, to be released with dm_handle_free.
// EFAULT if either pointer is null, ENOMEM if the copy cannot be allocated.
Status export_handle(const Handle &handle, void **hanpp, std::size_t *hlenp);

}  // namespace pdm::dmapi

// pdm::dmapi::Handle and the handle functions of <pdm/dmapi.h> that need no
// mounted file system. The C functions are the one place where a handle
// Error becomes -1/errno; none lets an exception out.
#include "runtime/dmapi/handle.h"

#include <pdm/dmapi.h>

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <new>

#include <fmt/format.h>

namespace pdm::dmapi {
namespace {

static_assert(DM_GLOBAL_HLEN == kHandleSize);
static_assert(kHandleSize <= DM_MAX_HANDLE_SIZE);
static_assert(sizeof(dm_fsid_t) == sizeof(FsId));
static_assert(sizeof(dm_ino_t) == sizeof(std::uint64_t));

constexpr std::size_t kReservedOffset = 4;
constexpr std::size_t kFsIdOffset = 8;
constexpr std::size_t kInoOffset = 16;
constexpr std::size_t kGenerationOffset = 24;

void put_u64(HandleBytes &bytes, std::size_t offset, std::uint64_t value) {
  for (std::size_t i = 0; i < 8; ++i) {
    bytes[offset + i] = static_cast<std::uint8_t>(value >> (8 * i));
  }
}

std::uint64_t get_u64(const std::uint8_t *bytes, std::size_t offset) {
  std::uint64_t value = 0;
  for (std::size_t i = 0; i < 8; ++i) value |= std::uint64_t{bytes[offset + i]} << (8 * i);
  return value;
}

// Why the fields do not fit the kind (see handle.h), or nullptr if they do.
const char *invalid_reason(const Handle &handle) {
  switch (handle.kind) {
    case HandleKind::kGlobal:
      if (handle.fsid != 0 || handle.ino != 0 || handle.generation != 0) {
        return "a global handle has no fs id, inode or generation";
      }
      return nullptr;
    case HandleKind::kFileSystem:
      if (handle.fsid == 0) return "fs id 0 is reserved for the global handle";
      if (handle.ino != 0 || handle.generation != 0) {
        return "a file system handle has no inode or generation";
      }
      return nullptr;
    case HandleKind::kObject:
      if (handle.fsid == 0) return "fs id 0 is reserved for the global handle";
      if (handle.ino == 0) return "no file has inode number 0";
      if (handle.generation == 0) return "no file has generation 0";
      return nullptr;
  }
  return "unknown handle kind";
}

}  // namespace

Result<FsId> parse_fs_id(std::string_view text) {
  FsId fsid = 0;
  const char *end = text.data() + text.size();
  const bool hex = text.size() == 16 &&
                   text.find_first_not_of("0123456789abcdefABCDEF") == std::string_view::npos;
  if (!hex || std::from_chars(text.data(), end, fsid, 16).ptr != end) {
    return make_error(EINVAL, "pdm: file system id '{}' is not 16 hex digits", text);
  }
  return fsid;
}

std::string format_fs_id(FsId fsid) {
  return fmt::format("{:016x}", fsid);
}

Result<Handle> Handle::fs_handle() const {
  if (is_global()) return make_error(EBADF, "pdm: the global handle names no file system");
  return file_system(fsid);
}

Status Handle::validate() const {
  if (const char *reason = invalid_reason(*this)) return make_error(EINVAL, "pdm: {}", reason);
  return ok_status();
}

HandleBytes Handle::encode() const {
  HandleBytes bytes{};
  bytes[0] = kHandleMagic0;
  bytes[1] = kHandleMagic1;
  bytes[2] = kHandleVersion;
  bytes[3] = static_cast<std::uint8_t>(kind);
  put_u64(bytes, kFsIdOffset, fsid);
  put_u64(bytes, kInoOffset, ino);
  put_u64(bytes, kGenerationOffset, generation);
  return bytes;
}

Result<Handle> Handle::decode(const void *data, std::size_t size) {
  if (data == nullptr) return make_error(EBADF, "pdm: no handle (null pointer)");
  if (size != kHandleSize) {
    return make_error(EBADF, "pdm: not a pdm handle: {} bytes, a pdm handle has {}", size,
                      kHandleSize);
  }
  const auto *bytes = static_cast<const std::uint8_t *>(data);
  if (bytes[0] != kHandleMagic0 || bytes[1] != kHandleMagic1) {
    return make_error(EBADF, "pdm: not a pdm handle (bad magic)");
  }
  if (bytes[2] != kHandleVersion) {
    return make_error(EBADF, "pdm: handle version {} is not supported (this pdm reads {})",
                      bytes[2], kHandleVersion);
  }
  for (std::size_t i = kReservedOffset; i < kFsIdOffset; ++i) {
    if (bytes[i] != 0) return make_error(EBADF, "pdm: not a pdm handle (reserved bytes set)");
  }
  const auto kind = static_cast<HandleKind>(bytes[3]);
  Handle handle{kind, get_u64(bytes, kFsIdOffset), get_u64(bytes, kInoOffset),
                get_u64(bytes, kGenerationOffset)};
  if (const char *reason = invalid_reason(handle)) {
    return make_error(EBADF, "pdm: not a valid handle: {}", reason);
  }
  return handle;
}

std::string Handle::to_string() const {
  switch (kind) {
    case HandleKind::kGlobal:
      return "global";
    case HandleKind::kFileSystem:
      return "fs " + format_fs_id(fsid);
    case HandleKind::kObject:
      return fmt::format("object {}/ino {}/gen {}", format_fs_id(fsid), ino, generation);
  }
  return fmt::format("handle of kind {}", static_cast<int>(kind));
}

Status export_handle(const Handle &handle, void **hanpp, std::size_t *hlenp) {
  if (hanpp == nullptr || hlenp == nullptr) {
    return make_error(EFAULT, "pdm: no place to return the handle (null pointer)");
  }
  const HandleBytes bytes = handle.encode();
  void *copy = std::malloc(bytes.size());
  if (copy == nullptr) return make_error(ENOMEM, "pdm: out of memory for a handle");
  std::memcpy(copy, bytes.data(), bytes.size());
  *hanpp = copy;
  *hlenp = bytes.size();
  return ok_status();
}

}  // namespace pdm::dmapi

// The global handle's bytes: a valid handle of kind global (see handle.h).
extern "C" const unsigned char pdm_dm_global_handle[DM_GLOBAL_HLEN] = {
    pdm::dmapi::kHandleMagic0, pdm::dmapi::kHandleMagic1, pdm::dmapi::kHandleVersion,
    static_cast<unsigned char>(pdm::dmapi::HandleKind::kGlobal)};

namespace {

using pdm::Error;
using pdm::Result;
using pdm::dmapi::Handle;

int fail(int code) {
  errno = code;
  return -1;
}

int fail(const Error &error) {
  return fail(error.code);
}

// Runs the body of a C entry point; an escaping exception becomes errno.
template <typename Body>
auto guarded(Body body, decltype(body()) on_error) noexcept -> decltype(body()) {
  try {
    return body();
  } catch (const std::bad_alloc &) {
    fail(ENOMEM);
  } catch (...) {
    fail(EIO);
  }
  return on_error;
}

int to_int(const pdm::Status &status) {
  return status.ok() ? 0 : fail(status.error());
}

// A handle that names a file or directory, for the dm_handle_to_* functions:
// EBADF for anything else, as SGI's libdm does.
Result<Handle> decode_object(const void *hanp, std::size_t hlen) {
  PDM_ASSIGN_OR_RETURN(Handle handle, Handle::decode(hanp, hlen));
  if (!handle.is_object()) {
    return Error{EBADF, "pdm: " + handle.to_string() + " handle names no file"};
  }
  return handle;
}

}  // namespace

extern "C" {

int dm_make_handle(dm_fsid_t *fsidp, dm_ino_t *inop, dm_igen_t *igenp, void **hanpp,
                   size_t *hlenp) {
  return guarded(
      [&] {
        if (fsidp == nullptr || inop == nullptr || igenp == nullptr) return fail(EFAULT);
        const Handle handle = Handle::object(*fsidp, *inop, *igenp);
        if (auto status = handle.validate(); !status.ok()) return fail(status.error());
        return to_int(pdm::dmapi::export_handle(handle, hanpp, hlenp));
      },
      -1);
}

int dm_make_fshandle(dm_fsid_t *fsidp, void **hanpp, size_t *hlenp) {
  return guarded(
      [&] {
        if (fsidp == nullptr) return fail(EFAULT);
        const Handle handle = Handle::file_system(*fsidp);
        if (auto status = handle.validate(); !status.ok()) return fail(status.error());
        return to_int(pdm::dmapi::export_handle(handle, hanpp, hlenp));
      },
      -1);
}

int dm_handle_to_fshandle(void *hanp, size_t hlen, void **fshanpp, size_t *fshlenp) {
  return guarded(
      [&] {
        auto handle = Handle::decode(hanp, hlen);
        if (!handle.ok()) return fail(handle.error());
        auto fs = handle->fs_handle();
        if (!fs.ok()) return fail(fs.error());
        return to_int(pdm::dmapi::export_handle(*fs, fshanpp, fshlenp));
      },
      -1);
}

int dm_handle_to_fsid(void *hanp, size_t hlen, dm_fsid_t *fsidp) {
  return guarded(
      [&] {
        auto handle = Handle::decode(hanp, hlen);
        if (!handle.ok()) return fail(handle.error());
        if (handle->is_global()) return fail(EBADF);
        if (fsidp == nullptr) return fail(EFAULT);
        *fsidp = handle->fsid;
        return 0;
      },
      -1);
}

int dm_handle_to_ino(void *hanp, size_t hlen, dm_ino_t *inop) {
  return guarded(
      [&] {
        auto handle = decode_object(hanp, hlen);
        if (!handle.ok()) return fail(handle.error());
        if (inop == nullptr) return fail(EFAULT);
        *inop = handle->ino;
        return 0;
      },
      -1);
}

int dm_handle_to_igen(void *hanp, size_t hlen, dm_igen_t *igenp) {
  return guarded(
      [&] {
        auto handle = decode_object(hanp, hlen);
        if (!handle.ok()) return fail(handle.error());
        if (igenp == nullptr) return fail(EFAULT);
        // pdm generations are 64-bit, dm_igen_t is SGI's 32 bits: a
        // generation beyond them is reported, never truncated.
        if (handle->generation > std::numeric_limits<dm_igen_t>::max()) return fail(EOVERFLOW);
        *igenp = static_cast<dm_igen_t>(handle->generation);
        return 0;
      },
      -1);
}

// XDSM leaves the order unspecified; this one is total: by length, then by
// bytes, with a null pointer before any other.
int dm_handle_cmp(void *hanp1, size_t hlen1, void *hanp2, size_t hlen2) {
  if (hlen1 != hlen2) return hlen1 < hlen2 ? -1 : 1;
  if (hanp1 == hanp2) return 0;
  if (hanp1 == nullptr) return -1;
  if (hanp2 == nullptr) return 1;
  const int order = std::memcmp(hanp1, hanp2, hlen1);
  return (order > 0) - (order < 0);
}

// FNV-1a over the bytes: equal handles hash alike, as XDSM requires.
unsigned int dm_handle_hash(void *hanp, size_t hlen) {
  if (hanp == nullptr) return 0;
  const auto *bytes = static_cast<const unsigned char *>(hanp);
  std::uint32_t hash = 2166136261u;
  for (size_t i = 0; i < hlen; ++i) {
    hash ^= bytes[i];
    hash *= 16777619u;
  }
  return hash;
}

dm_boolean_t dm_handle_is_valid(void *hanp, size_t hlen) {
  return guarded(
      [&]() -> dm_boolean_t { return Handle::decode(hanp, hlen).ok() ? DM_TRUE : DM_FALSE; },
      DM_FALSE);
}

void dm_handle_free(void *hanp, size_t /*hlen*/) {
  if (hanp == DM_GLOBAL_HANP) return;
  std::free(hanp);
}

}  // extern "C"

// The operations on one file or directory that an HSM makes through its
// session (XDSM ch. 5): DM attributes, managed regions, invisible I/O,
// punch/probe hole and file attributes. Each takes the session, the
// object's handle and optionally a token: with kNoToken the call takes a
// short-term right for its duration and waits while another token's right
// excludes it (so pass your token when it holds a right on the object);
// with a token, it must be held by the session and hold DM_RIGHT_SHARED on
// the object to read, DM_RIGHT_EXCL to change (EACCES).
// Same checks, errnos and metadata/data calls as the C functions
// (runtime/dmapi/dm_attrs.cpp, dm_data.cpp, dm_fileattrs.cpp), whose
// helpers (dmapi/dm_object.h) they share.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "pfs/client/file_system.h"
#include "pfs/meta/dm_state.h"
#include "pfs/meta/inode.h"
#include "pfs/meta/meta_store.h"
#include "runtime/base/result.h"
#include "runtime/dm/api/session.h"

namespace pdm::dm::api {

// DM attributes (names of 1..8 bytes, DM_ATTR_NAME_SIZE: EINVAL otherwise).
Result<std::string> get_attr(const Session &s, const Handle &object, std::string_view name,
                             Token token = kNoToken);
Status set_attr(const Session &s, const Handle &object, std::string_view name,
                std::string_view value, Token token = kNoToken, bool set_dtime = false);
Status remove_attr(const Session &s, const Handle &object, std::string_view name,
                   Token token = kNoToken, bool set_dtime = false);

// One DM attribute of each of `objects`, in one metadata request per
// kAttrOfEachBatch objects instead of one per object (pdm-hsm's scan reads
// every file's record this way). Per object, in order: the value, or the
// error get_attr would give (ENOENT: no such attribute; EBADF: not a valid
// handle, or the object is gone). Beyond XDSM, and unlike get_attr, it takes
// no access right: each value is read atomically, but a session holding
// DM_RIGHT_EXCL on an object may change it right after, so a caller that
// acts on a value reads it again under a right. EINVAL for a bad name or
// session.
inline constexpr std::size_t kAttrOfEachBatch = 256;
Result<std::vector<Result<std::string>>> get_attr_of_each(const Session &s,
                                                          std::span<const Handle> objects,
                                                          std::string_view name);

// Every DM attribute of the object, in name order (dm_getall_dmattr).
using Attribute = pfs::DmAttr;
Result<std::vector<Attribute>> list_attrs(const Session &s, const Handle &object,
                                          Token token = kNoToken);

// Managed regions (flags: DM_REGION_READ | _WRITE | _TRUNCATE). pdm keeps
// regions exactly as given (dm_set_region's exact flag is always true).
using Region = pfs::ManagedRegion;
Result<std::vector<Region>> get_regions(const Session &s, const Handle &file,
                                        Token token = kNoToken);
Status set_regions(const Session &s, const Handle &file, std::vector<Region> regions,
                   Token token = kNoToken);

// Invisible I/O: no event, no time change; returns the bytes moved.
Result<std::size_t> read_invisible(const Session &s, const Handle &file, std::uint64_t offset,
                                   std::span<std::byte> out, Token token = kNoToken);
Result<std::size_t> write_invisible(const Session &s, const Handle &file, std::uint64_t offset,
                                    std::span<const std::byte> data, bool sync = false,
                                    Token token = kNoToken);

// [offset, offset + length) (length 0: to the end of the file).
Status punch_hole(const Session &s, const Handle &file, std::uint64_t offset, std::uint64_t length,
                  Token token = kNoToken);
using ByteRange = pfs::ByteRange;
Result<ByteRange> probe_hole(const Session &s, const Handle &file, std::uint64_t offset,
                             std::uint64_t length, Token token = kNoToken);

// File attributes (dm_get_fileattr): the inode and whether it has DM
// attributes (dt_pers). Times are nanoseconds; dtime is ctime (XFS).
struct FileAttributes {
  pfs::Inode inode;
  bool has_dm_attributes = false;
};
Result<FileAttributes> stat(const Session &s, const Handle &object, Token token = kNoToken);

// Changes the file attributes in `change` and, if given, ctime
// (dm_set_fileattr; XDSM's dtime is ctime): no implicit times, no event.
// A size change trims or extends the file as truncate does. Returns the
// inode as changed.
Result<pfs::Inode> set_stat(const Session &s, const Handle &object, const pfs::AttrChange &change,
                            std::optional<pfs::TimeNs> ctime = std::nullopt,
                            Token token = kNoToken);

// A directory's entries with their attributes (dm_get_dirattrs), in name
// order: up to `max` entries after the first `position` ones. The page says
// whether more remain; the next position is position + entries.size().
using DirectoryPage = pfs::DirAttrsPage;
Result<DirectoryPage> list_directory(const Session &s, const Handle &directory,
                                     std::uint64_t position, std::uint32_t max,
                                     Token token = kNoToken);

// The file's data and holes from `offset` on (dm_get_allocinfo).
using Extent = pfs::FileSystem::Extent;
Result<std::vector<Extent>> allocation(const Session &s, const Handle &file, std::uint64_t offset,
                                       Token token = kNoToken);

// Makes the file's data and attributes durable (dm_sync_by_handle).
Status sync(const Session &s, const Handle &file, Token token = kNoToken);

}  // namespace pdm::dm::api

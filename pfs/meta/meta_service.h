// MetaService: the metadata operations of the file system, run by the rank
// that owns the metadata volume (its handlers decode requests and call these;
// see meta_handlers.cpp). It adds to MetaStore the opens: which rank holds
// which inode open, so that an unlinked file stays readable until its last
// close (POSIX) and its objects are destroyed only then. Opens are kept in
// the store (MetaStore::add_open), not in this process: a server that takes
// over after the last one died knows them too (docs/FAILURES.md §2).
#pragma once

#include <memory>
#include <span>
#include <string_view>

#include "pfs/meta/meta_store.h"

namespace pdm::pfs {

struct OpenRequest {
  std::string path;
  int flags = 0;  // O_CREAT, O_EXCL, O_DIRECTORY, access mode
  std::uint32_t mode = 0644;
  std::uint32_t uid = 0;
  std::uint32_t gid = 0;
};

// An inode whose last name and last opener are gone: the caller destroys its
// objects on every volume, then calls forget().
struct Unlinked {
  Inode inode;
  bool destroy = false;
};

struct Renamed {
  Inode moved;
  std::optional<Unlinked> replaced;
};

class MetaService {
 public:
  explicit MetaService(std::unique_ptr<MetaStore> store);

  Result<Inode> resolve(std::string_view path);
  Result<Inode> getattr(InodeNumber ino);
  // Resolves or creates (O_CREAT) the file and counts the open of rank `holder`.
  Result<Created> open(const OpenRequest &request, int holder);
  // The same, counting one open of each of `holders` (a group open: one
  // request opens the file for every rank of an MPI file's group).
  Result<Created> open(const OpenRequest &request, std::span<const int> holders);
  // Ends one open of `holder`; destroy is set when this was the last use of
  // an unlinked inode. EBADF if the holder has no open of it.
  Result<Unlinked> close(InodeNumber ino, bool was_read, int holder);
  // The same for one open of each of `holders` (a group close): EBADF, and
  // none ended, if one of them holds no open of it.
  Result<Unlinked> close(InodeNumber ino, bool was_read, std::span<const int> holders);
  Result<Inode> mkdir(std::string_view path, std::uint32_t mode, std::uint32_t uid,
                      std::uint32_t gid);
  Result<Unlinked> unlink(std::string_view path);
  Status rmdir(std::string_view path);
  Result<Renamed> rename(std::string_view from, std::string_view to);
  Result<std::vector<DirEntry>> readdir(std::string_view path, std::string_view after,
                                        std::size_t max_entries);
  Result<Inode> set_attr(InodeNumber ino, const AttrChange &change);
  Result<Inode> extend(InodeNumber ino, std::uint64_t end);
  // Orphans not open anywhere: left by a job that ended without closing them.
  Result<std::vector<Inode>> unopened_orphans();
  Status forget(InodeNumber ino);
  Status sync() { return store_->sync(); }
  Result<StoreStats> stats() { return store_->stats(); }

  MetaStore &store() { return *store_; }

 private:
  // Resolves the parent directory of a path and returns it with the last name.
  Result<std::pair<Inode, std::string>> parent_of(std::string_view path);
  Result<bool> is_open(InodeNumber ino) { return store_->is_open(ino); }

  std::unique_ptr<MetaStore> store_;
};

}  // namespace pdm::pfs

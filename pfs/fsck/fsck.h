// fsck: checks an unmounted pdm file system — its metadata against itself
// and against the object files on the volumes — and reports what it finds.
// It never repairs anything: the report says what a repair would have to do.
//
// It holds the mount lease for the whole check (a mounted file system is a
// moving target and its metadata store is open, without LMDB locks, in the
// mounting job), then opens the metadata store directly and checks
//   - the volume headers (check_volumes); if they do not match the config,
//     nothing else is checked, as the volumes may belong to another file system;
//   - the root inode exists and is a directory;
//   - every dentry names an existing parent directory and an existing child;
//   - every linked inode is reachable from the root, and no directory has
//     two names;
//   - a file's nlink equals its number of names, a directory's nlink is
//     2 + its number of subdirectories;
//   - an inode with nlink 0 is an orphan (its objects are destroyed at the
//     next mount: a note), and every orphan has nlink 0;
//   - every object file belongs to an existing file inode and is no longer
//     than the layout gives that volume for the file's size.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "pfs/config/fs_config.h"
#include "runtime/base/result.h"

namespace pdm::pfs {

enum class Severity {
  error,    // the file system is inconsistent: data or names can be lost
  warning,  // space is wasted or stale bytes linger, but nothing is wrong for readers
  note,     // expected intermediate states, such as unlinked files awaiting destruction
};

std::string_view to_string(Severity severity);

struct Finding {
  Severity severity = Severity::error;
  std::string message;
  bool operator==(const Finding &) const = default;
};

struct FsckReport {
  std::vector<Finding> findings;  // in the order found
  std::uint64_t inodes = 0;       // inode records, orphans included
  std::uint64_t directories = 0;
  std::uint64_t files = 0;
  std::uint64_t objects = 0;       // object files on all volumes
  std::uint64_t bytes = 0;         // the sizes of all files, added up
  std::uint64_t object_bytes = 0;  // the lengths of all object files, added up

  // No errors (warnings and notes allowed).
  bool clean() const { return count(Severity::error) == 0; }
  std::size_t count(Severity severity) const;
};

struct FsckOptions {
  std::size_t meta_map_size = std::size_t{1} << 30;  // the meta.map_size setting
};

// Checks the file system of `config` (see the top of this file). Errors only
// for what stops the check itself: EBUSY while a job has it mounted (the
// message names the holder), or an unreadable metadata store or volume.
Result<FsckReport> fsck(const FsConfig &config, const FsckOptions &options = {});

}  // namespace pdm::pfs

// Paths inside a pdm file system. They are absolute within the file system
// ("/a/b" is the file b in the directory a under the root); the MPI-IO shim
// strips the mount prefix before they reach pdm. pdm resolves no "." or ".."
// and follows no symbolic links: a path is just the list of names from the
// root, which is what the metadata store looks up.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/base/result.h"

namespace pdm::pfs {

// The names of a path from the root: "/a//b/" -> {"a", "b"}, "/" -> {}.
// Repeated and trailing slashes collapse. Errors (POSIX errno values):
//   ""                                   ENOENT
//   relative ("a/b")                     EINVAL
//   a NUL byte inside                    EINVAL
//   a component "." or ".."              EINVAL (pdm does not resolve them)
//   a component longer than kMaxNameLength      ENAMETOOLONG
//   kMaxPathLength bytes or more in all  ENAMETOOLONG
Result<std::vector<std::string>> split_path(std::string_view path);

// The inverse of split_path: {"a", "b"} -> "/a/b", {} -> "/".
std::string join_path(std::span<const std::string> components);

struct ParentAndName {
  std::vector<std::string> parent;  // components of the parent directory
  std::string name;                 // the last component
};

// Splits a path naming an entry to create, remove or rename: split_path's
// errors, and EBUSY for "/" (the root directory has no parent or name; POSIX
// rmdir("/") and rename of "/" fail with EBUSY as well).
Result<ParentAndName> parent_and_name(std::string_view path);

}  // namespace pdm::pfs

// The policy scan of `pdm-hsm migrate` as a library function, so that the
// migration job and `pdm-bench hsm` (which measures its rate) run the same
// code: rank 0 walks the namespace, every rank gets the list and takes every
// size-th file (round robin: big directories spread over the ranks), reads
// its record and applies the policy to its FileFacts.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "apps/hsm/file_state.h"
#include "apps/hsm/hsm_record.h"
#include "apps/hsm/policy/policy.h"
#include "pfs/client/file_system.h"
#include "pfs/meta/inode.h"
#include "runtime/base/result.h"
#include "runtime/dm/api/session.h"
#include "runtime/mpi/comm.h"

namespace pdm::hsm {

namespace api = pdm::dm::api;

// A regular file found by a walk, with its inode.
struct FoundFile {
  std::string path;
  pfs::Inode inode;
};

// The regular files at `path`: itself if it is one, every file below it if
// it is a directory (depth first, names in order). Files removed during the
// walk are left out.
Result<std::vector<FoundFile>> find_files(pfs::FileSystem &fs, const std::string &path);

// The handle of a found file in the mounted file system.
Result<api::Handle> handle_for(const FoundFile &file);
// The records of `files`, in order, in a metadata request per batch
// (hsm::read_records: no access right taken; check again under a right
// before acting on one).
Result<std::vector<Result<std::optional<HsmRecord>>>> records_of(const api::Session &session,
                                                                 std::span<const FoundFile> files);

struct Selected {
  FoundFile file;
  FileState state = FileState::kResident;  // as `status` shows it (effective_state)
};

// A file the scan could not look at (the caller prints and counts it).
struct FileError {
  std::string path;
  Error error;
};

struct ScanResult {
  std::vector<Selected> selected;  // this rank's share that the policy selects
  std::vector<FileError> errors;   // this rank's failures (the walk's: rank 0)
  std::uint64_t scanned = 0;       // regular files over all ranks
};

// Collective: rank 0 expands `paths` (a file; a directory: every file below
// it), every rank gets the list and keeps every size-th file, with the inode
// the walk found (broadcast with the paths: no second stat per file, which
// would be a metadata round trip for most files on most ranks).
struct FileShare {
  std::vector<FoundFile> mine;
  std::vector<FileError> errors;  // paths that could not be expanded (rank 0)
  std::uint64_t total = 0;        // files over all ranks
};
Result<FileShare> share_files(const mpi::Comm &world, pfs::FileSystem &fs,
                              const std::vector<std::string> &paths);

// Collective: the scan of the files below `root` (see above); every rank
// gets its own share. Per-file failures are error lines, not errors.
Result<ScanResult> policy_scan(const mpi::Comm &world, pfs::FileSystem &fs,
                               const api::Session &session, const Policy &policy,
                               const std::string &root = "/");

}  // namespace pdm::hsm

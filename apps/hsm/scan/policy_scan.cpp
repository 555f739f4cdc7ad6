#include "apps/hsm/scan/policy_scan.h"

#include <sys/stat.h>

#include <fmt/format.h>

#include "apps/hsm/agent/hsm_file.h"
#include "runtime/dm/api/handles.h"
#include "runtime/mpi/codec.h"
#include "runtime/mpi/comm.h"

namespace pdm::hsm {
namespace {

// The longest path the walk hands on (PATH_MAX is 4096; pdm's own limit is
// below the wire's string limit).
constexpr std::size_t kMaxPath = 64 * 1024;

std::string child_path(const std::string &dir, const std::string &name) {
  return dir.ends_with('/') ? dir + name : dir + "/" + name;
}

// One directory's entries, in name order, read in batches.
Result<std::vector<pfs::DirEntry>> entries_of(pfs::FileSystem &fs, const std::string &dir) {
  constexpr std::size_t kBatch = 1024;
  std::vector<pfs::DirEntry> all;
  for (std::string after;;) {
    PDM_ASSIGN_OR_RETURN(auto batch, fs.readdir(dir, after, kBatch));
    const bool last = batch.size() < kBatch;
    if (!batch.empty()) after = batch.back().name;
    for (auto &entry : batch) all.push_back(std::move(entry));
    if (last) return all;
  }
}

// Rank 0's bytes on every rank (in pieces: an MPI count is an int).
Result<mpi::Bytes> broadcast_from_root(const mpi::Comm &world, mpi::Bytes bytes) {
  std::uint64_t length = bytes.size();
  PDM_TRY(mpi::check(MPI_Bcast(&length, 1, MPI_UINT64_T, 0, world.get()), "MPI_Bcast"));
  bytes.resize(length);
  constexpr std::uint64_t kPiece = 1 << 30;
  for (std::uint64_t at = 0; at < length; at += kPiece) {
    const int count = static_cast<int>(std::min(kPiece, length - at));
    PDM_TRY(mpi::check(MPI_Bcast(bytes.data() + at, count, MPI_BYTE, 0, world.get()), "MPI_Bcast"));
  }
  return bytes;
}

}  // namespace

Result<std::vector<FoundFile>> find_files(pfs::FileSystem &fs, const std::string &path) {
  std::vector<FoundFile> found;
  PDM_ASSIGN_OR_RETURN(const pfs::Inode top, fs.stat(path));
  if (!top.is_dir()) {
    if (top.is_file()) found.push_back({path, top});
    return found;
  }
  std::vector<std::string> directories{path};
  while (!directories.empty()) {
    const std::string dir = std::move(directories.back());
    directories.pop_back();
    PDM_ASSIGN_OR_RETURN(auto entries, entries_of(fs, dir));
    std::vector<std::string> below;
    for (const pfs::DirEntry &entry : entries) {
      const std::string child = child_path(dir, entry.name);
      if (S_ISDIR(entry.mode)) {
        below.push_back(child);
      } else if (S_ISREG(entry.mode)) {
        auto inode = fs.stat(child);
        if (!inode.ok()) {
          if (inode.error().code == ENOENT) continue;  // removed meanwhile
          return inode.error();
        }
        found.push_back({child, *inode});
      }
    }
    // Depth first, in name order: push the subdirectories reversed.
    directories.insert(directories.end(), below.rbegin(), below.rend());
  }
  return found;
}

Result<api::Handle> handle_for(const FoundFile &file) {
  PDM_ASSIGN_OR_RETURN(const api::Handle fs, api::mounted_fs_handle());
  return api::Handle::object(fs.fsid, file.inode.ino, file.inode.generation);
}

Result<std::vector<Result<std::optional<HsmRecord>>>> records_of(const api::Session &session,
                                                                 std::span<const FoundFile> files) {
  PDM_ASSIGN_OR_RETURN(const api::Handle fs, api::mounted_fs_handle());
  std::vector<api::Handle> handles;
  handles.reserve(files.size());
  for (const FoundFile &file : files) {
    handles.push_back(api::Handle::object(fs.fsid, file.inode.ino, file.inode.generation));
  }
  return read_records(session, handles);
}

Result<FileShare> share_files(const mpi::Comm &world, pfs::FileSystem &fs,
                              const std::vector<std::string> &paths) {
  FileShare share;
  mpi::Encoder out;
  if (world.rank() == 0) {
    std::vector<FoundFile> all;
    for (const std::string &path : paths) {
      auto found = find_files(fs, path);
      if (!found.ok()) {
        share.errors.push_back({path, found.error()});
        continue;
      }
      all.insert(all.end(), std::make_move_iterator(found->begin()),
                 std::make_move_iterator(found->end()));
    }
    out.put<std::uint64_t>(all.size());
    for (const FoundFile &file : all) {
      out.put_string(file.path);
      file.inode.encode(out);
    }
  }
  PDM_ASSIGN_OR_RETURN(const mpi::Bytes bytes, broadcast_from_root(world, std::move(out).take()));
  mpi::Decoder in(bytes);
  PDM_ASSIGN_OR_RETURN(share.total, in.get<std::uint64_t>());
  const auto ranks = static_cast<std::uint64_t>(world.size());
  for (std::uint64_t i = 0; i < share.total; ++i) {
    FoundFile file;
    PDM_ASSIGN_OR_RETURN(file.path, in.get_string(kMaxPath));
    PDM_ASSIGN_OR_RETURN(file.inode, pfs::Inode::decode(in));
    if (i % ranks == static_cast<std::uint64_t>(world.rank()))
      share.mine.push_back(std::move(file));
  }
  return share;
}

Result<ScanResult> policy_scan(const mpi::Comm &world, pfs::FileSystem &fs,
                               const api::Session &session, const Policy &policy,
                               const std::string &root) {
  PDM_ASSIGN_OR_RETURN(FileShare share, share_files(world, fs, {root}));
  ScanResult result;
  result.errors = std::move(share.errors);
  result.scanned = share.total;
  PDM_ASSIGN_OR_RETURN(auto records, records_of(session, share.mine));
  for (std::size_t i = 0; i < share.mine.size(); ++i) {
    FoundFile &file = share.mine[i];
    auto &record = records[i];
    if (!record.ok()) {
      result.errors.push_back({file.path, record.error()});
      continue;
    }
    FileFacts facts;
    facts.path = file.path;
    facts.size = file.inode.size;
    facts.atime_ns = file.inode.atime;
    facts.mtime_ns = file.inode.mtime;
    facts.uid = file.inode.uid;
    facts.state = effective_state(*record, file.inode);
    if (policy.matches(facts)) result.selected.push_back({std::move(file), facts.state});
  }
  return result;
}

}  // namespace pdm::hsm

#include "apps/hsm/scan/policy_scan.h"

#include <sys/stat.h>

#include <fmt/format.h>

#include "apps/hsm/agent/hsm_file.h"
#include "runtime/dm/api/handles.h"
#include "runtime/mpi/comm.h"

namespace pdm::hsm {
namespace {

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

Result<std::vector<std::string>> share_lines(const mpi::Comm &world,
                                             std::vector<std::string> lines) {
  std::string joined;
  if (world.rank() == 0) {
    for (const auto &line : lines) joined += line + '\0';  // paths may hold '\n', never '\0'
  }
  std::uint64_t length = joined.size();
  PDM_TRY(mpi::check(MPI_Bcast(&length, 1, MPI_UINT64_T, 0, world.get()), "MPI_Bcast"));
  joined.resize(length);
  // In pieces: an MPI count is an int.
  constexpr std::uint64_t kPiece = 1 << 30;
  for (std::uint64_t at = 0; at < length; at += kPiece) {
    const int count = static_cast<int>(std::min(kPiece, length - at));
    PDM_TRY(
        mpi::check(MPI_Bcast(joined.data() + at, count, MPI_CHAR, 0, world.get()), "MPI_Bcast"));
  }
  std::vector<std::string> out;
  for (std::size_t start = 0, end; (end = joined.find('\0', start)) != std::string::npos;
       start = end + 1) {
    out.push_back(joined.substr(start, end - start));
  }
  return out;
}

Result<api::Handle> handle_for(const FoundFile &file) {
  PDM_ASSIGN_OR_RETURN(const api::Handle fs, api::mounted_fs_handle());
  return api::Handle::object(fs.fsid, file.inode.ino, file.inode.generation);
}

Result<FileShare> share_files(const mpi::Comm &world, pfs::FileSystem &fs,
                              const std::vector<std::string> &paths) {
  FileShare share;
  std::vector<std::string> all;
  if (world.rank() == 0) {
    for (const std::string &path : paths) {
      auto found = find_files(fs, path);
      if (!found.ok()) {
        share.errors.push_back({path, found.error()});
        continue;
      }
      for (auto &file : *found) all.push_back(std::move(file.path));
    }
  }
  PDM_ASSIGN_OR_RETURN(all, share_lines(world, std::move(all)));
  share.total = all.size();
  for (std::size_t i = static_cast<std::size_t>(world.rank()); i < all.size();
       i += static_cast<std::size_t>(world.size())) {
    auto inode = fs.stat(all[i]);
    if (!inode.ok()) {
      share.errors.push_back({all[i], inode.error()});
      continue;
    }
    share.mine.push_back({all[i], *inode});
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
  for (FoundFile &file : share.mine) {
    auto record = [&]() -> Result<std::optional<HsmRecord>> {
      PDM_ASSIGN_OR_RETURN(const api::Handle h, handle_for(file));
      return read_record(session, h);
    }();
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

// The C API of <pdm/pdm.h>, over the C boundary helpers (c_boundary.h).
#include <pdm/pdm.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <vector>

#include "pfs/volume_map.h"
#include "runtime/node/c_boundary.h"
#include "runtime/node/finalize_guard.h"
#include "runtime/node/process_node.h"

using pdm::Error;

using pdm::cboundary::fail;
using pdm::cboundary::guarded;
using pdm::cboundary::to_int;

namespace {

pdm::Result<pdm::pfs::FileSystem *> mounted() {
  auto *node = pdm::node::process_node();
  if (node == nullptr) return Error{ENXIO, "pdm is not started: call pdm_start first"};
  return &node->fs();
}

}  // namespace

struct pdm_dir {
  std::string path;
  std::vector<pdm::pfs::DirEntry> batch;
  std::size_t next = 0;
  bool exhausted = false;
  struct dirent entry {};
};

extern "C" {

int pdm_start(MPI_Comm comm, const char *fs_config) {
  return guarded(
      [&] {
        if (fs_config == nullptr) return fail(Error{EINVAL, "pdm_start: no file system config"});
        return to_int(pdm::node::start_process_node(comm, fs_config));
      },
      -1);
}

int pdm_stop(void) {
  return guarded([&] { return to_int(pdm::node::stop_process_node()); }, -1);
}

int pdm_get_view(struct pdm_view_info *info, int *members, int max_members) {
  return guarded(
      [&] {
        auto *node = pdm::node::process_node();
        if (node == nullptr) return fail(Error{ENXIO, "pdm is not started: call pdm_start first"});
        if (info == nullptr) return fail(Error{EFAULT, "pdm_get_view: null info"});
        const auto view = node->membership().current();
        const auto &live = view->members();
        info->epoch = view->epoch();
        info->ranks = node->size();
        info->members = static_cast<int>(live.size());
        info->manager = view->manager();
        info->metadata_server = pdm::pfs::metadata_owner(*view);
        info->view_changes = node->detector().view_changes();
        if (max_members < 0 || (members == nullptr && max_members > 0)) {
          return fail(Error{EINVAL, "pdm_get_view: bad member buffer"});
        }
        if (static_cast<std::size_t>(max_members) < live.size()) {
          return fail(pdm::make_error(E2BIG, "pdm_get_view: room for {} members, {} live",
                                      max_members, live.size()));
        }
        std::copy(live.begin(), live.end(), members);
        return 0;
      },
      -1);
}

int pdm_finalize(int exit_status) {
  return guarded([&] { return pdm::node::finalize_mpi(exit_status); }, -1);
}

const char *pdm_last_error(void) {
  return pdm::cboundary::last_error();
}

int pdm_open(const char *path, int flags, mode_t mode) {
  return guarded(
      [&] {
        auto fs = mounted();
        if (!fs.ok()) return fail(fs.error());
        if (path == nullptr) return fail(Error{EFAULT, "pdm_open: null path"});
        auto fd = (*fs)->open(path, flags, mode);
        return fd.ok() ? *fd : fail(fd.error());
      },
      -1);
}

int pdm_set_lazy_size(int fd, int lazy) {
  return guarded(
      [&] {
        auto fs = mounted();
        return fs.ok() ? to_int((*fs)->set_lazy_size(fd, lazy != 0)) : fail(fs.error());
      },
      -1);
}

int pdm_close(int fd) {
  return guarded(
      [&] {
        auto fs = mounted();
        return fs.ok() ? to_int((*fs)->close(fd)) : fail(fs.error());
      },
      -1);
}

ssize_t pdm_pread(int fd, void *buf, size_t count, off_t offset) {
  return guarded(
      [&]() -> ssize_t {
        auto fs = mounted();
        if (!fs.ok()) return fail(fs.error());
        if (buf == nullptr && count > 0) return fail(Error{EFAULT, "pdm_pread: null buffer"});
        auto n = (*fs)->pread(fd, {static_cast<std::byte *>(buf), count}, offset);
        return n.ok() ? static_cast<ssize_t>(*n) : fail(n.error());
      },
      -1);
}

ssize_t pdm_pwrite(int fd, const void *buf, size_t count, off_t offset) {
  return guarded(
      [&]() -> ssize_t {
        auto fs = mounted();
        if (!fs.ok()) return fail(fs.error());
        if (buf == nullptr && count > 0) return fail(Error{EFAULT, "pdm_pwrite: null buffer"});
        auto n = (*fs)->pwrite(fd, {static_cast<const std::byte *>(buf), count}, offset);
        return n.ok() ? static_cast<ssize_t>(*n) : fail(n.error());
      },
      -1);
}

int pdm_ftruncate(int fd, off_t length) {
  return guarded(
      [&] {
        auto fs = mounted();
        return fs.ok() ? to_int((*fs)->ftruncate(fd, length)) : fail(fs.error());
      },
      -1);
}

int pdm_fsync(int fd) {
  return guarded(
      [&] {
        auto fs = mounted();
        return fs.ok() ? to_int((*fs)->fsync(fd)) : fail(fs.error());
      },
      -1);
}

int pdm_stat(const char *path, struct stat *st) {
  return guarded(
      [&] {
        auto fs = mounted();
        if (!fs.ok()) return fail(fs.error());
        if (path == nullptr || st == nullptr) return fail(Error{EFAULT, "pdm_stat: null argument"});
        auto inode = (*fs)->stat(path);
        if (!inode.ok()) return fail(inode.error());
        *st = (*fs)->to_stat(*inode);
        return 0;
      },
      -1);
}

int pdm_fstat(int fd, struct stat *st) {
  return guarded(
      [&] {
        auto fs = mounted();
        if (!fs.ok()) return fail(fs.error());
        if (st == nullptr) return fail(Error{EFAULT, "pdm_fstat: null argument"});
        auto inode = (*fs)->fstat(fd);
        if (!inode.ok()) return fail(inode.error());
        *st = (*fs)->to_stat(*inode);
        return 0;
      },
      -1);
}

#define PDM_PATH_CALL_(call)                   \
  guarded(                                     \
      [&] {                                    \
        auto fs = mounted();                   \
        if (!fs.ok()) return fail(fs.error()); \
        return to_int(call);                   \
      },                                       \
      -1)

int pdm_unlink(const char *path) {
  if (path == nullptr) return fail(Error{EFAULT, "pdm_unlink: null path"});
  return PDM_PATH_CALL_((*fs)->unlink(path));
}

int pdm_rename(const char *oldpath, const char *newpath) {
  if (oldpath == nullptr || newpath == nullptr) return fail(Error{EFAULT, "pdm_rename: null path"});
  return PDM_PATH_CALL_((*fs)->rename(oldpath, newpath));
}

int pdm_mkdir(const char *path, mode_t mode) {
  if (path == nullptr) return fail(Error{EFAULT, "pdm_mkdir: null path"});
  return PDM_PATH_CALL_((*fs)->mkdir(path, mode));
}

int pdm_rmdir(const char *path) {
  if (path == nullptr) return fail(Error{EFAULT, "pdm_rmdir: null path"});
  return PDM_PATH_CALL_((*fs)->rmdir(path));
}

PDM_DIR *pdm_opendir(const char *path) {
  return guarded(
      [&]() -> PDM_DIR * {
        auto fs = mounted();
        if (!fs.ok()) return fail(fs.error()), nullptr;
        if (path == nullptr) return fail(Error{EFAULT, "pdm_opendir: null path"}), nullptr;
        auto inode = (*fs)->stat(path);
        if (!inode.ok()) return fail(inode.error()), nullptr;
        if (!inode->is_dir())
          return fail(Error{ENOTDIR, std::string(path) + ": not a directory"}), nullptr;
        auto dir = std::make_unique<pdm_dir>();
        dir->path = path;
        return dir.release();
      },
      nullptr);
}

struct dirent *pdm_readdir(PDM_DIR *dir) {
  return guarded(
      [&]() -> struct dirent * {
        if (dir == nullptr) return fail(Error{EBADF, "pdm_readdir: null stream"}), nullptr;
        if (dir->next == dir->batch.size()) {
          if (dir->exhausted) return nullptr;
          auto fs = mounted();
          if (!fs.ok()) return fail(fs.error()), nullptr;
          const std::string after = dir->batch.empty() ? std::string() : dir->batch.back().name;
          constexpr std::size_t kBatch = 1024;
          auto batch = (*fs)->readdir(dir->path, after, kBatch);
          if (!batch.ok()) return fail(batch.error()), nullptr;
          dir->batch = std::move(batch).value();
          dir->next = 0;
          dir->exhausted = dir->batch.size() < kBatch;
          if (dir->batch.empty()) return nullptr;
        }
        const auto &e = dir->batch[dir->next++];
        dir->entry = {};
        dir->entry.d_ino = static_cast<ino_t>(e.ino);
        dir->entry.d_off = static_cast<off_t>(dir->next);
        dir->entry.d_reclen = sizeof(struct dirent);
        dir->entry.d_type = S_ISDIR(e.mode) ? DT_DIR : DT_REG;
        std::strncpy(dir->entry.d_name, e.name.c_str(), sizeof(dir->entry.d_name) - 1);
        return &dir->entry;
      },
      nullptr);
}

int pdm_closedir(PDM_DIR *dir) {
  if (dir == nullptr) return fail(Error{EBADF, "pdm_closedir: null stream"});
  delete dir;
  return 0;
}

}  // extern "C"

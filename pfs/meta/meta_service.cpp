#include "pfs/meta/meta_service.h"

#include "runtime/base/failpoint.h"

#include <fcntl.h>

#include "pfs/config/path.h"

namespace pdm::pfs {

MetaService::MetaService(std::unique_ptr<MetaStore> store) : store_(std::move(store)) {}

Result<Inode> MetaService::resolve(std::string_view path) {
  PDM_ASSIGN_OR_RETURN(auto components, split_path(path));
  return store_->resolve(components);
}

Result<Inode> MetaService::getattr(InodeNumber ino) {
  return store_->get(ino);
}

Result<std::pair<Inode, std::string>> MetaService::parent_of(std::string_view path) {
  PDM_ASSIGN_OR_RETURN(auto components, split_path(path));
  if (components.empty()) return make_error(EBUSY, "{}: the root directory", path);
  std::string name = std::move(components.back());
  components.pop_back();
  PDM_ASSIGN_OR_RETURN(auto parent, store_->resolve(components));
  if (!parent.is_dir()) return make_error(ENOTDIR, "{}: a parent is not a directory", path);
  return std::pair{std::move(parent), std::move(name)};
}

Result<Created> MetaService::open(const OpenRequest &request, int holder) {
  return open(request, std::span<const int>(&holder, 1));
}

Result<Created> MetaService::open(const OpenRequest &request, std::span<const int> holders) {
  Created out;
  if (request.flags & O_CREAT) {
    auto parent = parent_of(request.path);
    if (!parent.ok()) {
      // open("/", O_CREAT) is EISDIR in POSIX, not EBUSY.
      if (parent.error().code == EBUSY)
        return make_error(EISDIR, "{}: is a directory", request.path);
      return std::move(parent).error();
    }
    PDM_ASSIGN_OR_RETURN(
        out, store_->create(parent->first.ino, parent->second, request.mode & 07777, request.uid,
                            request.gid, (request.flags & O_EXCL) != 0));
  } else {
    PDM_ASSIGN_OR_RETURN(out.inode, resolve(request.path));
  }
  const int access = request.flags & O_ACCMODE;
  if (out.inode.is_dir() && access != O_RDONLY) {
    return make_error(EISDIR, "{}: is a directory", request.path);
  }
  if (!out.inode.is_dir() && (request.flags & O_DIRECTORY)) {
    return make_error(ENOTDIR, "{}: not a directory", request.path);
  }
  PDM_TRY(store_->add_opens(out.inode.ino, holders));
  return out;
}

Result<Unlinked> MetaService::close(InodeNumber ino, bool was_read, int holder) {
  return close(ino, was_read, std::span<const int>(&holder, 1));
}

Result<Unlinked> MetaService::close(InodeNumber ino, bool was_read, std::span<const int> holders) {
  PDM_TRY(store_->drop_opens(ino, holders));
  Unlinked out;
  PDM_ASSIGN_OR_RETURN(out.inode, store_->get(ino));
  if (was_read && out.inode.nlink > 0) {
    AttrChange change;
    change.atime = now_ns();
    PDM_ASSIGN_OR_RETURN(out.inode, store_->set_attr(ino, change));
  }
  PDM_ASSIGN_OR_RETURN(const bool open, is_open(ino));
  out.destroy = out.inode.nlink == 0 && !open;
  return out;
}

Result<Inode> MetaService::mkdir(std::string_view path, std::uint32_t mode, std::uint32_t uid,
                                 std::uint32_t gid) {
  auto parent = parent_of(path);
  if (!parent.ok()) {
    if (parent.error().code == EBUSY) return make_error(EEXIST, "{}: exists", path);
    return std::move(parent).error();
  }
  return store_->mkdir(parent->first.ino, parent->second, mode & 07777, uid, gid);
}

Result<Unlinked> MetaService::unlink(std::string_view path) {
  auto parent = parent_of(path);
  if (!parent.ok() && parent.error().code == EBUSY) {
    return make_error(EISDIR, "{}: is a directory", path);  // unlink("/") as Linux answers
  }
  PDM_TRY(parent);
  Unlinked out;
  PDM_ASSIGN_OR_RETURN(out.inode, store_->unlink(parent->first.ino, parent->second));
  PDM_ASSIGN_OR_RETURN(const bool open, is_open(out.inode.ino));
  out.destroy = out.inode.nlink == 0 && !open;
  return out;
}

Status MetaService::rmdir(std::string_view path) {
  PDM_ASSIGN_OR_RETURN(auto parent, parent_of(path));
  return store_->rmdir(parent.first.ino, parent.second);
}

Result<Renamed> MetaService::rename(std::string_view from, std::string_view to) {
  PDM_ASSIGN_OR_RETURN(auto src, parent_of(from));
  PDM_ASSIGN_OR_RETURN(auto dst, parent_of(to));
  PDM_ASSIGN_OR_RETURN(auto outcome,
                       store_->rename(src.first.ino, src.second, dst.first.ino, dst.second));
  Renamed out{outcome.moved, std::nullopt};
  if (outcome.replaced) {
    const Inode &gone = *outcome.replaced;
    PDM_ASSIGN_OR_RETURN(const bool open, is_open(gone.ino));
    out.replaced = Unlinked{gone, gone.nlink == 0 && !gone.is_dir() && !open};
  }
  return out;
}

Result<std::vector<DirEntry>> MetaService::readdir(std::string_view path, std::string_view after,
                                                   std::size_t max_entries) {
  PDM_ASSIGN_OR_RETURN(auto dir, resolve(path));
  if (!dir.is_dir()) return make_error(ENOTDIR, "{}: not a directory", path);
  return store_->readdir(dir.ino, after, max_entries);
}

Result<Inode> MetaService::set_attr(InodeNumber ino, const AttrChange &change) {
  return store_->set_attr(ino, change);
}

Result<Inode> MetaService::extend(InodeNumber ino, std::uint64_t end) {
  failpoint::hit("meta_service.extend");               // a test holds the server here
  if (failpoint::hit("meta_service.refuse_extend")) {  // or makes the update fail
    return make_error(EIO, "the size update of inode {} was refused (failpoint)", ino);
  }
  return store_->extend(ino, end, now_ns());
}

Result<std::vector<Inode>> MetaService::unopened_orphans() {
  PDM_ASSIGN_OR_RETURN(auto inos, store_->orphans());
  std::vector<Inode> out;
  for (auto ino : inos) {
    PDM_ASSIGN_OR_RETURN(const bool open, is_open(ino));
    if (open) continue;
    PDM_ASSIGN_OR_RETURN(auto inode, store_->get(ino));
    out.push_back(std::move(inode));
  }
  return out;
}

Status MetaService::forget(InodeNumber ino) {
  PDM_ASSIGN_OR_RETURN(const bool open, is_open(ino));
  if (open) return make_error(EBUSY, "inode {} is still open", ino);
  return store_->forget(ino);
}

}  // namespace pdm::pfs

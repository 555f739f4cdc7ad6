#include "pfs/client/file_system.h"

#include <fcntl.h>
#include <unistd.h>

#include <climits>
#include <functional>

#include "pfs/config/path.h"
#include "pfs/data/data_handlers.h"
#include "pfs/meta/meta_handlers.h"
#include "pfs/meta/meta_protocol.h"
#include "pfs/volume_map.h"
#include "runtime/mpi/typed_rpc.h"

namespace pdm::pfs {

FileSystem::FileSystem(const FsConfig &config, mpi::RpcEngine &engine,
                       const FileSystemOptions &options)
    : config_(config),
      engine_(engine),
      options_(options),
      objects_(config.volumes),
      data_(engine, objects_, options.max_request) {}

FileSystem::~FileSystem() = default;

Result<std::unique_ptr<FileSystem>> FileSystem::create(const FsConfig &config,
                                                       mpi::RpcEngine &engine,
                                                       const FileSystemOptions &options) {
  std::unique_ptr<FileSystem> fs(new FileSystem(config, engine, options));
  auto view = engine.membership().current();
  if (metadata_owner(*view) == view->self()) {
    MetaStoreOptions store;
    store.dir = config.metadata_dir();
    store.map_size = options.meta_map_size;
    store.default_stripe_size = config.stripe_size;
    store.volume_count = static_cast<std::uint32_t>(config.volumes.size());
    PDM_ASSIGN_OR_RETURN(auto opened, MetaStore::open(store));
    fs->meta_ = std::make_unique<MetaService>(std::move(opened));
  }
  register_data_handlers(engine, fs->objects_);
  register_meta_handlers(engine, [raw = fs.get()] { return raw->meta_.get(); });
  return fs;
}

int FileSystem::owner_of_volume(std::uint32_t volume) const {
  return owner_of(volume, *engine_.membership().current());
}

int FileSystem::metadata_rank() const { return metadata_owner(*engine_.membership().current()); }

template <typename Resp, typename Req>
Result<Resp> FileSystem::meta_call(std::uint16_t type, const Req &request) {
  return mpi::call_typed<Resp>(engine_, metadata_rank(), type, request);
}

template <typename Req>
Status FileSystem::meta_status(std::uint16_t type, const Req &request) {
  return mpi::call_status(engine_, metadata_rank(), type, request);
}

Layout FileSystem::layout_of(const Inode &inode) const {
  return Layout(inode.stripe_size, static_cast<std::uint32_t>(config_.volumes.size()),
                inode.first_volume);
}

struct stat FileSystem::to_stat(const Inode &inode) const {
  struct stat st {};
  st.st_dev = static_cast<dev_t>(std::hash<std::string>{}(config_.fs_id));
  st.st_ino = static_cast<ino_t>(inode.ino);
  st.st_mode = static_cast<mode_t>(inode.mode);
  st.st_nlink = static_cast<nlink_t>(inode.nlink);
  st.st_uid = static_cast<uid_t>(inode.uid);
  st.st_gid = static_cast<gid_t>(inode.gid);
  st.st_size = static_cast<off_t>(inode.size);
  st.st_blksize = static_cast<blksize_t>(inode.stripe_size == 0 ? 4096 : inode.stripe_size);
  st.st_blocks = static_cast<blkcnt_t>((inode.size + 511) / 512);
  auto to_ts = [](TimeNs ns) {
    return timespec{static_cast<time_t>(ns / 1'000'000'000), static_cast<long>(ns % 1'000'000'000)};
  };
  st.st_atim = to_ts(inode.atime);
  st.st_mtim = to_ts(inode.mtime);
  st.st_ctim = to_ts(inode.ctime);
  return st;
}

Result<std::shared_ptr<FileSystem::OpenFile>> FileSystem::file(int fd) {
  std::lock_guard lock(files_mutex_);
  auto it = files_.find(fd);
  if (it == files_.end()) return make_error(EBADF, "file descriptor {} is not open", fd);
  return it->second;
}

Result<int> FileSystem::open(std::string_view path, int flags, mode_t mode) {
  PDM_TRY(split_path(path));
  const int access = flags & O_ACCMODE;
  if (access != O_RDONLY && access != O_WRONLY && access != O_RDWR) {
    return make_error(EINVAL, "{}: invalid access mode in flags {:#o}", path, flags);
  }
  OpenRequest request{std::string(path), flags, mode, ::getuid(), ::getgid()};
  PDM_ASSIGN_OR_RETURN(auto opened, (meta_call<Created>(meta_msg::kOpen, request)));
  auto open_file = std::make_shared<OpenFile>();
  open_file->inode = opened.inode;
  open_file->flags = flags;
  if ((flags & O_TRUNC) && access != O_RDONLY && opened.inode.is_file() && opened.inode.size > 0) {
    if (auto truncated = truncate_inode(opened.inode, 0); !truncated.ok()) {
      (void)meta_call<Unlinked>(meta_msg::kClose, CloseRequest{opened.inode.ino, false});
      return std::move(truncated).error();
    }
  }
  std::lock_guard lock(files_mutex_);
  const int fd = next_fd_++;
  if (next_fd_ == INT_MAX) next_fd_ = 3;
  files_.emplace(fd, std::move(open_file));
  return fd;
}

Status FileSystem::close(int fd) {
  std::shared_ptr<OpenFile> open_file;
  {
    std::lock_guard lock(files_mutex_);
    auto it = files_.find(fd);
    if (it == files_.end()) return make_error(EBADF, "file descriptor {} is not open", fd);
    open_file = std::move(it->second);
    files_.erase(it);
  }
  PDM_ASSIGN_OR_RETURN(auto closed,
                       (meta_call<Unlinked>(meta_msg::kClose,
                                            CloseRequest{open_file->inode.ino,
                                                         open_file->was_read.load()})));
  if (closed.destroy) return destroy(closed);
  return {};
}

Status FileSystem::destroy(const Unlinked &gone) {
  PDM_TRY(data_.remove(gone.inode.ino));
  return meta_status(meta_msg::kForget, InodeRequest{gone.inode.ino});
}

Result<std::size_t> FileSystem::pread(int fd, std::span<std::byte> buffer, std::int64_t offset) {
  PDM_ASSIGN_OR_RETURN(auto f, file(fd));
  if ((f->flags & O_ACCMODE) == O_WRONLY) {
    return make_error(EBADF, "file descriptor {} is not open for reading", fd);
  }
  if (offset < 0) return make_error(EINVAL, "negative offset {}", offset);
  if (buffer.size() > SSIZE_MAX) return make_error(EINVAL, "read of {} bytes", buffer.size());
  if (f->inode.is_dir()) return make_error(EISDIR, "file descriptor {} is a directory", fd);
  if (buffer.empty()) return std::size_t{0};
  PDM_ASSIGN_OR_RETURN(auto inode, (meta_call<Inode>(meta_msg::kGetattr,
                                                     InodeRequest{f->inode.ino})));
  const auto start = static_cast<std::uint64_t>(offset);
  if (start >= inode.size) return std::size_t{0};
  const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(buffer.size(),
                                                                          inode.size - start));
  PDM_TRY(data_.read(layout_of(inode), inode.ino, start, buffer.first(n)));
  f->was_read = true;
  return n;
}

Result<std::size_t> FileSystem::pwrite(int fd, std::span<const std::byte> data,
                                       std::int64_t offset) {
  PDM_ASSIGN_OR_RETURN(auto f, file(fd));
  if ((f->flags & O_ACCMODE) == O_RDONLY) {
    return make_error(EBADF, "file descriptor {} is not open for writing", fd);
  }
  if (offset < 0) return make_error(EINVAL, "negative offset {}", offset);
  if (data.size() > SSIZE_MAX) return make_error(EINVAL, "write of {} bytes", data.size());
  if (data.empty()) return std::size_t{0};
  const auto start = static_cast<std::uint64_t>(offset);
  if (start + data.size() < start || start + data.size() > static_cast<std::uint64_t>(LLONG_MAX)) {
    return make_error(EFBIG, "write past the largest file offset");
  }
  PDM_ASSIGN_OR_RETURN(auto inode, (meta_call<Inode>(meta_msg::kExtend,
                                                     ExtendRequest{f->inode.ino,
                                                                   start + data.size()})));
  PDM_TRY(data_.write(layout_of(inode), inode.ino, start, data));
  return data.size();
}

Status FileSystem::truncate_inode(const Inode &inode, std::uint64_t length) {
  if (inode.is_dir()) return make_error(EISDIR, "inode {} is a directory", inode.ino);
  // Trim the objects to the smaller of the two sizes first: growing must
  // expose zeros, never bytes an earlier, longer version left behind.
  PDM_TRY(data_.truncate(layout_of(inode), inode.ino, std::min(inode.size, length)));
  AttrChange change;
  change.size = length;
  PDM_TRY(meta_call<Inode>(meta_msg::kSetattr, SetattrRequest{inode.ino, change}));
  return {};
}

Status FileSystem::ftruncate(int fd, std::int64_t length) {
  PDM_ASSIGN_OR_RETURN(auto f, file(fd));
  if ((f->flags & O_ACCMODE) == O_RDONLY) {
    return make_error(EINVAL, "file descriptor {} is not open for writing", fd);
  }
  if (length < 0) return make_error(EINVAL, "negative length {}", length);
  PDM_ASSIGN_OR_RETURN(auto inode, (meta_call<Inode>(meta_msg::kGetattr,
                                                     InodeRequest{f->inode.ino})));
  return truncate_inode(inode, static_cast<std::uint64_t>(length));
}

Status FileSystem::truncate(std::string_view path, std::int64_t length) {
  if (length < 0) return make_error(EINVAL, "negative length {}", length);
  PDM_ASSIGN_OR_RETURN(auto inode, stat(path));
  return truncate_inode(inode, static_cast<std::uint64_t>(length));
}

Status FileSystem::fsync(int fd) {
  PDM_ASSIGN_OR_RETURN(auto f, file(fd));
  PDM_TRY(data_.sync(f->inode.ino));
  return meta_status(meta_msg::kSync, mpi::Empty{});
}

Result<Inode> FileSystem::fstat(int fd) {
  PDM_ASSIGN_OR_RETURN(auto f, file(fd));
  return meta_call<Inode>(meta_msg::kGetattr, InodeRequest{f->inode.ino});
}

Result<Inode> FileSystem::stat(std::string_view path) {
  PDM_TRY(split_path(path));
  return meta_call<Inode>(meta_msg::kResolve, PathRequest{std::string(path)});
}

Status FileSystem::unlink(std::string_view path) {
  PDM_ASSIGN_OR_RETURN(auto gone, (meta_call<Unlinked>(meta_msg::kUnlink,
                                                       PathRequest{std::string(path)})));
  if (gone.destroy) return destroy(gone);
  return {};
}

Status FileSystem::rename(std::string_view from, std::string_view to) {
  PDM_ASSIGN_OR_RETURN(auto renamed,
                       (meta_call<Renamed>(meta_msg::kRename,
                                           RenameRequest{std::string(from), std::string(to)})));
  if (renamed.replaced && renamed.replaced->destroy) return destroy(*renamed.replaced);
  return {};
}

Status FileSystem::mkdir(std::string_view path, mode_t mode) {
  PDM_TRY(meta_call<Inode>(meta_msg::kMkdir,
                           MkdirRequest{std::string(path), mode, ::getuid(), ::getgid()}));
  return {};
}

Status FileSystem::rmdir(std::string_view path) {
  return meta_status(meta_msg::kRmdir, PathRequest{std::string(path)});
}

Result<std::vector<DirEntry>> FileSystem::readdir(std::string_view path, std::string_view after,
                                                  std::size_t max_entries) {
  return meta_call<std::vector<DirEntry>>(
      meta_msg::kReaddir,
      ReaddirRequest{std::string(path), std::string(after),
                     static_cast<std::uint32_t>(std::min<std::size_t>(max_entries, 65536))});
}

Result<std::vector<VolumeUsage>> FileSystem::volume_usage() { return data_.usage(); }

Result<StoreStats> FileSystem::metadata_stats() {
  return meta_call<StoreStats>(meta_msg::kStats, mpi::Empty{});
}

Status FileSystem::recover_orphans() {
  PDM_ASSIGN_OR_RETURN(auto orphans, (meta_call<std::vector<Inode>>(meta_msg::kOrphans,
                                                                    mpi::Empty{})));
  for (const auto &inode : orphans) PDM_TRY(destroy(Unlinked{inode, true}));
  return {};
}

Status FileSystem::flush() {
  if (meta_) return meta_->sync();
  return {};
}

}  // namespace pdm::pfs

#include "pfs/client/file_system.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <functional>

#include "pfs/config/path.h"
#include "pfs/config/volume.h"
#include "pfs/data/data_handlers.h"
#include "pfs/dm_events.h"
#include "pfs/meta/dm_attr_handlers.h"
#include "pfs/meta/dm_attr_protocol.h"
#include "pfs/meta/meta_handlers.h"
#include "pfs/meta/meta_protocol.h"
#include "pfs/volume_map.h"
#include "runtime/mpi/typed_rpc.h"

namespace pdm::pfs {

namespace {

// io.direct: which volumes this rank reads and writes itself. "auto" takes a
// volume whose directory this rank sees with this file system's header —
// a shared directory; "on" takes every volume, "off" none (owners serve all).
std::vector<bool> direct_volumes(const FsConfig &config, const std::string &mode) {
  std::vector<bool> direct(config.volumes.size(), mode == "on");
  if (mode != "auto") return direct;
  for (std::size_t v = 0; v < config.volumes.size(); ++v) {
    auto header = read_volume_header(config.volumes[v]);
    direct[v] = header.ok() && header->fs_id == config.fs_id && header->index == v;
  }
  return direct;
}

}  // namespace

FileSystem::FileSystem(const FsConfig &config, mpi::RpcEngine &engine,
                       const FileSystemOptions &options)
    : config_(config),
      engine_(engine),
      options_(options),
      objects_(config.volumes),
      data_(engine, objects_, options.max_request, direct_volumes(config, options.direct)),
      nospace_faults_(options.fault_nospace_writes) {}

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
  register_dm_attr_handlers(engine, [raw = fs.get()] { return raw->meta_.get(); });
  return fs;
}

int FileSystem::owner_of_volume(std::uint32_t volume) const {
  return owner_of(volume, *engine_.membership().current());
}

int FileSystem::metadata_rank() const {
  return metadata_owner(*engine_.membership().current());
}

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
  // XDSM CREATE/POSTCREATE: only when the open really creates the file.
  const bool creating = (flags & O_CREAT) &&
                        (wanted(dm_event::kCreate) || wanted(dm_event::kPostcreate)) &&
                        !stat(path).ok();
  if (creating) PDM_TRY(pre_event(dm_event::kCreate, path, S_IFREG | (mode & 07777)));
  auto opened_or = meta_call<Created>(meta_msg::kOpen, request);
  if (creating) {
    post_event(dm_event::kPostcreate, path,
               opened_or.ok() ? EventObject{opened_or->inode.ino, opened_or->inode.generation}
                              : EventObject{},
               S_IFREG | (mode & 07777), opened_or.ok() ? 0 : opened_or.error().code);
  }
  PDM_ASSIGN_OR_RETURN(auto opened, std::move(opened_or));
  auto open_file = std::make_shared<OpenFile>();
  open_file->inode = opened.inode;
  open_file->flags = flags;
  if ((flags & O_TRUNC) && access != O_RDONLY && opened.inode.is_file() && opened.inode.size > 0) {
    if (auto truncated = truncate_guarded(opened.inode.ino, 0); !truncated.ok()) {
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
  bool last_here = false;
  {
    std::lock_guard lock(files_mutex_);
    auto it = files_.find(fd);
    if (it == files_.end()) return make_error(EBADF, "file descriptor {} is not open", fd);
    open_file = std::move(it->second);
    files_.erase(it);
    last_here = std::none_of(files_.begin(), files_.end(), [&](const auto &entry) {
      return entry.second->inode.ino == open_file->inode.ino;
    });
  }
  PDM_ASSIGN_OR_RETURN(
      auto closed,
      (meta_call<Unlinked>(meta_msg::kClose,
                           CloseRequest{open_file->inode.ino, open_file->was_read.load()})));
  // XDSM CLOSE (asynchronous): the last close of the file on this rank; an
  // open file on another rank is another client's open.
  if (last_here && wanted(dm_event::kClose)) {
    FsEvent event;
    event.type = dm_event::kClose;
    event.object1 = {open_file->inode.ino, open_file->inode.generation};
    event.mode = open_file->inode.mode;
    (void)gate_->raise(event, false);
  }
  if (closed.destroy) return destroy(closed);
  return {};
}

Status FileSystem::destroy(const Unlinked &gone) {
  PDM_TRY(data_.remove(gone.inode.ino));
  PDM_TRY(meta_status(meta_msg::kForget, InodeRequest{gone.inode.ino}));
  if (gate_ != nullptr) gate_->object_gone({gone.inode.ino, gone.inode.generation});
  if (wanted(dm_event::kDestroy)) {
    FsEvent event;
    event.type = dm_event::kDestroy;
    event.object1 = {gone.inode.ino, gone.inode.generation};
    (void)gate_->raise(event, false);
  }
  return {};
}

Result<std::pair<EventObject, std::string>> FileSystem::parent_object(std::string_view path) {
  PDM_ASSIGN_OR_RETURN(auto components, split_path(path));
  if (components.empty()) return make_error(EBUSY, "{}: the root directory", path);
  std::string name = std::move(components.back());
  components.pop_back();
  PDM_ASSIGN_OR_RETURN(auto parent, stat(join_path(components)));
  return std::pair{EventObject{parent.ino, parent.generation}, std::move(name)};
}

Status FileSystem::pre_event(int type, std::string_view path, std::uint32_t mode,
                             std::string_view path2) {
  if (!wanted(type)) return {};
  // A path that cannot be resolved fails the operation itself just below.
  auto parent = parent_object(path);
  if (!parent.ok()) return {};
  FsEvent event;
  event.type = type;
  event.object1 = parent->first;
  event.name1 = parent->second;
  event.mode = mode;
  if (!path2.empty()) {
    auto target = parent_object(path2);
    if (!target.ok()) return {};
    event.object2 = target->first;
    event.name2 = target->second;
  }
  return gate_->raise(event, true);
}

void FileSystem::post_event(int type, std::string_view path, EventObject child, std::uint32_t mode,
                            int retcode, std::string_view path2) {
  if (!wanted(type)) return;
  auto parent = parent_object(path2.empty() ? path : path2);
  if (!parent.ok()) return;
  FsEvent event;
  event.type = type;
  event.object1 = parent->first;
  event.object2 = child;
  event.name1 = parent->second;
  event.mode = mode;
  event.retcode = retcode;
  if (!path2.empty()) {
    // POSTRENAME: the old parent and name first, the new ones second.
    auto old_parent = parent_object(path);
    if (!old_parent.ok()) return;
    event.object1 = old_parent->first;
    event.name1 = old_parent->second;
    event.object2 = parent->first;
    event.name2 = parent->second;
  }
  (void)gate_->raise(event, false);
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
  PDM_ASSIGN_OR_RETURN(auto guard, access(f->inode.ino, AccessKind::kRead));
  const auto start = static_cast<std::uint64_t>(offset);
  // Inside a size this client knows (and no file shrank since): no
  // metadata call at all.
  if (inside_known_size(*f, start + buffer.size())) {
    PDM_TRY(data_.read(layout_of(f->inode), f->inode.ino, start, buffer));
    f->was_read = true;
    return buffer.size();
  }
  // Otherwise the size is asked for while the data is read, not before it:
  // a read costs the slower of the two round trips, not their sum. Bytes
  // past the end of the file read as zeros and are cut off below.
  const std::uint64_t epoch = shrink_epoch();
  auto size_call = engine_.start(metadata_rank(), meta_msg::kGetattr,
                                 mpi::encode_message(InodeRequest{f->inode.ino}));
  Status read = data_.read(layout_of(f->inode), f->inode.ino, start, buffer);
  PDM_ASSIGN_OR_RETURN(auto response, engine_.wait(size_call));
  PDM_ASSIGN_OR_RETURN(auto inode, mpi::decode_payload<Inode>(response.payload()));
  PDM_TRY(read);
  learn_size(*f, inode.size, epoch);
  if (start >= inode.size) return std::size_t{0};
  f->was_read = true;
  return static_cast<std::size_t>(std::min<std::uint64_t>(buffer.size(), inode.size - start));
}

std::uint64_t FileSystem::shrink_epoch() const {
  return notices_ != nullptr ? notices_->shrink_epoch() : OpenFile::kNoEpoch;
}

bool FileSystem::inside_known_size(OpenFile &file, std::uint64_t end) const {
  const std::uint64_t epoch = shrink_epoch();
  if (epoch == OpenFile::kNoEpoch) return false;
  std::lock_guard lock(file.size_mutex);
  return file.known_epoch == epoch && end <= file.known_size;
}

void FileSystem::learn_size(OpenFile &file, std::uint64_t size, std::uint64_t epoch) {
  if (epoch == OpenFile::kNoEpoch) return;
  std::lock_guard lock(file.size_mutex);
  if (file.known_epoch != epoch || size > file.known_size) {
    file.known_size = size;
    file.known_epoch = epoch;
  }
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
  PDM_ASSIGN_OR_RETURN(auto guard, access(f->inode.ino, AccessKind::kModify));
  // The size and mtime change travels alongside the data, not before it.
  const std::uint64_t epoch = shrink_epoch();
  auto extend =
      engine_.start(metadata_rank(), meta_msg::kExtend,
                    mpi::encode_message(ExtendRequest{f->inode.ino, start + data.size()}));
  Status written = write_data(*f, start, data);
  PDM_ASSIGN_OR_RETURN(auto response, engine_.wait(extend));
  PDM_ASSIGN_OR_RETURN(auto extended, mpi::decode_payload<Inode>(response.payload()));
  PDM_TRY(written);
  learn_size(*f, extended.size, epoch);
  return data.size();
}

Status FileSystem::write_data(const OpenFile &file, std::uint64_t start,
                              std::span<const std::byte> data) {
  for (;;) {
    Status written;
    std::uint64_t faults = nospace_faults_.load();
    while (faults > 0 && !nospace_faults_.compare_exchange_weak(faults, faults - 1)) {
    }
    if (faults > 0) {
      written =
          make_error(ENOSPC, "inode {}: injected ENOSPC (fault.nospace_writes)", file.inode.ino);
    } else {
      written = data_.write(layout_of(file.inode), file.inode.ino, start, data);
    }
    if (written.ok() || written.error().code != ENOSPC || !wanted(dm_event::kNospace)) {
      return written;
    }
    // XDSM NOSPACE: the DM application may free space (CONTINUE: try again)
    // or give up (ABORT: the write fails with its errno).
    FsEvent event;
    event.type = dm_event::kNospace;
    event.object1 = {file.inode.ino, file.inode.generation};
    event.mode = file.inode.mode;
    event.retcode = ENOSPC;
    if (!gate_->wanted(event.type, event.object1)) return written;
    PDM_TRY(gate_->raise(event, true));
  }
}

Status FileSystem::truncate_inode(const Inode &inode, std::uint64_t length) {
  if (inode.is_dir()) return make_error(EISDIR, "inode {} is a directory", inode.ino);
  // Trim the objects to the smaller of the two sizes first: growing must
  // expose zeros, never bytes an earlier, longer version left behind.
  PDM_TRY(data_.truncate(layout_of(inode), inode.ino, std::min(inode.size, length)));
  AttrChange change;
  change.size = length;
  PDM_ASSIGN_OR_RETURN(auto changed,
                       meta_call<Inode>(meta_msg::kSetattr, SetattrRequest{inode.ino, change}));
  // Every rank drops the sizes it cached before this truncate returns.
  if (length < inode.size && notices_ != nullptr) PDM_TRY(notices_->announce_shrink());
  attribute_event(changed);
  return {};
}

void FileSystem::attribute_event(const Inode &inode) {
  if (!wanted(dm_event::kAttribute)) return;
  FsEvent event;
  event.type = dm_event::kAttribute;
  event.object1 = {inode.ino, inode.generation};
  event.mode = inode.mode;
  (void)gate_->raise(event, false);
}

Result<Inode> FileSystem::dm_set_attr(InodeNumber ino, std::uint64_t generation,
                                      const AttrChange &change, std::optional<TimeNs> ctime) {
  std::optional<std::uint64_t> old_size;
  if (change.size) {
    PDM_ASSIGN_OR_RETURN(auto object, meta_call<ObjectAttrs>(dm_attr_msg::kGetObject,
                                                             ObjectRequest{ino, generation}));
    const Inode &inode = object.inode;
    if (inode.is_dir()) return make_error(EISDIR, "inode {} is a directory", ino);
    // As truncate: never expose bytes an earlier, longer version left behind.
    PDM_TRY(data_.truncate(layout_of(inode), ino, std::min(inode.size, *change.size)));
    old_size = inode.size;
  }
  PDM_ASSIGN_OR_RETURN(auto changed,
                       meta_call<Inode>(dm_attr_msg::kSetFileattr,
                                        SetFileattrRequest{ino, generation, change, ctime}));
  if (old_size && *change.size < *old_size && notices_ != nullptr) {
    PDM_TRY(notices_->announce_shrink());
  }
  return changed;
}

Status FileSystem::truncate_guarded(InodeNumber ino, std::uint64_t length) {
  PDM_ASSIGN_OR_RETURN(auto guard, access(ino, AccessKind::kModify));
  PDM_ASSIGN_OR_RETURN(auto inode, (meta_call<Inode>(meta_msg::kGetattr, InodeRequest{ino})));
  return truncate_inode(inode, length);
}

Status FileSystem::ftruncate(int fd, std::int64_t length) {
  PDM_ASSIGN_OR_RETURN(auto f, file(fd));
  if ((f->flags & O_ACCMODE) == O_RDONLY) {
    return make_error(EINVAL, "file descriptor {} is not open for writing", fd);
  }
  if (length < 0) return make_error(EINVAL, "negative length {}", length);
  return truncate_guarded(f->inode.ino, static_cast<std::uint64_t>(length));
}

Status FileSystem::truncate(std::string_view path, std::int64_t length) {
  if (length < 0) return make_error(EINVAL, "negative length {}", length);
  PDM_ASSIGN_OR_RETURN(auto inode, stat(path));
  if (inode.is_dir()) return make_error(EISDIR, "{} is a directory", path);
  return truncate_guarded(inode.ino, static_cast<std::uint64_t>(length));
}

Result<AccessGuard> FileSystem::access(InodeNumber ino, AccessKind kind) {
  if (access_ == nullptr) return AccessGuard{};
  return access_->begin(ino, kind);
}

Result<std::vector<AccessGuard>> FileSystem::access_paths(
    std::initializer_list<std::string_view> paths, AccessKind kind) {
  std::vector<AccessGuard> guards;
  if (access_ == nullptr) return guards;
  // No right held anywhere (the common case): no lookup at all.
  if (auto unresolved = access_->begin_unresolved(kind)) {
    guards.push_back(std::move(*unresolved));
    return guards;
  }
  std::vector<InodeNumber> inos;
  for (auto path : paths) {
    if (auto inode = stat(path); inode.ok()) inos.push_back(inode->ino);
  }
  // In inode order, so two operations on the same pair cannot wait on each other.
  std::sort(inos.begin(), inos.end());
  inos.erase(std::unique(inos.begin(), inos.end()), inos.end());
  for (InodeNumber ino : inos) {
    PDM_ASSIGN_OR_RETURN(auto guard, access_->begin(ino, kind));
    guards.push_back(std::move(guard));
  }
  return guards;
}

Status FileSystem::fsync(int fd) {
  PDM_ASSIGN_OR_RETURN(auto f, file(fd));
  PDM_TRY(data_.sync(f->inode.ino));
  return meta_status(meta_msg::kSync, mpi::Empty{});
}

Result<Inode> FileSystem::fstat(int fd) {
  PDM_ASSIGN_OR_RETURN(auto f, file(fd));
  PDM_ASSIGN_OR_RETURN(auto guard, access(f->inode.ino, AccessKind::kRead));
  return meta_call<Inode>(meta_msg::kGetattr, InodeRequest{f->inode.ino});
}

Result<Inode> FileSystem::stat(std::string_view path) {
  PDM_TRY(split_path(path));
  return meta_call<Inode>(meta_msg::kResolve, PathRequest{std::string(path)});
}

Status FileSystem::unlink(std::string_view path) {
  std::uint32_t mode = S_IFREG;
  if (wanted(dm_event::kRemove) || wanted(dm_event::kPostremove)) {
    if (auto inode = stat(path); inode.ok()) mode = inode->mode;
  }
  PDM_TRY(pre_event(dm_event::kRemove, path, mode));
  PDM_ASSIGN_OR_RETURN(auto guards, access_paths({path}, AccessKind::kModify));
  auto gone = meta_call<Unlinked>(meta_msg::kUnlink, PathRequest{std::string(path)});
  post_event(dm_event::kPostremove, path,
             gone.ok() ? EventObject{gone->inode.ino, gone->inode.generation} : EventObject{}, mode,
             gone.ok() ? 0 : gone.error().code);
  PDM_TRY(gone);
  if (gone->destroy) return destroy(*gone);
  return {};
}

Status FileSystem::rename(std::string_view from, std::string_view to) {
  PDM_TRY(pre_event(dm_event::kRename, from, 0, to));
  PDM_ASSIGN_OR_RETURN(auto guards, access_paths({from, to}, AccessKind::kModify));
  auto renamed =
      meta_call<Renamed>(meta_msg::kRename, RenameRequest{std::string(from), std::string(to)});
  post_event(
      dm_event::kPostrename, from,
      renamed.ok() ? EventObject{renamed->moved.ino, renamed->moved.generation} : EventObject{},
      renamed.ok() ? renamed->moved.mode : 0, renamed.ok() ? 0 : renamed.error().code, to);
  PDM_TRY(renamed);
  if (renamed->replaced && renamed->replaced->destroy) return destroy(*renamed->replaced);
  return {};
}

Status FileSystem::mkdir(std::string_view path, mode_t mode) {
  const std::uint32_t dir_mode = S_IFDIR | (mode & 07777);
  PDM_TRY(pre_event(dm_event::kCreate, path, dir_mode));
  auto made = meta_call<Inode>(meta_msg::kMkdir,
                               MkdirRequest{std::string(path), mode, ::getuid(), ::getgid()});
  post_event(dm_event::kPostcreate, path,
             made.ok() ? EventObject{made->ino, made->generation} : EventObject{}, dir_mode,
             made.ok() ? 0 : made.error().code);
  PDM_TRY(made);
  return {};
}

Status FileSystem::rmdir(std::string_view path) {
  PDM_TRY(pre_event(dm_event::kRemove, path, S_IFDIR));
  PDM_ASSIGN_OR_RETURN(auto guards, access_paths({path}, AccessKind::kModify));
  auto removed = meta_status(meta_msg::kRmdir, PathRequest{std::string(path)});
  post_event(dm_event::kPostremove, path, EventObject{}, S_IFDIR,
             removed.ok() ? 0 : removed.error().code);
  return removed;
}

Result<std::vector<DirEntry>> FileSystem::readdir(std::string_view path, std::string_view after,
                                                  std::size_t max_entries) {
  return meta_call<std::vector<DirEntry>>(
      meta_msg::kReaddir,
      ReaddirRequest{std::string(path), std::string(after),
                     static_cast<std::uint32_t>(std::min<std::size_t>(max_entries, 65536))});
}

Result<Inode> FileSystem::getattr(InodeNumber ino) {
  return meta_call<Inode>(meta_msg::kGetattr, InodeRequest{ino});
}

Status FileSystem::set_eventlist(InodeNumber ino, std::uint64_t generation, std::uint64_t events) {
  return meta_status(meta_msg::kSetEventList, SetEventListRequest{ino, generation, events});
}

Result<std::vector<StoredEventList>> FileSystem::eventlists() {
  return meta_call<std::vector<StoredEventList>>(meta_msg::kEventLists, mpi::Empty{});
}

Result<std::vector<VolumeUsage>> FileSystem::volume_usage() {
  return data_.usage();
}

Result<StoreStats> FileSystem::metadata_stats() {
  return meta_call<StoreStats>(meta_msg::kStats, mpi::Empty{});
}

Status FileSystem::recover_orphans() {
  PDM_ASSIGN_OR_RETURN(auto orphans,
                       (meta_call<std::vector<Inode>>(meta_msg::kOrphans, mpi::Empty{})));
  for (const auto &inode : orphans) PDM_TRY(destroy(Unlinked{inode, true}));
  return {};
}

Status FileSystem::flush() {
  if (meta_) return meta_->sync();
  return {};
}

}  // namespace pdm::pfs

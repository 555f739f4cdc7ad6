#include "pfs/client/file_system.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <functional>

#include "pfs/config/path.h"
#include "pfs/config/volume.h"
#include "pfs/data/data_handlers.h"
#include "pfs/data/dm_data_protocol.h"
#include "pfs/dm_events.h"
#include "pfs/meta/dm_attr_handlers.h"
#include "pfs/meta/dm_attr_protocol.h"
#include "pfs/meta/dm_state_protocol.h"
#include "pfs/meta/meta_handlers.h"
#include "pfs/meta/meta_protocol.h"
#include "pfs/meta/reply_journal.h"
#include "pfs/volume_map.h"
#include "runtime/base/failpoint.h"
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
      nospace_faults_(options.fault_nospace_writes),
      deferred_(
          engine,
          [this](InodeNumber ino, std::uint64_t end) {
            return engine_.start(metadata_rank(), meta_msg::kExtend,
                                 mpi::encode_message(ExtendRequest{ino, end}));
          },
          kMetadataRetryLimit) {}

FileSystem::~FileSystem() = default;

Result<std::unique_ptr<FileSystem>> FileSystem::create(const FsConfig &config,
                                                       mpi::RpcEngine &engine,
                                                       const FileSystemOptions &options) {
  std::unique_ptr<FileSystem> fs(new FileSystem(config, engine, options));
  PDM_TRY(fs->take_over_metadata());
  // A fresh mount: no attempt of an earlier job is left to answer, and no
  // rank holds an open yet.
  if (fs->meta_) PDM_TRY(fs->meta_->store().start_job());
  register_data_handlers(engine, fs->objects_);
  register_meta_handlers(engine, [raw = fs.get()] { return raw->metadata_service(); });
  register_dm_attr_handlers(engine, [raw = fs.get()] { return raw->metadata_service(); });
  register_dm_data_handlers(engine, fs->objects_);
  register_dm_state_handlers(engine, [raw = fs.get()] { return raw->metadata_service(); });
  engine.add_poller([raw = fs.get()] { return raw->deferred_.reap(); });
  make_metadata_replayable(engine, [raw = fs.get()] { return raw->metadata_service(); });
  return fs;
}

Status FileSystem::take_over_metadata() {
  auto view = engine_.membership().current();
  if (metadata_owner(*view) != view->self()) return {};
  if (!meta_) {
    MetaStoreOptions store;
    store.dir = config_.metadata_dir();
    store.map_size = options_.meta_map_size;
    store.default_stripe_size = config_.stripe_size;
    store.volume_count = static_cast<std::uint32_t>(config_.volumes.size());
    PDM_ASSIGN_OR_RETURN(auto opened, MetaStore::open(store));
    meta_ = std::make_unique<MetaService>(std::move(opened));
    served_.store(meta_.get(), std::memory_order_release);
  }
  // The opens of dead ranks ended with them: an unlinked file only they
  // held is an orphan now (recovered at the next mount).
  return meta_->store().drop_opens_except(view->members());
}

int FileSystem::owner_of_volume(std::uint32_t volume) const {
  return owner_of(volume, *engine_.membership().current());
}

int FileSystem::metadata_rank() const {
  return metadata_owner(*engine_.membership().current());
}

Result<mpi::Response> FileSystem::call_metadata(mpi::MsgType type,
                                                std::span<const std::byte> payload) {
  return mpi::call_across_views(
      engine_, [](const cluster::View &view) { return metadata_owner(view); }, type, payload,
      kMetadataRetryLimit);
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

Result<std::uint32_t> FileSystem::stripe_size(int fd) {
  PDM_ASSIGN_OR_RETURN(auto f, file(fd));
  return f->inode.stripe_size;
}

Result<int> FileSystem::open(std::string_view path, int flags, mode_t mode) {
  PDM_ASSIGN_OR_RETURN(const GroupOpen opened, open_counted(path, flags, mode, {}));
  return install_open(opened);
}

Result<std::pair<int, std::vector<std::byte>>> FileSystem::open_for_group(
    std::string_view path, int flags, mode_t mode, std::span<const int> holders) {
  if (flags & O_TRUNC) return make_error(EINVAL, "{}: a group open cannot truncate", path);
  if (holders.empty()) return make_error(EINVAL, "{}: a group open for no rank", path);
  PDM_ASSIGN_OR_RETURN(GroupOpen opened, open_counted(path, flags, mode, holders));
  const int fd = install_open(opened);
  const mpi::Encoder message = mpi::encode_message(opened);
  const auto ticket = std::span(message.bytes()).subspan(mpi::Header::kSize);
  return std::pair{fd, std::vector<std::byte>(ticket.begin(), ticket.end())};
}

Result<int> FileSystem::adopt_open(std::span<const std::byte> ticket) {
  PDM_ASSIGN_OR_RETURN(const GroupOpen opened, mpi::decode_payload<GroupOpen>(ticket));
  return install_open(opened);
}

Result<GroupOpen> FileSystem::open_counted(std::string_view path, int flags, mode_t mode,
                                           std::span<const int> holders) {
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
  // The DM state comes with the open (learned under the epoch read before).
  const std::uint64_t epoch = shrink_epoch();
  auto opened_dm = holders.empty() ? meta_call<OpenedDm>(dm_state_msg::kOpen, request)
                                   : meta_call<OpenedDm>(
                                         dm_state_msg::kOpenFor,
                                         OpenForRequest{request, {holders.begin(), holders.end()}});
  Result<Created> opened_or =
      opened_dm.ok() ? Result<Created>(opened_dm->opened) : Result<Created>(opened_dm.error());
  if (creating) {
    post_event(dm_event::kPostcreate, path,
               opened_or.ok() ? EventObject{opened_or->inode.ino, opened_or->inode.generation}
                              : EventObject{},
               S_IFREG | (mode & 07777), opened_or.ok() ? 0 : opened_or.error().code);
  }
  PDM_ASSIGN_OR_RETURN(auto opened, std::move(opened_or));
  if ((flags & O_TRUNC) && access != O_RDONLY && opened.inode.is_file() && opened.inode.size > 0) {
    if (auto truncated = truncate_guarded(opened.inode.ino, 0); !truncated.ok()) {
      (void)meta_call<Unlinked>(meta_msg::kClose, CloseRequest{opened.inode.ino, false});
      return std::move(truncated).error();
    }
  }
  return GroupOpen{std::move(*opened_dm), flags, epoch};
}

int FileSystem::install_open(const GroupOpen &opened) {
  auto open_file = std::make_shared<OpenFile>();
  open_file->inode = opened.opened.opened.inode;
  open_file->flags = opened.flags;
  // Valid on every rank of a group: a rank that still sees `epoch` has not
  // heard of any shrink after the state was read (SizeNotices).
  learn_dm_state(*open_file, opened.opened.state, opened.epoch);
  std::lock_guard lock(files_mutex_);
  const int fd = next_fd_++;
  if (next_fd_ == INT_MAX) next_fd_ = 3;
  files_.emplace(fd, std::move(open_file));
  return fd;
}

Status FileSystem::close(int fd) {
  PDM_ASSIGN_OR_RETURN(const ClosingOpen closing, begin_close(fd));
  PDM_TRY(finish_close(closing, closing.was_read, {}));
  return closing.published;
}

Result<ClosingOpen> FileSystem::begin_close(int fd) {
  std::shared_ptr<OpenFile> open_file;
  ClosingOpen closing;
  {
    std::lock_guard lock(files_mutex_);
    auto it = files_.find(fd);
    if (it == files_.end()) return make_error(EBADF, "file descriptor {} is not open", fd);
    open_file = std::move(it->second);
    files_.erase(it);
    closing.last_here = std::none_of(files_.begin(), files_.end(), [&](const auto &entry) {
      return entry.second->inode.ino == open_file->inode.ino;
    });
  }
  closing.inode = open_file->inode;
  closing.was_read = open_file->was_read.load();
  // Its writes' sizes before the close: the close may destroy the inode,
  // and a rank that opens the file after this close must see them. A
  // failure is reported after the file is closed, as a write-back error is.
  closing.published = deferred_.settle(open_file->inode.ino);
  return closing;
}

Status FileSystem::finish_close(const ClosingOpen &closing, bool was_read,
                                std::span<const int> holders) {
  const InodeNumber ino = closing.inode.ino;
  PDM_ASSIGN_OR_RETURN(
      auto closed,
      holders.empty()
          ? meta_call<Unlinked>(meta_msg::kClose, CloseRequest{ino, was_read})
          : meta_call<Unlinked>(meta_msg::kCloseFor,
                                CloseForRequest{ino, was_read, {holders.begin(), holders.end()}}));
  raise_close_event(closing);
  if (closed.destroy) PDM_TRY(destroy(closed));
  return {};
}

void FileSystem::raise_close_event(const ClosingOpen &closing) {
  // XDSM CLOSE (asynchronous): the last close of the file on this rank; an
  // open file on another rank is another client's open.
  if (closing.last_here && wanted(dm_event::kClose)) {
    FsEvent event;
    event.type = dm_event::kClose;
    event.object1 = {closing.inode.ino, closing.inode.generation};
    event.mode = closing.inode.mode;
    (void)gate_->raise(event, false);
  }
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
  if (offset < 0) {
    PDM_TRY(file(fd));
    return make_error(EINVAL, "negative offset {}", offset);
  }
  const ByteRange whole{static_cast<std::uint64_t>(offset), buffer.size()};
  return pread_extents(fd, {&whole, 1}, buffer);
}

namespace {

// The bytes of `extents` (one after the other) that a file of `size` bytes
// holds before the first range it cuts short: what a read of them returns.
std::uint64_t prefix_inside(std::span<const ByteRange> extents, std::uint64_t size) {
  std::uint64_t done = 0;
  for (const ByteRange &extent : extents) {
    const std::uint64_t n =
        extent.offset >= size ? 0 : std::min(extent.length, size - extent.offset);
    done += n;
    if (n < extent.length) break;
  }
  return done;
}

}  // namespace

Result<std::size_t> FileSystem::pread_extents(int fd, std::span<const ByteRange> extents,
                                              std::span<std::byte> buffer) {
  PDM_ASSIGN_OR_RETURN(auto f, file(fd));
  if ((f->flags & O_ACCMODE) == O_WRONLY) {
    return make_error(EBADF, "file descriptor {} is not open for reading", fd);
  }
  if (buffer.size() > SSIZE_MAX) return make_error(EINVAL, "read of {} bytes", buffer.size());
  if (f->inode.is_dir()) return make_error(EISDIR, "file descriptor {} is a directory", fd);
  std::uint64_t total = 0, end = 0;
  for (const ByteRange &extent : extents) {
    if (extent.offset > static_cast<std::uint64_t>(LLONG_MAX) || extent.length > SSIZE_MAX) {
      return make_error(EINVAL, "read of [{}, +{})", extent.offset, extent.length);
    }
    total += extent.length;
    end = std::max(end, extent.end());
  }
  if (total != buffer.size()) {
    return make_error(EINVAL, "a buffer of {} bytes for extents of {} bytes", buffer.size(), total);
  }
  if (buffer.empty()) return std::size_t{0};
  // The READ event of a managed region is raised once per read; after the
  // session's CONTINUE the read goes on with whatever the state is then.
  bool raised = false;
  // Whether the first `bytes` bytes of the read touch a managed region that
  // wants READ or released bytes.
  auto blocked = [&](const FileDmState &state, std::uint64_t bytes) {
    for (const ByteRange &extent : extents) {
      if (bytes == 0) break;
      const std::uint64_t length = std::min(extent.length, bytes);
      bytes -= length;
      if (length == 0) continue;
      if ((!raised && region_touched(state, region_flag::kRead, extent.offset, length)) ||
          released_touched(state, extent.offset, length)) {
        return true;
      }
    }
    return false;
  };
  // Each pass reads the shrink epoch first and checks it again after the
  // data arrived: dm_punch_hole bumps it between marking the range released
  // and freeing the blocks, so a read that may have seen freed blocks (zeros)
  // sees a new epoch and is done again with the new state. A read never
  // returns zeros that a punch left.
  for (;;) {
    // Each pass holds the access guard while it reads, and lets it go before
    // it raises the READ event (pfs/object_access.h): the session answering
    // it may take a right on this very file.
    PDM_ASSIGN_OR_RETURN(auto guard, access(f->inode.ino, AccessKind::kRead));
    const std::uint64_t epoch = shrink_epoch();
    std::uint64_t bytes = buffer.size();
    auto state = cached_dm_state(*f, epoch);
    if (state && inside_known_size(*f, end)) {
      // Inside a size this client knows, with the file's DM state of this
      // epoch: no metadata call at all.
      if (!blocked(*state, bytes)) {
        if (read_window_hook_) read_window_hook_();
        PDM_TRY(data_.read_extents(layout_of(f->inode), f->inode.ino, extents, buffer));
        if (shrink_epoch() != epoch) continue;
        f->was_read = true;
        return buffer.size();
      }
    } else {
      // Otherwise the size and DM state are asked for while the data is
      // read, not before it: a read costs the slower of the two round
      // trips, not their sum. Bytes past the end of the file read as zeros
      // and are cut off below. This rank's own lazy-size writes (through
      // any descriptor) are published first, or the size would cut them off.
      PDM_TRY(deferred_.settle(f->inode.ino));
      auto state_call = engine_.start(metadata_rank(), dm_state_msg::kGet,
                                      mpi::encode_message(InodeRequest{f->inode.ino}));
      if (read_window_hook_) read_window_hook_();
      Status read = data_.read_extents(layout_of(f->inode), f->inode.ino, extents, buffer);
      auto response = engine_.wait(state_call);
      // Cut by a view change: asked again of the next metadata server.
      Result<InodeDm> got = response.ok() ? mpi::decode_payload<InodeDm>(response->payload())
                            : response.error().code == ESTALE
                                ? meta_call<InodeDm>(dm_state_msg::kGet, InodeRequest{f->inode.ino})
                                : Result<InodeDm>(std::move(response).error());
      PDM_TRY(got);
      PDM_TRY(read);
      learn_size(*f, got->inode.size, epoch);
      learn_dm_state(*f, got->state, epoch);
      // The server may not have applied every size update yet that a
      // collective write made this rank learn (learn_size(fd, known)).
      bytes = prefix_inside(extents, size_at_least(*f, got->inode.size, epoch));
      if (bytes == 0) return std::size_t{0};
      if (!blocked(got->state, bytes)) {
        if (shrink_epoch() != epoch) continue;
        f->was_read = true;
        return static_cast<std::size_t>(bytes);
      }
    }
    if (extents.size() > 1) {
      // Several ranges and a managed region or released bytes: each range
      // is read as its own pread would, raising its own event.
      guard = AccessGuard{};
      std::size_t done = 0;
      for (const ByteRange &extent : extents) {
        PDM_ASSIGN_OR_RETURN(const std::size_t n, pread(fd, buffer.subspan(done, extent.length),
                                                        static_cast<std::int64_t>(extent.offset)));
        done += n;
        if (n < extent.length) break;
      }
      return done;
    }
    // A managed region wants the READ event, or the range holds released
    // bytes. Decide on the metadata's current state, not a cached one.
    const std::uint64_t start = extents[0].offset;
    PDM_ASSIGN_OR_RETURN(auto fresh, fetch_dm_state(*f));
    if (!raised && region_touched(fresh, region_flag::kRead, start, bytes)) {
      guard = AccessGuard{};
      PDM_TRY(data_event(dm_event::kRead, f->inode, start, bytes));
      raised = true;
      forget_dm_state(*f);  // the session has normally restored data and cleared regions
      continue;
    }
    if (released_touched(fresh, start, bytes)) {
      return make_error(EIO,
                        "inode {}: bytes [{}, +{}) were released by dm_punch_hole and not "
                        "restored; no managed region asks for them",
                        f->inode.ino, start, bytes);
    }
  }
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

std::optional<FileDmState> FileSystem::cached_dm_state(OpenFile &file, std::uint64_t epoch) {
  if (epoch == OpenFile::kNoEpoch) return std::nullopt;
  std::lock_guard lock(file.size_mutex);
  if (file.dm_epoch != epoch) return std::nullopt;
  return file.dm_state;
}

void FileSystem::learn_dm_state(OpenFile &file, const FileDmState &state, std::uint64_t epoch) {
  if (epoch == OpenFile::kNoEpoch) return;
  std::lock_guard lock(file.size_mutex);
  // Of two answers of the same epoch the later version wins.
  if (file.dm_epoch != epoch || state.version >= file.dm_state.version) {
    file.dm_state = state;
    file.dm_epoch = epoch;
  }
}

void FileSystem::forget_dm_state(OpenFile &file) {
  std::lock_guard lock(file.size_mutex);
  file.dm_epoch = OpenFile::kNoEpoch;
}

Result<FileDmState> FileSystem::fetch_dm_state(OpenFile &file) {
  const std::uint64_t epoch = shrink_epoch();
  PDM_ASSIGN_OR_RETURN(auto got,
                       (meta_call<InodeDm>(dm_state_msg::kGet, InodeRequest{file.inode.ino})));
  learn_size(file, got.inode.size, epoch);
  learn_dm_state(file, got.state, epoch);
  return std::move(got.state);
}

Status FileSystem::data_event(int type, const Inode &inode, std::uint64_t offset,
                              std::uint64_t length) {
  if (gate_ == nullptr) {
    return make_error(EIO, "inode {}: a managed region asks for event {}, and no DM layer runs",
                      inode.ino, type);
  }
  FsEvent event;
  event.type = type;
  event.object1 = {inode.ino, inode.generation};
  event.offset = offset;
  event.length = length;
  return gate_->raise(event, true);
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
  if (offset < 0) {
    PDM_TRY(file(fd));
    return make_error(EINVAL, "negative offset {}", offset);
  }
  const ByteRange whole{static_cast<std::uint64_t>(offset), data.size()};
  return pwrite_extents(fd, {&whole, 1}, data);
}

Result<std::size_t> FileSystem::pwrite_extents(int fd, std::span<const ByteRange> extents,
                                               std::span<const std::byte> data) {
  PDM_ASSIGN_OR_RETURN(auto f, file(fd));
  if ((f->flags & O_ACCMODE) == O_RDONLY) {
    return make_error(EBADF, "file descriptor {} is not open for writing", fd);
  }
  if (data.size() > SSIZE_MAX) return make_error(EINVAL, "write of {} bytes", data.size());
  std::uint64_t total = 0, start = ~std::uint64_t{0}, end = 0;
  for (const ByteRange &extent : extents) {
    if (extent.offset + extent.length < extent.offset ||
        extent.offset + extent.length > static_cast<std::uint64_t>(LLONG_MAX)) {
      return make_error(EFBIG, "write past the largest file offset");
    }
    total += extent.length;
    if (extent.length == 0) continue;
    start = std::min(start, extent.offset);
    end = std::max(end, extent.end());
  }
  if (total != data.size()) {
    return make_error(EINVAL, "{} bytes of data for extents of {} bytes", data.size(), total);
  }
  if (data.empty()) return std::size_t{0};
  auto any_touched = [&](const FileDmState &state, auto touches) {
    return std::any_of(extents.begin(), extents.end(), [&](const ByteRange &extent) {
      return extent.length > 0 && touches(state, extent);
    });
  };
  auto region_write = [](const FileDmState &state, const ByteRange &extent) {
    return region_touched(state, region_flag::kWrite, extent.offset, extent.length);
  };
  auto released = [](const FileDmState &state, const ByteRange &extent) {
    return released_touched(state, extent.offset, extent.length);
  };
  // The WRITE event of a managed region, before any byte is written (once:
  // after the session's CONTINUE the write goes on). A file without regions
  // costs no metadata call here once its state of this epoch is cached.
  FileDmState state;
  AccessGuard guard;
  for (bool raised = false;;) {
    const std::uint64_t checked = shrink_epoch();
    auto cached = cached_dm_state(*f, shrink_epoch());
    bool fresh = !cached;
    if (fresh) {
      PDM_ASSIGN_OR_RETURN(state, fetch_dm_state(*f));
    } else {
      state = std::move(*cached);
    }
    bool touched = !raised && any_touched(state, region_write);
    if (touched && !fresh) {
      PDM_ASSIGN_OR_RETURN(state, fetch_dm_state(*f));
      touched = any_touched(state, region_write);
    }
    if (!touched) {
      // Events first, then the access guard (pfs/object_access.h). A DM
      // application may have changed the file's regions under an EXCL right
      // while this write waited for the guard: then look again.
      PDM_ASSIGN_OR_RETURN(guard, access(f->inode.ino, AccessKind::kModify));
      if (shrink_epoch() == checked) break;
      guard = AccessGuard{};
      forget_dm_state(*f);
      continue;
    }
    if (extents.size() > 1) {
      // Several ranges in a managed region: each raises its own event, as
      // the writes one by one would.
      std::size_t done = 0;
      for (const ByteRange &extent : extents) {
        PDM_ASSIGN_OR_RETURN(const std::size_t n, pwrite(fd, data.subspan(done, extent.length),
                                                         static_cast<std::int64_t>(extent.offset)));
        done += n;
      }
      return done;
    }
    PDM_TRY(data_event(dm_event::kWrite, f->inode, start, end - start));
    raised = true;
    forget_dm_state(*f);
  }
  // The data first, then the size and mtime change (even after a failed
  // write: some bytes may have landed). Whoever sees the new mtime then
  // finds the data in place: pdm-hsm stats a file before it copies it and
  // releases it only if nothing changed since (docs/HSM.md), and an extend
  // applied while the data was still on its way let it copy the file
  // without the new bytes and find nothing changed afterwards.
  const std::uint64_t epoch = shrink_epoch();
  Status written = write_data(*f, extents, data);
  auto extend = engine_.start(metadata_rank(), meta_msg::kExtend,
                              mpi::encode_message(ExtendRequest{f->inode.ino, end}));
  const bool rewrites_released = any_touched(state, released);
  if (f->lazy_size.load(std::memory_order_relaxed) && !rewrites_released) {
    // Lazy size: the update finishes in the background and keeps the access
    // guard until it does (pfs/client/deferred_extends.h). This rank knows
    // the new size at once: its own reads need no metadata call.
    deferred_.add(f->inode.ino, end, std::move(extend), std::move(guard));
    PDM_TRY(written);
    learn_size(*f, end, epoch);
    return data.size();
  }
  auto response = engine_.wait(extend);
  // Cut by a view change: sent again to the next metadata server (extending
  // twice is extending once).
  PDM_ASSIGN_OR_RETURN(auto extended,
                       response.ok() ? mpi::decode_payload<Inode>(response->payload())
                       : response.error().code == ESTALE
                           ? meta_call<Inode>(meta_msg::kExtend, ExtendRequest{f->inode.ino, end})
                           : Result<Inode>(std::move(response).error()));
  PDM_TRY(written);
  learn_size(*f, extended.size, epoch);
  // Written bytes are no longer released; the mark goes only after the data
  // landed, so no reader sees the range unmarked and still punched.
  if (rewrites_released) {
    for (const ByteRange &extent : extents) {
      if (extent.length == 0 || !released(state, extent)) continue;
      PDM_TRY(
          meta_call<InodeDm>(dm_state_msg::kRewritten,
                             RewrittenRequest{f->inode.ino, extent.offset, extent.length, false}));
    }
    forget_dm_state(*f);
  }
  return data.size();
}

Status FileSystem::set_lazy_size(int fd, bool lazy) {
  PDM_ASSIGN_OR_RETURN(auto f, file(fd));
  // The mode changes even when settling reports an earlier write's failed
  // update: that failure is this call's error, reported once.
  Status settled = lazy ? Status{} : deferred_.settle(f->inode.ino);
  f->lazy_size = lazy;
  return settled;
}

Status FileSystem::publish_size(int fd) {
  PDM_ASSIGN_OR_RETURN(auto f, file(fd));
  return deferred_.settle(f->inode.ino);
}

Status FileSystem::publish_all_sizes() {
  return deferred_.settle_all();
}

Result<FileSystem::KnownSize> FileSystem::known_size(int fd) {
  PDM_ASSIGN_OR_RETURN(auto f, file(fd));
  const std::uint64_t epoch = shrink_epoch();
  std::lock_guard lock(f->size_mutex);
  return KnownSize{f->known_epoch == epoch ? f->known_size : 0, epoch};
}

Status FileSystem::learn_size(int fd, KnownSize known) {
  PDM_ASSIGN_OR_RETURN(auto f, file(fd));
  if (known.epoch == shrink_epoch()) learn_size(*f, known.size, known.epoch);
  return {};
}

std::uint64_t FileSystem::size_at_least(OpenFile &file, std::uint64_t told,
                                        std::uint64_t epoch) const {
  std::lock_guard lock(file.size_mutex);
  return file.known_epoch == epoch && epoch != OpenFile::kNoEpoch ? std::max(told, file.known_size)
                                                                  : told;
}

Status FileSystem::write_data(const OpenFile &file, std::span<const ByteRange> extents,
                              std::span<const std::byte> data) {
  failpoint::hit("file_system.write_data");
  for (;;) {
    Status written;
    std::uint64_t faults = nospace_faults_.load();
    while (faults > 0 && !nospace_faults_.compare_exchange_weak(faults, faults - 1)) {
    }
    if (faults > 0) {
      written =
          make_error(ENOSPC, "inode {}: injected ENOSPC (fault.nospace_writes)", file.inode.ino);
    } else {
      written = data_.write_extents(layout_of(file.inode), file.inode.ino, extents, data);
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
  // The TRUNCATE event of a managed region that reaches past the smaller of
  // the two sizes (XFS: offset = the new size, length 0), raised once, before
  // the access guard is taken (pfs/object_access.h); after CONTINUE the
  // truncate goes on with the size the file has then.
  // This rank's lazy-size writes first: a late extend must not undo the cut.
  PDM_TRY(deferred_.settle(ino));
  bool raised = false;
  for (;;) {
    PDM_ASSIGN_OR_RETURN(auto dm, (meta_call<InodeDm>(dm_state_msg::kGet, InodeRequest{ino})));
    auto touched = [&](const InodeDm &now) {
      return !raised && now.inode.is_file() &&
             region_touched(now.state, region_flag::kTruncate, std::min(now.inode.size, length),
                            kToEnd);
    };
    if (touched(dm)) {
      PDM_TRY(data_event(dm_event::kTruncate, dm.inode, length, 0));
      raised = true;
      continue;
    }
    PDM_ASSIGN_OR_RETURN(auto guard, access(ino, AccessKind::kModify));
    // The state and size under the guard: a DM application holding a right
    // may have changed both while this truncate waited.
    PDM_ASSIGN_OR_RETURN(auto now, (meta_call<InodeDm>(dm_state_msg::kGet, InodeRequest{ino})));
    if (touched(now)) continue;
    return truncate_inode(now.inode, length);
  }
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
  PDM_TRY(deferred_.settle(f->inode.ino));
  PDM_TRY(data_.sync(f->inode.ino));
  return meta_status(meta_msg::kSync, mpi::Empty{});
}

Result<Inode> FileSystem::fstat(int fd) {
  PDM_ASSIGN_OR_RETURN(auto f, file(fd));
  PDM_TRY(deferred_.settle(f->inode.ino));
  PDM_ASSIGN_OR_RETURN(auto guard, access(f->inode.ino, AccessKind::kRead));
  const std::uint64_t epoch = shrink_epoch();
  PDM_ASSIGN_OR_RETURN(Inode inode,
                       meta_call<Inode>(meta_msg::kGetattr, InodeRequest{f->inode.ino}));
  inode.size = size_at_least(*f, inode.size, epoch);
  return inode;
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
  if (auto *meta = metadata_service()) return meta->sync();
  return {};
}

}  // namespace pdm::pfs

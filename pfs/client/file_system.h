// FileSystem: this rank's part of a mounted pdm file system and the C++ API
// the C functions of <pdm/pdm.h> call. It owns
//   - the object store of the volumes and the data handlers (every rank),
//   - the metadata service, on the rank that owns the metadata volume,
//   - the client side: the descriptor table, metadata calls to the metadata
//     owner, striped data calls through DataClient.
//
// Consistency: a write goes to the volume owners and the metadata owner
// before pwrite returns, and nothing is cached on the client, so every rank
// sees it as soon as pwrite returns. The size change and the data travel at
// the same time (one round trip, not two); see docs/ARCHITECTURE.md for what
// a crash between the two can leave.
#pragma once

#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "pfs/client/deferred_extends.h"
#include "pfs/config/fs_config.h"
#include "pfs/data/data_client.h"
#include "pfs/data/object_store.h"
#include "pfs/event_gate.h"
#include "pfs/layout.h"
#include "pfs/meta/dm_state.h"
#include "pfs/meta/dm_state_protocol.h"
#include "pfs/meta/meta_service.h"
#include "pfs/object_access.h"
#include "pfs/size_notices.h"
#include "runtime/mpi/retried_call.h"
#include "runtime/mpi/rpc.h"
#include "runtime/mpi/typed_rpc.h"

namespace pdm::pfs {

struct FileSystemOptions {
  std::uint64_t max_request = 8u << 20;              // io.max_request
  std::string direct = "auto";                       // io.direct: auto, on, off
  std::size_t meta_map_size = std::size_t{1} << 30;  // meta.map_size
  // fault.nospace_writes: the first N pwrite calls of this rank fail their
  // data transfer with ENOSPC as a full volume would (tests of the NOSPACE
  // event; there is no small volume to fill deterministically).
  std::uint64_t fault_nospace_writes = 0;
};

// A group open (FileSystem::open_for_group): what the other ranks of the
// group need to install the opens the metadata server counted for them
// (FileSystem::adopt_open), with no metadata call of their own. It travels
// encoded (a message's payload) in the group's broadcast.
struct GroupOpen {
  OpenedDm opened;
  std::int32_t flags = 0;
  std::uint64_t epoch = 0;  // the shrink epoch read before the state was
  auto fields() { return std::tie(opened, flags, epoch); }
};

// A descriptor taken out of the table for a close (FileSystem::begin_close).
struct ClosingOpen {
  Inode inode;
  bool was_read = false;
  bool last_here = false;  // no other descriptor of this rank has the file open
  Status published;        // the first failure of its writes' size updates
};

class FileSystem {
 public:
  // Builds this rank's part and registers its handlers on `engine`, which
  // must not have started yet. Opens the metadata store if this rank owns
  // the metadata volume in the engine's current view.
  static Result<std::unique_ptr<FileSystem>> create(const FsConfig &config, mpi::RpcEngine &engine,
                                                    const FileSystemOptions &options);
  ~FileSystem();

  // Destroys the objects of unlinked files that an earlier job left open
  // (run once per mount, on one rank, after every rank serves requests).
  Status recover_orphans();
  // Makes the metadata durable; called when unmounting.
  Status flush();

  Result<int> open(std::string_view path, int flags, mode_t mode);
  // Opens `path` for every rank in `holders` (live members, each once, this
  // rank among them) with one metadata request, as each rank's open would:
  // this rank's descriptor, and the ticket (an encoded GroupOpen) the
  // others pass to adopt_open. An MPI file's collective open costs the
  // metadata server one request, not one per rank. O_TRUNC is refused
  // (EINVAL): no holder would have truncated.
  Result<std::pair<int, std::vector<std::byte>>> open_for_group(std::string_view path, int flags,
                                                                mode_t mode,
                                                                std::span<const int> holders);
  // This rank's descriptor for a group open another rank made for it, from
  // its ticket; each holder closes its descriptor as after its own open.
  Result<int> adopt_open(std::span<const std::byte> ticket);
  // close(fd) in steps, so that one request can close a group open for all
  // its ranks (the MPI-IO shim's collective close):
  //   - begin_close on every rank: the descriptor is gone and its writes'
  //     size updates are settled (their first failure in `published`);
  //   - finish_close, on one rank for all `holders` (empty: this rank
  //     alone), once every rank began: one metadata request ends the opens
  //     (was_read if any rank read), raises this rank's CLOSE event, and
  //     destroys the file if that was its last use;
  //   - raise_close_event on the other ranks, after it: their CLOSE events.
  Result<ClosingOpen> begin_close(int fd);
  Status finish_close(const ClosingOpen &closing, bool was_read, std::span<const int> holders);
  // XDSM CLOSE for a close that ended this rank's last open of the file.
  void raise_close_event(const ClosingOpen &closing);
  Status close(int fd);
  Result<std::size_t> pread(int fd, std::span<std::byte> buffer, std::int64_t offset);
  // One read of the file ranges `extents` into `buffer`, one after the other
  // (their lengths add up to buffer.size()), as pread of each would: the
  // bytes read are a prefix, ending where the file ends inside a range. One
  // access guard, one size check and the data requests of all ranges in
  // flight at once (DataClient::read_extents). Ranges in a managed region
  // or over released bytes are read one by one, each raising its own READ.
  Result<std::size_t> pread_extents(int fd, std::span<const ByteRange> extents,
                                    std::span<std::byte> buffer);
  Result<std::size_t> pwrite(int fd, std::span<const std::byte> data, std::int64_t offset);
  // One write of `data` to the file ranges `extents`, one after the other
  // (their lengths add up to data.size()), as pwrite of each would, with
  // one access guard, one size update and the data requests of all ranges
  // in flight at once. Ranges in a managed region are written one by one,
  // each raising its own WRITE event.
  Result<std::size_t> pwrite_extents(int fd, std::span<const ByteRange> extents,
                                     std::span<const std::byte> data);
  Status ftruncate(int fd, std::int64_t length);
  Status fsync(int fd);
  // Lazy size (pfs/client/deferred_extends.h): this descriptor's writes
  // return before the metadata server applied their size and mtime change;
  // other ranks see it once this rank settles (publish_size, fsync, close).
  // Turning it off settles first; the mode changes even if that reports an
  // earlier update's failure (the error returned).
  Status set_lazy_size(int fd, bool lazy);
  // Waits until the size and mtime of every earlier write of this rank to
  // the descriptor's file are published; the first failure to publish one.
  Status publish_size(int fd);
  // publish_size for every file; before the engine stops.
  Status publish_all_sizes();
  // What this rank knows of the file's size without asking: the largest
  // size it learned (its own writes' ends included) under the shrink epoch
  // it names. A size learned under the current epoch is one the file has at
  // least: every shrink starts a new epoch before it returns.
  struct KnownSize {
    std::uint64_t size = 0;
    std::uint64_t epoch = 0;
  };
  Result<KnownSize> known_size(int fd);
  // Takes a size another rank knows (KnownSize of theirs, with this rank's
  // epoch read before asking them): this rank's reads and fstat then see at
  // least that size without waiting for the metadata server to apply the
  // writes' size updates still in flight (the MPI-IO shim's collective
  // writes). Ignored if a shrink started a new epoch since.
  Status learn_size(int fd, KnownSize known);
  Result<Inode> fstat(int fd);
  // The bytes per stripe unit of the descriptor's file (fixed at its
  // creation; no metadata call).
  Result<std::uint32_t> stripe_size(int fd);
  Result<Inode> stat(std::string_view path);
  Status truncate(std::string_view path, std::int64_t length);
  Status unlink(std::string_view path);
  Status rename(std::string_view from, std::string_view to);
  Status mkdir(std::string_view path, mode_t mode);
  Status rmdir(std::string_view path);
  // The entries of a directory in name order, at most max_entries after `after`.
  Result<std::vector<DirEntry>> readdir(std::string_view path, std::string_view after,
                                        std::size_t max_entries);
  // dm_set_fileattr: sets what `change` and `ctime` name on the object
  // (ino, generation) and nothing else (no implicit times, no event: XFS
  // raises none for DMAPI calls). A size change trims the objects first, as
  // truncate does, and a shrink is announced before it returns.
  Result<Inode> dm_set_attr(InodeNumber ino, std::uint64_t generation, const AttrChange &change,
                            std::optional<TimeNs> ctime);
  Result<std::vector<VolumeUsage>> volume_usage();
  // The inode of a number (dm handles name inodes, not paths).
  Result<Inode> getattr(InodeNumber ino);
  // Per-file DM event lists, kept persistent by the metadata owner; the DM
  // layer replicates them. ESTALE when the generation is gone.
  Status set_eventlist(InodeNumber ino, std::uint64_t generation, std::uint64_t events);
  Result<std::vector<StoredEventList>> eventlists();
  Result<StoreStats> metadata_stats();

  // ---- DMAPI data operations (file_system_dm.cpp). A file is named by its
  // inode number and generation (a DM handle); EBADF if no such file exists.
  // The DM access right XDSM asks for (DM_RIGHT_SHARED/EXCL) is the C
  // layer's to check (runtime/dmapi); these take no access guard.
  // The file's managed regions and released ranges.
  Result<InodeDm> dm_state(InodeNumber ino, std::uint64_t generation);
  // Replaces the file's managed regions; when it returns, every rank routes
  // its reads, writes and truncates by the new set.
  Status set_regions(InodeNumber ino, std::uint64_t generation, std::vector<ManagedRegion> regions);
  // Invisible I/O: no events, regions ignored, times unchanged; a write may
  // extend the file and makes its range no longer released.
  Result<std::size_t> read_invisible(InodeNumber ino, std::uint64_t generation,
                                     std::uint64_t offset, std::span<std::byte> buffer);
  Result<std::size_t> write_invisible(InodeNumber ino, std::uint64_t generation,
                                      std::uint64_t offset, std::span<const std::byte> data,
                                      bool sync);
  // dm_punch_hole: [offset, offset + length) (length 0: to the end of the
  // file) must be aligned as probe_hole returns it (EAGAIN otherwise; E2BIG
  // past the end). The range becomes released, every rank learns it, then
  // the volumes free the space.
  Status punch_hole(InodeNumber ino, std::uint64_t generation, std::uint64_t offset,
                    std::uint64_t length);
  // dm_probe_hole: the part of the range punch_hole would free (length 0: to the end).
  Result<ByteRange> probe_hole(InodeNumber ino, std::uint64_t generation, std::uint64_t offset,
                               std::uint64_t length);
  // The file's bytes from `from` to its end as alternating data/hole extents.
  struct Extent {
    bool data = false;
    std::uint64_t offset = 0;
    std::uint64_t length = 0;
  };
  Result<std::vector<Extent>> extents(InodeNumber ino, std::uint64_t generation,
                                      std::uint64_t from);
  // Flushes the file's objects and the metadata to stable storage.
  Status sync_object(InodeNumber ino, std::uint64_t generation);
  // The granularity of punch_hole and probe_hole.
  static constexpr std::uint64_t kPunchBlock = 4096;

  // POSIX view of an inode.
  struct stat to_stat(const Inode &inode) const;
  Layout layout_of(const Inode &inode) const;
  const FsConfig &config() const { return config_; }
  // The rank serving a volume, and the metadata, in the current view.
  int owner_of_volume(std::uint32_t volume) const;
  int metadata_rank() const;
  // A call to the metadata server, sent again across view changes to the
  // next server under one operation id (pfs/meta/reply_journal.h): applied
  // once, answered once. ESTALE only after kMetadataRetryLimit.
  static constexpr std::chrono::seconds kMetadataRetryLimit{30};
  Result<mpi::Response> call_metadata(mpi::MsgType type, std::span<const std::byte> payload);
  template <typename Resp, typename Req>
  Result<Resp> meta_call(mpi::MsgType type, const Req &request) {
    const mpi::Encoder encoded = mpi::encode_message(request);
    PDM_ASSIGN_OR_RETURN(
        auto response, call_metadata(type, std::span(encoded.bytes()).subspan(mpi::Header::kSize)));
    return mpi::decode_payload<Resp>(response.payload());
  }
  template <typename Req>
  Status meta_status(mpi::MsgType type, const Req &request) {
    PDM_ASSIGN_OR_RETURN(auto response, (meta_call<mpi::Empty>(type, request)));
    (void)response;
    return {};
  }
  // Non-null on the rank that serves the metadata.
  MetaService *metadata_service() { return served_.load(std::memory_order_acquire); }
  // Failure handling (issue #4), on the progress thread after a view change:
  // the metadata volume's new owner opens the metadata store (its previous
  // owner died; LMDB's robust locks let the dead process's lock state go) and
  // serves it from then on. The serving rank also ends the opens of ranks
  // no longer in the view.
  Status take_over_metadata();
  // The DM layer's gate for events (null: no events are raised).
  void set_event_gate(EventGate *gate) { gate_ = gate; }
  // Announces shrinks cluster-wide, so clients may cache sizes (null: every
  // read asks the metadata owner for the size).
  void set_size_notices(SizeNotices *notices) { notices_ = notices; }
  // The DM layer's access rights (null: nothing excludes an operation).
  void set_object_access(ObjectAccess *access) { access_ = access; }
  // Tests only: runs in pread after the DM state was checked and right
  // before the data is read, so a test can put a dm_punch_hole exactly there.
  void set_read_window_hook(std::function<void()> hook) { read_window_hook_ = std::move(hook); }

 private:
  // The metadata server's open (one holder: this rank; else a group's) and
  // what installing it needs.
  Result<GroupOpen> open_counted(std::string_view path, int flags, mode_t mode,
                                 std::span<const int> holders);
  int install_open(const GroupOpen &opened);
  struct OpenFile {
    Inode inode;  // as of open; size and times are fetched fresh, or from the cache below
    int flags = 0;
    std::atomic<bool> was_read{false};
    std::atomic<bool> lazy_size{false};  // see set_lazy_size
    // A size the file had at least, learned under shrink epoch known_epoch
    // (see SizeNotices); kNoEpoch = nothing cached.
    static constexpr std::uint64_t kNoEpoch = ~std::uint64_t{0};
    std::mutex size_mutex;
    std::uint64_t known_size = 0;
    std::uint64_t known_epoch = kNoEpoch;
    // The file's DM data state (regions, released ranges) as learned under
    // shrink epoch dm_epoch: dm_set_region and dm_punch_hole bump the epoch
    // before they return, so a state of the current epoch has every region
    // and release that any completed call made (kNoEpoch = nothing cached).
    FileDmState dm_state;
    std::uint64_t dm_epoch = kNoEpoch;
  };

  FileSystem(const FsConfig &config, mpi::RpcEngine &engine, const FileSystemOptions &options);
  Result<std::shared_ptr<OpenFile>> file(int fd);
  // Destroys an inode that lost its last name and opener: objects, then record.
  Status destroy(const Unlinked &gone);
  // Sets the size of a file whose inode (size included) is current; the
  // caller holds its modify guard and raised its TRUNCATE event.
  Status truncate_inode(const Inode &inode, std::uint64_t length);
  // The asynchronous ATTRIBUTE event after an inode attribute change by a
  // file operation (XFS raises it at the end of every setattr but DMAPI's).
  void attribute_event(const Inode &inode);
  // A truncate: the TRUNCATE event of a managed region first, then the
  // modify guard, then the size and state fetched under it.
  Status truncate_guarded(InodeNumber ino, std::uint64_t length);
  // Waits while a DM access right excludes the operation on the object, and
  // holds its place in flight until the guard goes (pfs/object_access.h).
  Result<AccessGuard> access(InodeNumber ino, AccessKind kind);
  // The same for operations that name their objects by path (unlink,
  // rename, rmdir): paths that do not resolve get no guard (the operation
  // fails by itself).
  Result<std::vector<AccessGuard>> access_paths(std::initializer_list<std::string_view> paths,
                                                AccessKind kind);
  bool wanted(int type) const { return gate_ != nullptr && gate_->wanted(type); }
  // The shrink epoch now (kNoEpoch without notices: never cache).
  std::uint64_t shrink_epoch() const;
  // True if [start, end) lies inside a size still valid for this open file.
  bool inside_known_size(OpenFile &file, std::uint64_t end) const;
  // max(told, the size this rank knows under `epoch`) when that is the
  // file's epoch still.
  std::uint64_t size_at_least(OpenFile &file, std::uint64_t told, std::uint64_t epoch) const;
  // Records a size learned under `epoch` (read before the call that returned it).
  static void learn_size(OpenFile &file, std::uint64_t size, std::uint64_t epoch);
  // The cached DM data state if it belongs to `epoch`.
  static std::optional<FileDmState> cached_dm_state(OpenFile &file, std::uint64_t epoch);
  static void learn_dm_state(OpenFile &file, const FileDmState &state, std::uint64_t epoch);
  static void forget_dm_state(OpenFile &file);
  // Asks the metadata owner for the file's state and caches it.
  Result<FileDmState> fetch_dm_state(OpenFile &file);
  // Raises a synchronous data event for the file and waits for the answer
  // (EIO when there is no DM layer to raise it).
  Status data_event(int type, const Inode &inode, std::uint64_t offset, std::uint64_t length);
  // The inode a DM handle names (EBADF if it does not exist any more).
  Result<Inode> inode_of(InodeNumber ino, std::uint64_t generation);
  // Tells every rank to drop the file state it cached (the shrink epoch).
  Status announce_dm_change();
  // The parent directory of `path` and the last name, for a namespace event.
  Result<std::pair<EventObject, std::string>> parent_object(std::string_view path);
  // Raises a synchronous pre-operation event if wanted (its error aborts the operation).
  Status pre_event(int type, std::string_view path, std::uint32_t mode,
                   std::string_view path2 = {});
  // Writes the data of a pwrite; on ENOSPC raises NOSPACE (synchronous) when
  // wanted and retries for as long as the session answers CONTINUE.
  Status write_data(const OpenFile &file, std::span<const ByteRange> extents,
                    std::span<const std::byte> data);
  // Raises the asynchronous post-operation event, if wanted, with the outcome.
  void post_event(int type, std::string_view path, EventObject child, std::uint32_t mode,
                  int retcode, std::string_view path2 = {});

  FsConfig config_;
  mpi::RpcEngine &engine_;
  FileSystemOptions options_;
  ObjectStore objects_;
  DataClient data_;
  std::unique_ptr<MetaService> meta_;
  // meta_ for the handlers, which also run in application threads (local
  // calls) while a view change may set it on the progress thread.
  std::atomic<MetaService *> served_{nullptr};
  EventGate *gate_ = nullptr;
  SizeNotices *notices_ = nullptr;
  ObjectAccess *access_ = nullptr;
  std::atomic<std::uint64_t> nospace_faults_{0};  // fault.nospace_writes left
  DeferredExtends deferred_;                      // the lazy-size writes' updates
  std::function<void()> read_window_hook_;

  std::mutex files_mutex_;
  std::unordered_map<int, std::shared_ptr<OpenFile>> files_;
  int next_fd_ = 3;  // like POSIX, skip the numbers of stdin/stdout/stderr
};

}  // namespace pdm::pfs

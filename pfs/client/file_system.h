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
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "pfs/config/fs_config.h"
#include "pfs/data/data_client.h"
#include "pfs/data/object_store.h"
#include "pfs/event_gate.h"
#include "pfs/layout.h"
#include "pfs/meta/meta_service.h"
#include "pfs/object_access.h"
#include "pfs/size_notices.h"
#include "runtime/mpi/rpc.h"

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
  Status close(int fd);
  Result<std::size_t> pread(int fd, std::span<std::byte> buffer, std::int64_t offset);
  Result<std::size_t> pwrite(int fd, std::span<const std::byte> data, std::int64_t offset);
  Status ftruncate(int fd, std::int64_t length);
  Status fsync(int fd);
  Result<Inode> fstat(int fd);
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

  // POSIX view of an inode.
  struct stat to_stat(const Inode &inode) const;
  Layout layout_of(const Inode &inode) const;
  const FsConfig &config() const { return config_; }
  // The rank serving a volume, and the metadata, in the current view.
  int owner_of_volume(std::uint32_t volume) const;
  int metadata_rank() const;
  // Non-null on the rank that serves the metadata.
  MetaService *metadata_service() { return meta_.get(); }
  // The DM layer's gate for events (null: no events are raised).
  void set_event_gate(EventGate *gate) { gate_ = gate; }
  // Announces shrinks cluster-wide, so clients may cache sizes (null: every
  // read asks the metadata owner for the size).
  void set_size_notices(SizeNotices *notices) { notices_ = notices; }
  // The DM layer's access rights (null: nothing excludes an operation).
  void set_object_access(ObjectAccess *access) { access_ = access; }

 private:
  struct OpenFile {
    Inode inode;  // as of open; size and times are fetched fresh, or from the cache below
    int flags = 0;
    std::atomic<bool> was_read{false};
    // A size the file had at least, learned under shrink epoch known_epoch
    // (see SizeNotices); kNoEpoch = nothing cached.
    static constexpr std::uint64_t kNoEpoch = ~std::uint64_t{0};
    std::mutex size_mutex;
    std::uint64_t known_size = 0;
    std::uint64_t known_epoch = kNoEpoch;
  };

  FileSystem(const FsConfig &config, mpi::RpcEngine &engine, const FileSystemOptions &options);
  Result<std::shared_ptr<OpenFile>> file(int fd);
  // Destroys an inode that lost its last name and opener: objects, then record.
  Status destroy(const Unlinked &gone);
  Status truncate_inode(const Inode &inode, std::uint64_t length);
  // The asynchronous ATTRIBUTE event after an inode attribute change by a
  // file operation (XFS raises it at the end of every setattr but DMAPI's).
  void attribute_event(const Inode &inode);
  // Truncates under a modify guard, with the size fetched once the guard holds.
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
  // Records a size learned under `epoch` (read before the call that returned it).
  static void learn_size(OpenFile &file, std::uint64_t size, std::uint64_t epoch);
  // The parent directory of `path` and the last name, for a namespace event.
  Result<std::pair<EventObject, std::string>> parent_object(std::string_view path);
  // Raises a synchronous pre-operation event if wanted (its error aborts the operation).
  Status pre_event(int type, std::string_view path, std::uint32_t mode,
                   std::string_view path2 = {});
  // Writes the data of a pwrite; on ENOSPC raises NOSPACE (synchronous) when
  // wanted and retries for as long as the session answers CONTINUE.
  Status write_data(const OpenFile &file, std::uint64_t start, std::span<const std::byte> data);
  // Raises the asynchronous post-operation event, if wanted, with the outcome.
  void post_event(int type, std::string_view path, EventObject child, std::uint32_t mode,
                  int retcode, std::string_view path2 = {});
  template <typename Resp, typename Req>
  Result<Resp> meta_call(std::uint16_t type, const Req &request);
  template <typename Req>
  Status meta_status(std::uint16_t type, const Req &request);

  FsConfig config_;
  mpi::RpcEngine &engine_;
  FileSystemOptions options_;
  ObjectStore objects_;
  DataClient data_;
  std::unique_ptr<MetaService> meta_;
  EventGate *gate_ = nullptr;
  SizeNotices *notices_ = nullptr;
  ObjectAccess *access_ = nullptr;
  std::atomic<std::uint64_t> nospace_faults_{0};  // fault.nospace_writes left

  std::mutex files_mutex_;
  std::unordered_map<int, std::shared_ptr<OpenFile>> files_;
  int next_fd_ = 3;  // like POSIX, skip the numbers of stdin/stdout/stderr
};

}  // namespace pdm::pfs

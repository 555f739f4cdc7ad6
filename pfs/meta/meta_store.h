// MetaStore: the file system's metadata in LMDB (one environment directory on
// the metadata volume). Every mutation is one LMDB write transaction, so a
// SIGKILL at any moment leaves either the old or the new state, never half.
//
// Only the rank that owns the metadata volume opens the store, so it is
// opened with MDB_NOLOCK: there is no LMDB lock state that a dead process
// could leave behind to block a successor (failure handling, issue #4). The
// class serialises its own callers with a mutex (the progress thread and
// local calls share it). Writes are not fsynced per transaction (MDB_NOSYNC):
// a killed process loses nothing that LMDB committed (the page cache has it);
// sync() makes everything durable against a machine crash (pdm_fsync, unmount).
//
// Databases: "inodes" (ino -> Inode), "dentries" (parent ino + name -> child),
// "orphans" (unlinked inodes whose objects are not yet destroyed), "meta"
// (counters, format), "parents" (directory -> its parent, so rename can
// refuse to move a directory into its own subtree), "dmattrs" (ino + DM
// attribute name -> value, XDSM dm_set_dmattr; they go with their inode),
// "eventlists" (per-file DM event lists) and "regions" (ino -> FileDmState:
// managed regions and released ranges, see dm_state.h).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pfs/meta/dm_state.h"
#include "pfs/meta/inode.h"
#include "runtime/base/result.h"

namespace pdm::pfs {

struct MetaStoreOptions {
  std::string dir;  // LMDB environment directory (created if missing)
  std::size_t map_size = std::size_t{1} << 30;
  std::uint32_t default_stripe_size = 1u << 20;
  std::uint32_t volume_count = 1;  // new files start on ino % volume_count
};

struct Created {
  Inode inode;
  bool created = false;  // false: the name existed and the call was not exclusive
};

// The attributes set_attr may change; unset fields stay as they are.
struct AttrChange {
  std::optional<std::uint64_t> size;
  std::optional<std::uint32_t> mode;  // permission bits only; the type never changes
  std::optional<std::uint32_t> uid;
  std::optional<std::uint32_t> gid;
  std::optional<TimeNs> atime;
  std::optional<TimeNs> mtime;
};

struct RenameOutcome {
  Inode moved;                    // the renamed inode (ctime updated)
  std::optional<Inode> replaced;  // a file the rename replaced (now nlink 0, an orphan)
};

// DM attributes (XDSM dm_set_dmattr): a name of 1 to 8 bytes without NUL
// (DM_ATTR_NAME_SIZE; the C layer cuts a shorter name at its first NUL) and
// an opaque value.
inline constexpr std::size_t kMaxDmAttrName = 8;
// DM_CONFIG_MAX_ATTRIBUTE_SIZE: one value fits one wire string (mpi::kMaxString).
inline constexpr std::size_t kMaxDmAttrValue = 64 * 1024;
// DM_CONFIG_TOTAL_ATTRIBUTE_SPACE: names and values of one object together,
// so dm_getall_dmattr is always one response of bounded size.
inline constexpr std::size_t kMaxDmAttrSpace = 1024 * 1024;

struct DmAttr {
  std::string name;
  std::string value;
  bool operator==(const DmAttr &) const = default;
};

// One entry of dm_get_dirattrs: the name, the child's inode, and whether it
// has DM attributes (dt_pers).
struct DirAttrsEntry {
  std::string name;
  Inode inode;
  bool has_dmattrs = false;
};

struct DirAttrsPage {
  std::vector<DirAttrsEntry> entries;
  bool more = false;  // entries remain after these
};

// A per-file DM event list as the "eventlists" database keeps it (the DM
// layer's; pfs only stores it and drops it with the inode).
struct StoredEventList {
  InodeNumber ino = 0;
  std::uint64_t generation = 0;
  std::uint64_t events = 0;  // dm_eventset_t
};

// An inode with its DM data state (managed regions, released ranges).
struct InodeDm {
  Inode inode;
  FileDmState state;
};

struct StoreStats {
  std::uint64_t inodes = 0;  // inode records, orphans included
  std::uint64_t orphans = 0;
  std::uint64_t next_ino = 0;
};

class MetaStore {
 public:
  // Opens (creating if new) the store; a new store gets the root directory
  // (ino 1, mode S_IFDIR|0755, uid/gid of the caller).
  static Result<std::unique_ptr<MetaStore>> open(const MetaStoreOptions &options);
  ~MetaStore();
  MetaStore(const MetaStore &) = delete;
  MetaStore &operator=(const MetaStore &) = delete;

  Result<Inode> get(InodeNumber ino);
  // ENOENT if absent, ENOTDIR if parent is not a directory.
  Result<Inode> lookup(InodeNumber parent, std::string_view name);
  // Walks components from the root: ENOENT, ENOTDIR (a file in the middle).
  Result<Inode> resolve(std::span<const std::string> components);

  // A regular file. Exclusive: EEXIST if the name exists. Not exclusive: an
  // existing regular file is returned with created=false; a directory is EISDIR.
  Result<Created> create(InodeNumber parent, std::string_view name, std::uint32_t mode,
                         std::uint32_t uid, std::uint32_t gid, bool exclusive);
  // EEXIST if the name exists.
  Result<Inode> mkdir(InodeNumber parent, std::string_view name, std::uint32_t mode,
                      std::uint32_t uid, std::uint32_t gid);
  // Removes a non-directory entry (EISDIR for a directory); the inode's nlink
  // drops and at 0 it becomes an orphan. Returns the inode after the change.
  Result<Inode> unlink(InodeNumber parent, std::string_view name);
  // ENOTDIR, ENOTEMPTY; the directory's record is deleted at once.
  Status rmdir(InodeNumber parent, std::string_view name);
  // POSIX rename(2): replaces an existing target file (which becomes an
  // orphan) or empty directory; EINVAL for a directory moved into its own
  // subtree; EISDIR / ENOTDIR / ENOTEMPTY as rename(2) says. Renaming onto
  // itself is a no-op.
  Result<RenameOutcome> rename(InodeNumber src_parent, std::string_view src_name,
                               InodeNumber dst_parent, std::string_view dst_name);
  // Sets attributes, updates ctime; a size change updates mtime too, and a
  // shrink forgets the released ranges past the new end (the bytes there are
  // gone, and a later growth legitimately reads as zeros).
  Result<Inode> set_attr(InodeNumber ino, const AttrChange &change);
  // After a write ending at `end`: size = max(size, end), mtime = ctime = when.
  Result<Inode> extend(InodeNumber ino, std::uint64_t end, TimeNs when);
  // Entries of a directory in name order, strictly after `after` ("" = from
  // the start), at most max_entries.
  Result<std::vector<DirEntry>> readdir(InodeNumber dir, std::string_view after,
                                        std::size_t max_entries);

  // The DM data state of a file (empty if it never had one); ENOENT if the
  // inode does not exist.
  Result<InodeDm> dm_state(InodeNumber ino);
  // Changes a file's DM data state, and maybe its inode, in one transaction:
  // `change` edits both and returns true if it changed the state (its
  // version is then bumped); a changed inode is stored too. EINVAL for a
  // directory (regions and released ranges belong to regular files).
  Result<InodeDm> update_dm_state(InodeNumber ino,
                                  const std::function<bool(FileDmState &, Inode &)> &change);

  // Orphans are inodes with nlink 0 whose data objects still exist.
  Result<std::vector<InodeNumber>> orphans();
  // Deletes an orphan's record once its objects are destroyed (EBUSY if nlink > 0).
  Status forget(InodeNumber ino);

  // ---- The DM layer's view (XDSM attribute functions). Objects are named
  // by inode number and generation, as handles name them: EBADF when no such
  // object exists (any more), XDSM's error for a stale handle. Each call is
  // one transaction; DM attributes are deleted with their inode (forget,
  // rmdir, a rename replacing a directory).

  // The object's inode and whether it has DM attributes.
  Result<std::pair<Inode, bool>> get_object(InodeNumber ino, std::uint64_t generation);
  // Creates or replaces a DM attribute. EINVAL for a bad name; E2BIG for a
  // value over kMaxDmAttrValue or an object's attributes over kMaxDmAttrSpace.
  // `set_dtime`: pdm overloads dtime onto ctime (DM_CONFIG_DTIME_OVERLOAD), so
  // ctime becomes now in the same transaction.
  Status set_dmattr(InodeNumber ino, std::uint64_t generation, std::string_view name,
                    std::string_view value, bool set_dtime);
  // ENOENT if the object has no attribute of that name.
  Result<std::string> get_dmattr(InodeNumber ino, std::uint64_t generation, std::string_view name);
  Status remove_dmattr(InodeNumber ino, std::uint64_t generation, std::string_view name,
                       bool set_dtime);
  // All DM attributes of the object, in name order.
  Result<std::vector<DmAttr>> list_dmattrs(InodeNumber ino, std::uint64_t generation);
  // dm_set_fileattr: sets exactly what `change` and `ctime` name. Unlike
  // set_attr no time changes implicitly (as XFS does for DMAPI calls: an HSM
  // restoring a file must not make it look modified). No event.
  Result<Inode> dm_set_attr(InodeNumber ino, std::uint64_t generation, const AttrChange &change,
                            std::optional<TimeNs> ctime);
  // dm_get_dirattrs: after skipping `skip` entries of the directory in name
  // order, at most max_entries entries. ENOTDIR for a non-directory.
  Result<DirAttrsPage> dir_attrs(InodeNumber dir, std::uint64_t generation, std::uint64_t skip,
                                 std::size_t max_entries);
  // dm_handle_to_path: "/a/b/name" where `name` is target's entry in `dir`
  // ("/..." of the directory itself when target is dir). ENOTDIR if dir is
  // not a directory, ENOENT if no entry of dir links target.
  Result<std::string> path_of(InodeNumber dir, std::uint64_t dir_generation, InodeNumber target,
                              std::uint64_t target_generation);

  Result<StoreStats> stats();

  // Per-file event lists: set (ENOENT for no such inode, ESTALE for another
  // generation) and list all. A list goes when its inode's record goes
  // (forget, rmdir).
  Status set_eventlist(InodeNumber ino, std::uint64_t generation, std::uint64_t events);
  Result<std::vector<StoredEventList>> eventlists();

  // The reply journal (reply_journal.h): which operations (client, seq)
  // were applied, with the reply each got, kept in the store so that a
  // server taking over after a death answers a repeated attempt the way the
  // dead one did.
  struct RecordedReply {
    std::int32_t status = 0;
    std::string message;
    mpi::Bytes payload;
  };
  // One operation being applied on this thread. While it is alive, every
  // write transaction the thread begins on this store is nested in one
  // transaction of the operation's, and reads see its changes; finish()
  // commits them all together with the operation's reply, in one LMDB
  // commit. So a server that dies at any point has applied the operation
  // with its reply recorded, or not at all: never half of it, never without
  // its reply. From the operation's first write until it ends, it holds the
  // store: other threads' calls wait (operations are short; they make no
  // call outside the store).
  class ApplyingOp {
   public:
    ApplyingOp(MetaStore &store, std::uint64_t client, std::uint64_t seq);
    // Undoes whatever finish() did not commit.
    ~ApplyingOp();
    ApplyingOp(const ApplyingOp &) = delete;
    ApplyingOp &operator=(const ApplyingOp &) = delete;
    // Whether a write of the operation has been made (and not undone).
    bool applied() const { return applied_; }
    // Commits the operation's writes with `reply` recorded for it; nothing
    // to do if it made none. On an error nothing of it was applied.
    Status finish(const RecordedReply &reply);

   private:
    friend class MetaStore;
    struct OpenTxn;
    MetaStore &store_;
    std::uint64_t client_;
    std::uint64_t seq_;
    bool applied_ = false;
    ApplyingOp *outer_;
    std::unique_ptr<OpenTxn> open_;
  };
  Result<std::optional<RecordedReply>> find_reply(std::uint64_t client, std::uint64_t seq);
  // Records a reply by itself (ApplyingOp::finish records one with its
  // operation); both forget the client's operations older than its last
  // kReplyWindow.
  Status record_reply(std::uint64_t client, std::uint64_t seq, const RecordedReply &reply);
  // Opens, per inode and holding rank (MetaService): counted in the store
  // so that they survive the server. drop_open: EBADF if the rank holds no
  // open of the inode.
  Status add_open(InodeNumber ino, int holder);
  // One open of each of `holders` (a group open), in one transaction.
  Status add_opens(InodeNumber ino, std::span<const int> holders);
  Status drop_open(InodeNumber ino, int holder);
  // One open of each of `holders` (a group close), in one transaction:
  // EBADF, and none dropped, if one of them holds no open of the inode.
  Status drop_opens(InodeNumber ino, std::span<const int> holders);
  Result<bool> is_open(InodeNumber ino);
  // Ends the opens of every rank not in `live` (they died with it).
  Status drop_opens_except(std::span<const int> live);

  // Forgets every reply and every open: a new job mounting the file system
  // has no attempt of an earlier job to answer and no open of its own yet.
  Status start_job();
  static constexpr std::uint64_t kReplyWindow = 4096;

  // Makes every committed transaction durable (mdb_env_sync with force).
  Status sync();

  // Full scans, for fsck, in one read transaction. `visit` runs with the
  // store's mutex held and must not call back into the store.
  Status for_each_inode(const std::function<void(const Inode &)> &visit);
  Status for_each_dentry(const std::function<void(InodeNumber parent, std::string_view name,
                                                  InodeNumber child)> &visit);

 private:
  struct Impl;
  explicit MetaStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace pdm::pfs

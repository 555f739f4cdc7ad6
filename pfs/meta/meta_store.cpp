#include "pfs/meta/meta_store.h"

#include <lmdb.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <mutex>
#include <system_error>

#include "pfs/meta/lmdb_txn.h"
#include "runtime/base/failpoint.h"
#include "runtime/mpi/fields.h"

namespace pdm::pfs {
namespace {

// The on-disk format of the store, kept in the "format" record of "meta".
constexpr std::uint32_t kStoreFormat = 1;
constexpr unsigned kMaxDbs = 16;
constexpr std::size_t kInoKeySize = 8;
constexpr const char *kFormatKey = "format";
constexpr const char *kNextInoKey = "next_ino";
constexpr const char *kNextGenerationKey = "next_generation";
// The (empty) value of an orphans record; LMDB is not handed a null pointer.
constexpr std::byte kNoValueByte[1] = {};
constexpr std::span<const std::byte> kNoValue(kNoValueByte, 0);

// Inode numbers in keys are big-endian, so a cursor walks inodes in numeric
// order and a directory's entries (parent ino + name) are contiguous and in
// name order. Values go through mpi::Encoder like everything else pdm stores.
std::string ino_key(InodeNumber ino) {
  std::string key(kInoKeySize, '\0');
  for (std::size_t i = 0; i < kInoKeySize; ++i) {
    key[i] = static_cast<char>((ino >> (8 * (kInoKeySize - 1 - i))) & 0xffu);
  }
  return key;
}

std::string dentry_key(InodeNumber parent, std::string_view name) {
  std::string key = ino_key(parent);
  key.append(name);
  return key;
}

InodeNumber ino_of_key(std::string_view key) {
  InodeNumber ino = 0;
  for (std::size_t i = 0; i < kInoKeySize; ++i) {
    ino = (ino << 8) | static_cast<unsigned char>(key[i]);
  }
  return ino;
}

std::string reply_key(std::uint64_t client, std::uint64_t seq) {
  return ino_key(client) + ino_key(seq);
}

// The leading byte is 1: it once told a reply from an "applied, reply not
// yet recorded" mark, which ApplyingOp made unnecessary.
mpi::Bytes encode_reply(const MetaStore::RecordedReply &reply) {
  mpi::Encoder out;
  out.put(std::uint8_t{1}).put(reply.status).put_string(reply.message);
  out.put_raw(reply.payload);
  return std::move(out).take();
}

mpi::Bytes encode_u64(std::uint64_t value) {
  mpi::Encoder out;
  out.put(value);
  return std::move(out).take();
}

// A name that may appear in a directory: POSIX forbids '/' and NUL, and "."
// and ".." are never stored (readdir does not list them).
Status validate_name(std::string_view name) {
  if (name.empty()) return make_error(EINVAL, "empty file name");
  if (name.size() > kMaxNameLength) {
    return make_error(ENAMETOOLONG, "file name of {} bytes exceeds the limit of {}", name.size(),
                      kMaxNameLength);
  }
  if (name == "." || name == "..") {
    return make_error(EINVAL, "{:?}: not a name a directory entry can have", name);
  }
  if (name.find_first_of(std::string_view("/\0", 2)) != std::string_view::npos) {
    return make_error(EINVAL, "{:?}: a file name may not contain '/' or NUL", name);
  }
  return {};
}

}  // namespace

struct MetaStore::Impl {
  MetaStoreOptions options;
  MDB_env *env = nullptr;
  MDB_dbi inodes = 0;
  MDB_dbi dentries = 0;
  MDB_dbi orphans = 0;
  MDB_dbi meta = 0;
  MDB_dbi parents = 0;     // directory ino -> parent ino (the root is its own parent)
  MDB_dbi dmattrs = 0;     // ino + DM attribute name -> value
  MDB_dbi eventlists = 0;  // ino -> generation, dm_eventset_t (per-file DM event lists)
  MDB_dbi regions = 0;     // file ino -> FileDmState (absent: no regions, nothing released)
  MDB_dbi replies = 0;     // client + seq (big-endian) -> RecordedReply (reply journal)
  MDB_dbi opens = 0;       // ino + holder rank (big-endian) -> open count (u32)
  // Held by every call, and by an ApplyingOp from its first write to its
  // end (recursive: the operation's own calls take it again).
  std::recursive_mutex mutex;

  Impl() = default;
  Impl(const Impl &) = delete;
  Impl &operator=(const Impl &) = delete;
  // mdb_env_close also releases every database handle.
  ~Impl() {
    if (env != nullptr) mdb_env_close(env);
  }

  // The one place LMDB codes become errnos.
  Error lmdb_error(int rc, std::string_view doing) const {
    if (rc == MDB_MAP_FULL) {
      return make_error(ENOSPC,
                        "metadata store {}: full while {} (map size {} bytes); reopen it with a "
                        "larger map size",
                        options.dir, doing, options.map_size);
    }
    return make_error(EIO, "metadata store {}: {}: {}", options.dir, doing, mdb_strerror(rc));
  }
  Error corrupt(std::string_view what, std::string_view why) const {
    return make_error(EIO, "metadata store {}: {} is corrupt: {}", options.dir, what, why);
  }

  // A transaction for one call. Inside an ApplyingOp of this store, once it
  // has written, reads too get a transaction nested in the operation's
  // (never committed), so that they see its changes.
  Result<lmdb::Txn> begin(bool write) {
    lmdb::Txn txn;
    PDM_ASSIGN_OR_RETURN(MDB_txn * op, operation_txn(write));
    const int rc =
        op != nullptr ? txn.begin_nested(env, op) : txn.begin(env, write ? 0u : MDB_RDONLY);
    if (rc != 0) return lmdb_error(rc, "beginning a transaction");
    return txn;
  }
  // A nested transaction's commit makes its changes part of its
  // operation's; only a transaction of its own is committed to the store.
  Status commit(lmdb::Txn &txn) {
    if (txn.nested()) {
      if (int rc = txn.commit(); rc != 0) return lmdb_error(rc, "committing a transaction");
      t_applying->applied_ = true;
      return {};
    }
    return commit_to_store(txn);
  }
  Status commit_to_store(lmdb::Txn &txn) {
    // A failure test kills the metadata server here, its write transaction open.
    failpoint::hit("meta_store.before_commit");
    // ... or makes the commit fail, as LMDB might (a full map, an I/O error).
    if (failpoint::hit("meta_store.refuse_commit")) {
      txn.abort();
      return make_error(EIO, "metadata store {}: commit refused (failpoint)", options.dir);
    }
    if (int rc = txn.commit(); rc != 0) return lmdb_error(rc, "committing a transaction");
    // ... or right after the commit, before the reply is sent.
    failpoint::hit("meta_store.after_commit");
    return {};
  }
  // The transaction of this thread's operation on this store; begun (and
  // the store held) at its first write. Null outside an operation, and for
  // a read before the operation's first write.
  Result<MDB_txn *> operation_txn(bool write);
  // Stores a reply record and now and then forgets the client's old ones.
  Status put_reply(MDB_txn *txn, std::uint64_t client, std::uint64_t seq,
                   const MetaStore::RecordedReply &reply);

  Status open_databases(MDB_txn *txn);
  // The innermost operation being applied on this thread, of any store.
  static thread_local MetaStore::ApplyingOp *t_applying;
  Status check_or_create_format(MDB_txn *txn);

  // Raw records. fetch's value lives until the transaction's next write.
  Result<std::optional<MDB_val>> fetch(MDB_txn *txn, MDB_dbi dbi, std::string_view key,
                                       std::string_view what);
  Status store(MDB_txn *txn, MDB_dbi dbi, std::string_view key, std::span<const std::byte> value,
               std::string_view what);
  // Deleting an absent record is not an error.
  Status erase(MDB_txn *txn, MDB_dbi dbi, std::string_view key, std::string_view what);
  Result<std::uint64_t> decode_u64(const MDB_val &value, std::string_view what) const;

  Result<Inode> load_inode(MDB_txn *txn, InodeNumber ino);
  Result<Inode> decode_inode(InodeNumber ino, const MDB_val &value) const;
  Result<Inode> load_dir(MDB_txn *txn, InodeNumber ino);
  Status put_inode(MDB_txn *txn, const Inode &inode);
  Result<std::optional<InodeNumber>> find_entry(MDB_txn *txn, InodeNumber parent,
                                                std::string_view name);
  Status put_entry(MDB_txn *txn, InodeNumber parent, std::string_view name, InodeNumber child);
  // Whether any key of `dbi` starts with `prefix` (what: for the error).
  Result<bool> has_prefix(MDB_txn *txn, MDB_dbi dbi, const std::string &prefix,
                          const std::string &what);
  Result<bool> has_entries(MDB_txn *txn, InodeNumber dir);
  Result<std::uint64_t> counter(MDB_txn *txn, const char *name);
  // A fresh inode with the next ino and generation (both never reused).
  Result<Inode> allocate(MDB_txn *txn, std::uint32_t mode, std::uint32_t uid, std::uint32_t gid,
                         TimeNs now);
  Status drop_link(MDB_txn *txn, Inode &inode, TimeNs now);
  Result<FileDmState> load_dm_state(MDB_txn *txn, InodeNumber ino);
  Status put_dm_state(MDB_txn *txn, InodeNumber ino, const FileDmState &state);
  Status check_not_into_own_subtree(MDB_txn *txn, InodeNumber dir, InodeNumber destination);

  // DM layer (meta_store.h): EBADF unless inode `ino` exists with `generation`.
  Result<Inode> load_object(MDB_txn *txn, InodeNumber ino, std::uint64_t generation);
  // The object's DM attributes in name order (names and values).
  Result<std::vector<DmAttr>> dmattrs_of(MDB_txn *txn, InodeNumber ino);
  Result<bool> has_dmattrs(MDB_txn *txn, InodeNumber ino);
  // Attributes go with their inode: called wherever an inode record is deleted.
  Status erase_dmattrs(MDB_txn *txn, InodeNumber ino);
  // Visits every record of a database keyed by inode number, in key order
  // (an odd-sized key is corruption); a failing visit ends the scan.
  Status scan_by_ino(MDB_txn *txn, MDB_dbi dbi, std::string_view database, std::string_view listing,
                     const std::function<Status(InodeNumber, const MDB_val &)> &visit);
  // The name under which `parent` links `child` (a scan of the directory).
  Result<std::optional<std::string>> name_in(MDB_txn *txn, InodeNumber parent, InodeNumber child);
};

Status MetaStore::Impl::open_databases(MDB_txn *txn) {
  const std::pair<const char *, MDB_dbi *> databases[] = {
      {"inodes", &inodes},   {"dentries", &dentries},     {"orphans", &orphans},
      {"meta", &meta},       {"parents", &parents},       {"dmattrs", &dmattrs},
      {"regions", &regions}, {"eventlists", &eventlists}, {"replies", &replies},
      {"opens", &opens}};
  for (const auto &[name, dbi] : databases) {
    if (int rc = mdb_dbi_open(txn, name, MDB_CREATE, dbi); rc != 0) {
      return lmdb_error(rc, fmt::format("opening database '{}'", name));
    }
  }
  return {};
}

thread_local MetaStore::ApplyingOp *MetaStore::Impl::t_applying = nullptr;

struct MetaStore::ApplyingOp::OpenTxn {
  // Declared first, so that it is let go after the transaction ended.
  std::unique_lock<std::recursive_mutex> hold;
  lmdb::Txn txn;
};

Result<MDB_txn *> MetaStore::Impl::operation_txn(bool write) {
  MetaStore::ApplyingOp *op = t_applying;
  if (op == nullptr || op->store_.impl_.get() != this) return nullptr;
  if (op->open_ != nullptr) return op->open_->txn.get();
  if (!write) return nullptr;
  // No handler applies an operation inside another; if one did, its
  // transaction would be a second write transaction beside the outer one's.
  for (const MetaStore::ApplyingOp *outer = op->outer_; outer != nullptr; outer = outer->outer_) {
    if (outer->store_.impl_.get() == this && outer->open_ != nullptr) {
      return make_error(EDEADLK, "metadata store {}: an operation inside another one", options.dir);
    }
  }
  auto open = std::make_unique<MetaStore::ApplyingOp::OpenTxn>();
  open->hold = std::unique_lock(mutex);
  if (int rc = open->txn.begin(env, 0); rc != 0) {
    return lmdb_error(rc, "beginning an operation's transaction");
  }
  op->open_ = std::move(open);
  return op->open_->txn.get();
}

Status MetaStore::Impl::check_or_create_format(MDB_txn *txn) {
  PDM_ASSIGN_OR_RETURN(auto format, fetch(txn, meta, kFormatKey, "the format record"));
  if (format) {
    mpi::Decoder in(lmdb::bytes_of(*format));
    auto version = in.get<std::uint32_t>();
    if (!version.ok() || !in.expect_end().ok()) {
      return make_error(EPROTO, "metadata store {}: unreadable format record ({} bytes)",
                        options.dir, format->mv_size);
    }
    if (*version != kStoreFormat) {
      return make_error(EPROTO,
                        "metadata store {}: format {} is not supported (this build reads format "
                        "{}); open it with the pdm version that wrote it",
                        options.dir, *version, kStoreFormat);
    }
    return {};
  }
  MDB_stat stat{};
  if (int rc = mdb_stat(txn, inodes, &stat); rc != 0) return lmdb_error(rc, "counting inodes");
  if (stat.ms_entries != 0) {
    return make_error(EPROTO,
                      "metadata store {}: holds {} inodes but no format record; not a pdm "
                      "metadata store",
                      options.dir, stat.ms_entries);
  }
  mpi::Encoder version;
  version.put(kStoreFormat);
  PDM_TRY(store(txn, meta, kFormatKey, version.bytes(), "the format record"));
  PDM_TRY(store(txn, meta, kNextInoKey, encode_u64(kRootInode + 1), "the inode counter"));
  PDM_TRY(store(txn, meta, kNextGenerationKey, encode_u64(2), "the generation counter"));
  const TimeNs now = now_ns();
  Inode root;
  root.ino = kRootInode;
  root.generation = 1;
  root.mode = S_IFDIR | 0755;
  root.uid = static_cast<std::uint32_t>(getuid());
  root.gid = static_cast<std::uint32_t>(getgid());
  root.nlink = 2;
  root.atime = root.mtime = root.ctime = now;
  PDM_TRY(put_inode(txn, root));
  return store(txn, parents, ino_key(kRootInode), encode_u64(kRootInode), "the root's parent");
}

Result<std::optional<MDB_val>> MetaStore::Impl::fetch(MDB_txn *txn, MDB_dbi dbi,
                                                      std::string_view key, std::string_view what) {
  MDB_val k = lmdb::to_val(key);
  MDB_val v{};
  const int rc = mdb_get(txn, dbi, &k, &v);
  if (rc == MDB_NOTFOUND) return std::optional<MDB_val>();
  if (rc != 0) return lmdb_error(rc, fmt::format("reading {}", what));
  return std::optional<MDB_val>(v);
}

Status MetaStore::Impl::store(MDB_txn *txn, MDB_dbi dbi, std::string_view key,
                              std::span<const std::byte> value, std::string_view what) {
  MDB_val k = lmdb::to_val(key);
  MDB_val v = lmdb::to_val(value);
  if (int rc = mdb_put(txn, dbi, &k, &v, 0); rc != 0) {
    return lmdb_error(rc, fmt::format("writing {}", what));
  }
  return {};
}

Status MetaStore::Impl::erase(MDB_txn *txn, MDB_dbi dbi, std::string_view key,
                              std::string_view what) {
  MDB_val k = lmdb::to_val(key);
  const int rc = mdb_del(txn, dbi, &k, nullptr);
  if (rc != 0 && rc != MDB_NOTFOUND) return lmdb_error(rc, fmt::format("deleting {}", what));
  return {};
}

Result<std::uint64_t> MetaStore::Impl::decode_u64(const MDB_val &value,
                                                  std::string_view what) const {
  mpi::Decoder in(lmdb::bytes_of(value));
  auto v = in.get<std::uint64_t>();
  if (!v.ok()) return corrupt(what, v.error().message);
  if (auto end = in.expect_end(); !end.ok()) return corrupt(what, end.error().message);
  return *v;
}

Result<Inode> MetaStore::Impl::load_inode(MDB_txn *txn, InodeNumber ino) {
  PDM_ASSIGN_OR_RETURN(auto value, fetch(txn, inodes, ino_key(ino), "an inode"));
  if (!value) return make_error(ENOENT, "inode {}: no such file or directory", ino);
  return decode_inode(ino, *value);
}

Result<Inode> MetaStore::Impl::decode_inode(InodeNumber ino, const MDB_val &value) const {
  const std::string what = fmt::format("inode {}", ino);
  mpi::Decoder in(lmdb::bytes_of(value));
  auto inode = Inode::decode(in);
  if (!inode.ok()) return corrupt(what, inode.error().message);
  if (auto end = in.expect_end(); !end.ok()) return corrupt(what, end.error().message);
  if (inode->ino != ino) return corrupt(what, fmt::format("the record says inode {}", inode->ino));
  return inode;
}

Result<Inode> MetaStore::Impl::load_dir(MDB_txn *txn, InodeNumber ino) {
  PDM_ASSIGN_OR_RETURN(Inode inode, load_inode(txn, ino));
  if (!inode.is_dir()) return make_error(ENOTDIR, "inode {}: not a directory", ino);
  return inode;
}

Status MetaStore::Impl::put_inode(MDB_txn *txn, const Inode &inode) {
  mpi::Encoder out;
  inode.encode(out);
  return store(txn, inodes, ino_key(inode.ino), out.bytes(), fmt::format("inode {}", inode.ino));
}

Result<std::optional<InodeNumber>> MetaStore::Impl::find_entry(MDB_txn *txn, InodeNumber parent,
                                                               std::string_view name) {
  const std::string what = fmt::format("entry {:?} of directory {}", name, parent);
  PDM_ASSIGN_OR_RETURN(auto value, fetch(txn, dentries, dentry_key(parent, name), what));
  if (!value) return std::optional<InodeNumber>();
  PDM_ASSIGN_OR_RETURN(auto child, decode_u64(*value, what));
  return std::optional<InodeNumber>(child);
}

Status MetaStore::Impl::put_entry(MDB_txn *txn, InodeNumber parent, std::string_view name,
                                  InodeNumber child) {
  return store(txn, dentries, dentry_key(parent, name), encode_u64(child),
               fmt::format("entry {:?} of directory {}", name, parent));
}

Result<bool> MetaStore::Impl::has_prefix(MDB_txn *txn, MDB_dbi dbi, const std::string &prefix,
                                         const std::string &what) {
  lmdb::Cursor cursor;
  if (int rc = cursor.open(txn, dbi); rc != 0) return lmdb_error(rc, "opening a cursor");
  MDB_val key = lmdb::to_val(prefix);
  MDB_val value{};
  const int rc = cursor.get(&key, &value, MDB_SET_RANGE);
  if (rc == MDB_NOTFOUND) return false;
  if (rc != 0) return lmdb_error(rc, what);
  return lmdb::view_of(key).starts_with(prefix);
}

Result<bool> MetaStore::Impl::has_entries(MDB_txn *txn, InodeNumber dir) {
  return has_prefix(txn, dentries, ino_key(dir), fmt::format("listing directory {}", dir));
}

Result<std::uint64_t> MetaStore::Impl::counter(MDB_txn *txn, const char *name) {
  PDM_ASSIGN_OR_RETURN(auto value, fetch(txn, meta, name, name));
  if (!value) return corrupt(name, "the record is missing");
  return decode_u64(*value, name);
}

Result<Inode> MetaStore::Impl::allocate(MDB_txn *txn, std::uint32_t mode, std::uint32_t uid,
                                        std::uint32_t gid, TimeNs now) {
  Inode inode;
  PDM_ASSIGN_OR_RETURN(inode.ino, counter(txn, kNextInoKey));
  PDM_ASSIGN_OR_RETURN(inode.generation, counter(txn, kNextGenerationKey));
  PDM_TRY(store(txn, meta, kNextInoKey, encode_u64(inode.ino + 1), kNextInoKey));
  PDM_TRY(
      store(txn, meta, kNextGenerationKey, encode_u64(inode.generation + 1), kNextGenerationKey));
  inode.mode = mode;
  inode.uid = uid;
  inode.gid = gid;
  inode.atime = inode.mtime = inode.ctime = now;
  return inode;
}

// One directory entry of a non-directory is gone: at nlink 0 the inode
// becomes an orphan, kept until forget() once its data objects are destroyed.
Status MetaStore::Impl::drop_link(MDB_txn *txn, Inode &inode, TimeNs now) {
  if (inode.nlink == 0) {
    return corrupt(fmt::format("inode {}", inode.ino), "linked from a directory but nlink is 0");
  }
  --inode.nlink;
  inode.ctime = now;
  if (inode.nlink == 0) {
    PDM_TRY(store(txn, orphans, ino_key(inode.ino), kNoValue, fmt::format("orphan {}", inode.ino)));
  }
  return put_inode(txn, inode);
}

// rename(2): EINVAL when a directory would become its own descendant. Walks
// up from the destination through the parent pointers to the root.
Status MetaStore::Impl::check_not_into_own_subtree(MDB_txn *txn, InodeNumber dir,
                                                   InodeNumber destination) {
  MDB_stat stat{};
  if (int rc = mdb_stat(txn, parents, &stat); rc != 0) return lmdb_error(rc, "counting parents");
  InodeNumber at = destination;
  for (std::size_t steps = 0; steps <= stat.ms_entries; ++steps) {
    if (at == dir) {
      return make_error(EINVAL, "directory {} cannot be moved into its own subtree (directory {})",
                        dir, destination);
    }
    if (at == kRootInode) return {};
    const std::string what = fmt::format("parent of directory {}", at);
    PDM_ASSIGN_OR_RETURN(auto parent, fetch(txn, parents, ino_key(at), what));
    if (!parent) return corrupt(what, "the record is missing");
    PDM_ASSIGN_OR_RETURN(at, decode_u64(*parent, what));
  }
  return corrupt("the parents database", fmt::format("a cycle above directory {}", destination));
}

Result<Inode> MetaStore::Impl::load_object(MDB_txn *txn, InodeNumber ino,
                                           std::uint64_t generation) {
  PDM_ASSIGN_OR_RETURN(auto value, fetch(txn, inodes, ino_key(ino), "an inode"));
  if (!value) return make_error(EBADF, "inode {} generation {}: no such object", ino, generation);
  PDM_ASSIGN_OR_RETURN(Inode inode, decode_inode(ino, *value));
  if (inode.generation != generation) {
    return make_error(EBADF, "inode {} generation {}: no such object (inode {} is generation {})",
                      ino, generation, ino, inode.generation);
  }
  return inode;
}

Result<std::vector<DmAttr>> MetaStore::Impl::dmattrs_of(MDB_txn *txn, InodeNumber ino) {
  const std::string prefix = ino_key(ino);
  lmdb::Cursor cursor;
  if (int rc = cursor.open(txn, dmattrs); rc != 0) return lmdb_error(rc, "opening a cursor");
  std::vector<DmAttr> out;
  MDB_val key = lmdb::to_val(prefix);
  MDB_val value{};
  int rc = cursor.get(&key, &value, MDB_SET_RANGE);
  for (; rc == 0; rc = cursor.get(&key, &value, MDB_NEXT)) {
    const std::string_view k = lmdb::view_of(key);
    if (!k.starts_with(prefix)) break;
    out.push_back(DmAttr{std::string(k.substr(prefix.size())), std::string(lmdb::view_of(value))});
  }
  if (rc != 0 && rc != MDB_NOTFOUND) {
    return lmdb_error(rc, fmt::format("listing the DM attributes of inode {}", ino));
  }
  return out;
}

Result<bool> MetaStore::Impl::has_dmattrs(MDB_txn *txn, InodeNumber ino) {
  return has_prefix(txn, dmattrs, ino_key(ino),
                    fmt::format("reading the DM attributes of inode {}", ino));
}

Status MetaStore::Impl::erase_dmattrs(MDB_txn *txn, InodeNumber ino) {
  PDM_ASSIGN_OR_RETURN(auto attrs, dmattrs_of(txn, ino));
  for (const auto &attr : attrs) {
    PDM_TRY(erase(txn, dmattrs, ino_key(ino) + attr.name, "a DM attribute"));
  }
  return {};
}

Result<std::optional<std::string>> MetaStore::Impl::name_in(MDB_txn *txn, InodeNumber parent,
                                                            InodeNumber child) {
  const std::string prefix = ino_key(parent);
  lmdb::Cursor cursor;
  if (int rc = cursor.open(txn, dentries); rc != 0) return lmdb_error(rc, "opening a cursor");
  MDB_val key = lmdb::to_val(prefix);
  MDB_val value{};
  int rc = cursor.get(&key, &value, MDB_SET_RANGE);
  for (; rc == 0; rc = cursor.get(&key, &value, MDB_NEXT)) {
    const std::string_view k = lmdb::view_of(key);
    if (!k.starts_with(prefix)) break;
    const std::string_view name = k.substr(prefix.size());
    PDM_ASSIGN_OR_RETURN(
        auto ino, decode_u64(value, fmt::format("entry {:?} of directory {}", name, parent)));
    if (ino == child) return std::optional<std::string>(std::string(name));
  }
  if (rc != 0 && rc != MDB_NOTFOUND) {
    return lmdb_error(rc, fmt::format("listing directory {}", parent));
  }
  return std::optional<std::string>();
}

Result<FileDmState> MetaStore::Impl::load_dm_state(MDB_txn *txn, InodeNumber ino) {
  const std::string what = fmt::format("managed regions of inode {}", ino);
  PDM_ASSIGN_OR_RETURN(auto value, fetch(txn, regions, ino_key(ino), what));
  FileDmState state;
  if (!value) return state;
  mpi::Decoder in(lmdb::bytes_of(*value));
  if (auto s = mpi::decode_field(in, state); !s.ok()) return corrupt(what, s.error().message);
  if (auto end = in.expect_end(); !end.ok()) return corrupt(what, end.error().message);
  return state;
}

Status MetaStore::Impl::put_dm_state(MDB_txn *txn, InodeNumber ino, const FileDmState &state) {
  const std::string what = fmt::format("managed regions of inode {}", ino);
  // An empty state keeps its record: the version must never go back.
  mpi::Encoder out;
  mpi::encode_field(out, state);
  return store(txn, regions, ino_key(ino), out.bytes(), what);
}

MetaStore::MetaStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
MetaStore::~MetaStore() = default;

Result<std::unique_ptr<MetaStore>> MetaStore::open(const MetaStoreOptions &options) {
  if (options.dir.empty()) return make_error(EINVAL, "metadata store: no directory given");
  if (options.volume_count == 0) {
    return make_error(EINVAL, "metadata store {}: volume count must be at least 1", options.dir);
  }
  std::error_code ec;
  std::filesystem::create_directories(options.dir, ec);
  if (ec) {
    return make_error(ec.value(), "metadata store {}: cannot create the directory: {}", options.dir,
                      ec.message());
  }
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  if (int rc = mdb_env_create(&impl->env); rc != 0) {
    return impl->lmdb_error(rc, "creating the environment");
  }
  if (int rc = mdb_env_set_maxdbs(impl->env, kMaxDbs); rc != 0) {
    return impl->lmdb_error(rc, "setting the number of databases");
  }
  if (int rc = mdb_env_set_mapsize(impl->env, options.map_size); rc != 0) {
    return impl->lmdb_error(rc, "setting the map size");
  }
  // MDB_NOLOCK and MDB_NOSYNC: see meta_store.h.
  if (int rc = mdb_env_open(impl->env, options.dir.c_str(), MDB_NOLOCK | MDB_NOSYNC, 0644);
      rc != 0) {
    return impl->lmdb_error(rc, "opening the environment");
  }
  PDM_ASSIGN_OR_RETURN(auto txn, impl->begin(true));
  PDM_TRY(impl->open_databases(txn.get()));
  PDM_TRY(impl->check_or_create_format(txn.get()));
  PDM_TRY(impl->commit(txn));
  return std::unique_ptr<MetaStore>(new MetaStore(std::move(impl)));
}

Result<Inode> MetaStore::get(InodeNumber ino) {
  std::lock_guard lock(impl_->mutex);
  PDM_ASSIGN_OR_RETURN(auto txn, impl_->begin(false));
  return impl_->load_inode(txn.get(), ino);
}

Result<Inode> MetaStore::lookup(InodeNumber parent, std::string_view name) {
  PDM_TRY(validate_name(name));
  std::lock_guard lock(impl_->mutex);
  PDM_ASSIGN_OR_RETURN(auto txn, impl_->begin(false));
  PDM_TRY(impl_->load_dir(txn.get(), parent));
  PDM_ASSIGN_OR_RETURN(auto child, impl_->find_entry(txn.get(), parent, name));
  if (!child) {
    return make_error(ENOENT, "{:?} in directory {}: no such file or directory", name, parent);
  }
  return impl_->load_inode(txn.get(), *child);
}

Result<Inode> MetaStore::resolve(std::span<const std::string> components) {
  for (const auto &name : components) PDM_TRY(validate_name(name));
  std::lock_guard lock(impl_->mutex);
  PDM_ASSIGN_OR_RETURN(auto txn, impl_->begin(false));
  PDM_ASSIGN_OR_RETURN(Inode current, impl_->load_inode(txn.get(), kRootInode));
  std::string path;
  for (const auto &name : components) {
    if (!current.is_dir()) return make_error(ENOTDIR, "{}: not a directory", path);
    path += '/';
    path += name;
    PDM_ASSIGN_OR_RETURN(auto child, impl_->find_entry(txn.get(), current.ino, name));
    if (!child) return make_error(ENOENT, "{}: no such file or directory", path);
    PDM_ASSIGN_OR_RETURN(current, impl_->load_inode(txn.get(), *child));
  }
  return current;
}

Result<Created> MetaStore::create(InodeNumber parent, std::string_view name, std::uint32_t mode,
                                  std::uint32_t uid, std::uint32_t gid, bool exclusive) {
  PDM_TRY(validate_name(name));
  std::lock_guard lock(impl_->mutex);
  PDM_ASSIGN_OR_RETURN(auto txn, impl_->begin(true));
  PDM_ASSIGN_OR_RETURN(Inode dir, impl_->load_dir(txn.get(), parent));
  PDM_ASSIGN_OR_RETURN(auto existing, impl_->find_entry(txn.get(), parent, name));
  if (existing) {
    if (exclusive) return make_error(EEXIST, "{:?} in directory {}: file exists", name, parent);
    PDM_ASSIGN_OR_RETURN(Inode inode, impl_->load_inode(txn.get(), *existing));
    if (inode.is_dir()) {
      return make_error(EISDIR, "{:?} in directory {}: is a directory", name, parent);
    }
    return Created{std::move(inode), false};
  }
  const TimeNs now = now_ns();
  PDM_ASSIGN_OR_RETURN(Inode inode,
                       impl_->allocate(txn.get(), S_IFREG | (mode & 07777), uid, gid, now));
  inode.nlink = 1;
  inode.stripe_size = impl_->options.default_stripe_size;
  inode.first_volume = static_cast<std::uint32_t>(inode.ino % impl_->options.volume_count);
  PDM_TRY(impl_->put_inode(txn.get(), inode));
  PDM_TRY(impl_->put_entry(txn.get(), parent, name, inode.ino));
  dir.mtime = dir.ctime = now;
  PDM_TRY(impl_->put_inode(txn.get(), dir));
  PDM_TRY(impl_->commit(txn));
  return Created{std::move(inode), true};
}

Result<Inode> MetaStore::mkdir(InodeNumber parent, std::string_view name, std::uint32_t mode,
                               std::uint32_t uid, std::uint32_t gid) {
  PDM_TRY(validate_name(name));
  std::lock_guard lock(impl_->mutex);
  PDM_ASSIGN_OR_RETURN(auto txn, impl_->begin(true));
  PDM_ASSIGN_OR_RETURN(Inode dir, impl_->load_dir(txn.get(), parent));
  PDM_ASSIGN_OR_RETURN(auto existing, impl_->find_entry(txn.get(), parent, name));
  if (existing) return make_error(EEXIST, "{:?} in directory {}: file exists", name, parent);
  const TimeNs now = now_ns();
  PDM_ASSIGN_OR_RETURN(Inode inode,
                       impl_->allocate(txn.get(), S_IFDIR | (mode & 07777), uid, gid, now));
  inode.nlink = 2;  // its entry in the parent and its own "."
  PDM_TRY(impl_->put_inode(txn.get(), inode));
  PDM_TRY(impl_->put_entry(txn.get(), parent, name, inode.ino));
  PDM_TRY(impl_->store(txn.get(), impl_->parents, ino_key(inode.ino), encode_u64(parent),
                       fmt::format("parent of directory {}", inode.ino)));
  ++dir.nlink;  // the new directory's ".."
  dir.mtime = dir.ctime = now;
  PDM_TRY(impl_->put_inode(txn.get(), dir));
  PDM_TRY(impl_->commit(txn));
  return inode;
}

Result<Inode> MetaStore::unlink(InodeNumber parent, std::string_view name) {
  PDM_TRY(validate_name(name));
  std::lock_guard lock(impl_->mutex);
  PDM_ASSIGN_OR_RETURN(auto txn, impl_->begin(true));
  PDM_ASSIGN_OR_RETURN(Inode dir, impl_->load_dir(txn.get(), parent));
  PDM_ASSIGN_OR_RETURN(auto child, impl_->find_entry(txn.get(), parent, name));
  if (!child) {
    return make_error(ENOENT, "{:?} in directory {}: no such file or directory", name, parent);
  }
  PDM_ASSIGN_OR_RETURN(Inode inode, impl_->load_inode(txn.get(), *child));
  if (inode.is_dir()) {
    return make_error(EISDIR, "{:?} in directory {}: is a directory; use rmdir", name, parent);
  }
  const TimeNs now = now_ns();
  PDM_TRY(impl_->erase(txn.get(), impl_->dentries, dentry_key(parent, name), "a directory entry"));
  PDM_TRY(impl_->drop_link(txn.get(), inode, now));
  dir.mtime = dir.ctime = now;
  PDM_TRY(impl_->put_inode(txn.get(), dir));
  PDM_TRY(impl_->commit(txn));
  return inode;
}

Status MetaStore::rmdir(InodeNumber parent, std::string_view name) {
  // The root has no entry and "." / ".." are not names, so the root can never be removed.
  PDM_TRY(validate_name(name));
  std::lock_guard lock(impl_->mutex);
  PDM_ASSIGN_OR_RETURN(auto txn, impl_->begin(true));
  PDM_ASSIGN_OR_RETURN(Inode dir, impl_->load_dir(txn.get(), parent));
  PDM_ASSIGN_OR_RETURN(auto child, impl_->find_entry(txn.get(), parent, name));
  if (!child) {
    return make_error(ENOENT, "{:?} in directory {}: no such file or directory", name, parent);
  }
  PDM_ASSIGN_OR_RETURN(Inode inode, impl_->load_inode(txn.get(), *child));
  if (!inode.is_dir()) {
    return make_error(ENOTDIR, "{:?} in directory {}: not a directory", name, parent);
  }
  PDM_ASSIGN_OR_RETURN(bool busy, impl_->has_entries(txn.get(), inode.ino));
  if (busy) {
    return make_error(ENOTEMPTY, "{:?} in directory {}: directory not empty", name, parent);
  }
  PDM_TRY(impl_->erase(txn.get(), impl_->dentries, dentry_key(parent, name), "a directory entry"));
  PDM_TRY(impl_->erase(txn.get(), impl_->inodes, ino_key(inode.ino), "an inode"));
  PDM_TRY(impl_->erase(txn.get(), impl_->parents, ino_key(inode.ino), "a parent record"));
  PDM_TRY(impl_->erase_dmattrs(txn.get(), inode.ino));
  PDM_TRY(impl_->erase(txn.get(), impl_->eventlists, ino_key(inode.ino), "an event list"));
  --dir.nlink;
  dir.mtime = dir.ctime = now_ns();
  PDM_TRY(impl_->put_inode(txn.get(), dir));
  return impl_->commit(txn);
}

Result<RenameOutcome> MetaStore::rename(InodeNumber src_parent, std::string_view src_name,
                                        InodeNumber dst_parent, std::string_view dst_name) {
  PDM_TRY(validate_name(src_name));
  PDM_TRY(validate_name(dst_name));
  std::lock_guard lock(impl_->mutex);
  PDM_ASSIGN_OR_RETURN(auto txn, impl_->begin(true));
  MDB_txn *t = txn.get();
  PDM_ASSIGN_OR_RETURN(Inode src_dir, impl_->load_dir(t, src_parent));
  PDM_ASSIGN_OR_RETURN(Inode other_dir, impl_->load_dir(t, dst_parent));
  const bool same_dir = src_parent == dst_parent;
  Inode &dst_dir = same_dir ? src_dir : other_dir;

  PDM_ASSIGN_OR_RETURN(auto src_ino, impl_->find_entry(t, src_parent, src_name));
  if (!src_ino) {
    return make_error(ENOENT, "{:?} in directory {}: no such file or directory", src_name,
                      src_parent);
  }
  PDM_ASSIGN_OR_RETURN(Inode moved, impl_->load_inode(t, *src_ino));
  PDM_ASSIGN_OR_RETURN(auto dst_ino, impl_->find_entry(t, dst_parent, dst_name));
  RenameOutcome out;
  // rename(2): if both names link the same file, nothing happens.
  if (dst_ino && *dst_ino == moved.ino) {
    out.moved = std::move(moved);
    return out;
  }
  if (moved.is_dir()) PDM_TRY(impl_->check_not_into_own_subtree(t, moved.ino, dst_parent));

  const TimeNs now = now_ns();
  if (dst_ino) {
    PDM_ASSIGN_OR_RETURN(Inode target, impl_->load_inode(t, *dst_ino));
    if (moved.is_dir() && !target.is_dir()) {
      return make_error(ENOTDIR, "{:?} in directory {}: not a directory", dst_name, dst_parent);
    }
    if (!moved.is_dir() && target.is_dir()) {
      return make_error(EISDIR, "{:?} in directory {}: is a directory", dst_name, dst_parent);
    }
    if (target.is_dir()) {
      PDM_ASSIGN_OR_RETURN(bool busy, impl_->has_entries(t, target.ino));
      if (busy) {
        return make_error(ENOTEMPTY, "{:?} in directory {}: directory not empty", dst_name,
                          dst_parent);
      }
      PDM_TRY(impl_->erase(t, impl_->inodes, ino_key(target.ino), "an inode"));
      PDM_TRY(impl_->erase(t, impl_->parents, ino_key(target.ino), "a parent record"));
      PDM_TRY(impl_->erase_dmattrs(t, target.ino));
      --dst_dir.nlink;
    } else {
      PDM_TRY(impl_->drop_link(t, target, now));
      out.replaced = std::move(target);
    }
  }
  PDM_TRY(impl_->erase(t, impl_->dentries, dentry_key(src_parent, src_name), "a directory entry"));
  PDM_TRY(impl_->put_entry(t, dst_parent, dst_name, moved.ino));
  if (moved.is_dir() && !same_dir) {
    --src_dir.nlink;  // the moved directory's ".." now links the destination
    ++dst_dir.nlink;
    PDM_TRY(impl_->store(t, impl_->parents, ino_key(moved.ino), encode_u64(dst_parent),
                         fmt::format("parent of directory {}", moved.ino)));
  }
  moved.ctime = now;
  PDM_TRY(impl_->put_inode(t, moved));
  src_dir.mtime = src_dir.ctime = now;
  dst_dir.mtime = dst_dir.ctime = now;
  PDM_TRY(impl_->put_inode(t, src_dir));
  if (!same_dir) PDM_TRY(impl_->put_inode(t, dst_dir));
  PDM_TRY(impl_->commit(txn));
  out.moved = std::move(moved);
  return out;
}

Result<Inode> MetaStore::set_attr(InodeNumber ino, const AttrChange &change) {
  std::lock_guard lock(impl_->mutex);
  PDM_ASSIGN_OR_RETURN(auto txn, impl_->begin(true));
  PDM_ASSIGN_OR_RETURN(Inode inode, impl_->load_inode(txn.get(), ino));
  const TimeNs now = now_ns();
  if (change.size) {
    if (inode.is_dir()) {
      return make_error(EISDIR, "inode {}: is a directory; its size cannot be set", ino);
    }
    if (*change.size != inode.size) {
      if (*change.size < inode.size) {
        PDM_ASSIGN_OR_RETURN(auto state, impl_->load_dm_state(txn.get(), ino));
        if (clear_released(state.released, *change.size, kToEnd)) {
          ++state.version;
          PDM_TRY(impl_->put_dm_state(txn.get(), ino, state));
        }
      }
      inode.size = *change.size;
      inode.mtime = now;
    }
  }
  if (change.mode) inode.mode = (inode.mode & S_IFMT) | (*change.mode & 07777);
  if (change.uid) inode.uid = *change.uid;
  if (change.gid) inode.gid = *change.gid;
  if (change.atime) inode.atime = *change.atime;
  if (change.mtime) inode.mtime = *change.mtime;
  inode.ctime = now;
  PDM_TRY(impl_->put_inode(txn.get(), inode));
  PDM_TRY(impl_->commit(txn));
  return inode;
}

Result<Inode> MetaStore::extend(InodeNumber ino, std::uint64_t end, TimeNs when) {
  std::lock_guard lock(impl_->mutex);
  PDM_ASSIGN_OR_RETURN(auto txn, impl_->begin(true));
  PDM_ASSIGN_OR_RETURN(Inode inode, impl_->load_inode(txn.get(), ino));
  if (inode.is_dir()) return make_error(EISDIR, "inode {}: is a directory", ino);
  inode.size = std::max(inode.size, end);
  // Strictly later than before, even if the clock stepped back: a write is
  // always seen as a change (pdm-hsm compares mtimes).
  inode.mtime = std::max(when, inode.mtime + 1);
  inode.ctime = std::max(when, inode.ctime + 1);
  PDM_TRY(impl_->put_inode(txn.get(), inode));
  PDM_TRY(impl_->commit(txn));
  return inode;
}

Result<std::vector<DirEntry>> MetaStore::readdir(InodeNumber dir, std::string_view after,
                                                 std::size_t max_entries) {
  std::lock_guard lock(impl_->mutex);
  PDM_ASSIGN_OR_RETURN(auto txn, impl_->begin(false));
  PDM_TRY(impl_->load_dir(txn.get(), dir));
  std::vector<DirEntry> out;
  const std::string prefix = ino_key(dir);
  const std::string start = dentry_key(dir, after);
  lmdb::Cursor cursor;
  if (int rc = cursor.open(txn.get(), impl_->dentries); rc != 0) {
    return impl_->lmdb_error(rc, "opening a cursor");
  }
  MDB_val key = lmdb::to_val(start);
  MDB_val value{};
  int rc = cursor.get(&key, &value, MDB_SET_RANGE);
  for (; rc == 0 && out.size() < max_entries; rc = cursor.get(&key, &value, MDB_NEXT)) {
    const std::string_view k = lmdb::view_of(key);
    if (!k.starts_with(prefix)) break;
    const std::string_view name = k.substr(prefix.size());
    if (name == after) continue;  // strictly after
    const std::string what = fmt::format("entry {:?} of directory {}", name, dir);
    PDM_ASSIGN_OR_RETURN(auto child, impl_->decode_u64(value, what));
    PDM_ASSIGN_OR_RETURN(Inode inode, impl_->load_inode(txn.get(), child));
    out.push_back(DirEntry{std::string(name), child, inode.mode});
  }
  if (rc != 0 && rc != MDB_NOTFOUND) {
    return impl_->lmdb_error(rc, fmt::format("listing directory {}", dir));
  }
  return out;
}

Result<InodeDm> MetaStore::dm_state(InodeNumber ino) {
  std::lock_guard lock(impl_->mutex);
  PDM_ASSIGN_OR_RETURN(auto txn, impl_->begin(false));
  InodeDm out;
  PDM_ASSIGN_OR_RETURN(out.inode, impl_->load_inode(txn.get(), ino));
  PDM_ASSIGN_OR_RETURN(out.state, impl_->load_dm_state(txn.get(), ino));
  return out;
}

Result<InodeDm> MetaStore::update_dm_state(
    InodeNumber ino, const std::function<bool(FileDmState &, Inode &)> &change) {
  std::lock_guard lock(impl_->mutex);
  PDM_ASSIGN_OR_RETURN(auto txn, impl_->begin(true));
  InodeDm out;
  PDM_ASSIGN_OR_RETURN(out.inode, impl_->load_inode(txn.get(), ino));
  if (out.inode.is_dir()) {
    return make_error(EINVAL, "inode {}: a directory has no managed regions or data", ino);
  }
  PDM_ASSIGN_OR_RETURN(out.state, impl_->load_dm_state(txn.get(), ino));
  const Inode before = out.inode;
  if (change(out.state, out.inode)) {
    ++out.state.version;
    PDM_TRY(impl_->put_dm_state(txn.get(), ino, out.state));
  }
  if (!(out.inode == before)) PDM_TRY(impl_->put_inode(txn.get(), out.inode));
  PDM_TRY(impl_->commit(txn));
  return out;
}

Result<std::vector<InodeNumber>> MetaStore::orphans() {
  std::lock_guard lock(impl_->mutex);
  PDM_ASSIGN_OR_RETURN(auto txn, impl_->begin(false));
  std::vector<InodeNumber> out;
  PDM_TRY(impl_->scan_by_ino(txn.get(), impl_->orphans, "orphans", "listing orphans",
                             [&](InodeNumber ino, const MDB_val &) -> Status {
                               out.push_back(ino);
                               return {};
                             }));
  return out;
}

Status MetaStore::forget(InodeNumber ino) {
  std::lock_guard lock(impl_->mutex);
  PDM_ASSIGN_OR_RETURN(auto txn, impl_->begin(true));
  PDM_ASSIGN_OR_RETURN(Inode inode, impl_->load_inode(txn.get(), ino));
  if (inode.nlink > 0) {
    return make_error(EBUSY, "inode {}: still has {} links; only an orphan can be forgotten", ino,
                      inode.nlink);
  }
  PDM_TRY(impl_->erase(txn.get(), impl_->inodes, ino_key(ino), "an inode"));
  PDM_TRY(impl_->erase(txn.get(), impl_->orphans, ino_key(ino), "an orphan"));
  PDM_TRY(impl_->erase_dmattrs(txn.get(), ino));
  PDM_TRY(impl_->erase(txn.get(), impl_->eventlists, ino_key(ino), "an event list"));
  PDM_TRY(impl_->erase(txn.get(), impl_->regions, ino_key(ino), "managed regions"));
  return impl_->commit(txn);
}

Result<StoreStats> MetaStore::stats() {
  std::lock_guard lock(impl_->mutex);
  PDM_ASSIGN_OR_RETURN(auto txn, impl_->begin(false));
  StoreStats out;
  MDB_stat stat{};
  if (int rc = mdb_stat(txn.get(), impl_->inodes, &stat); rc != 0) {
    return impl_->lmdb_error(rc, "counting inodes");
  }
  out.inodes = stat.ms_entries;
  if (int rc = mdb_stat(txn.get(), impl_->orphans, &stat); rc != 0) {
    return impl_->lmdb_error(rc, "counting orphans");
  }
  out.orphans = stat.ms_entries;
  PDM_ASSIGN_OR_RETURN(out.next_ino, impl_->counter(txn.get(), kNextInoKey));
  return out;
}

Status MetaStore::sync() {
  std::lock_guard lock(impl_->mutex);
  if (int rc = mdb_env_sync(impl_->env, 1); rc != 0) return impl_->lmdb_error(rc, "syncing");
  return {};
}

Status MetaStore::Impl::scan_by_ino(
    MDB_txn *txn, MDB_dbi dbi, std::string_view database, std::string_view listing,
    const std::function<Status(InodeNumber, const MDB_val &)> &visit) {
  lmdb::Cursor cursor;
  if (int rc = cursor.open(txn, dbi); rc != 0) return lmdb_error(rc, "opening a cursor");
  MDB_val key{};
  MDB_val value{};
  int rc = cursor.get(&key, &value, MDB_FIRST);
  for (; rc == 0; rc = cursor.get(&key, &value, MDB_NEXT)) {
    if (key.mv_size != kInoKeySize) {
      return corrupt(fmt::format("the {} database", database),
                     fmt::format("a {}-byte key", key.mv_size));
    }
    PDM_TRY(visit(ino_of_key(lmdb::view_of(key)), value));
  }
  if (rc != MDB_NOTFOUND) return lmdb_error(rc, std::string(listing));
  return {};
}

Status MetaStore::for_each_inode(const std::function<void(const Inode &)> &visit) {
  std::lock_guard lock(impl_->mutex);
  PDM_ASSIGN_OR_RETURN(auto txn, impl_->begin(false));
  return impl_->scan_by_ino(txn.get(), impl_->inodes, "inodes", "listing inodes",
                            [&](InodeNumber ino, const MDB_val &value) -> Status {
                              PDM_ASSIGN_OR_RETURN(Inode inode, impl_->decode_inode(ino, value));
                              visit(inode);
                              return {};
                            });
}

Status MetaStore::for_each_dentry(
    const std::function<void(InodeNumber parent, std::string_view name, InodeNumber child)>
        &visit) {
  std::lock_guard lock(impl_->mutex);
  PDM_ASSIGN_OR_RETURN(auto txn, impl_->begin(false));
  lmdb::Cursor cursor;
  if (int rc = cursor.open(txn.get(), impl_->dentries); rc != 0) {
    return impl_->lmdb_error(rc, "opening a cursor");
  }
  MDB_val key{};
  MDB_val value{};
  int rc = cursor.get(&key, &value, MDB_FIRST);
  for (; rc == 0; rc = cursor.get(&key, &value, MDB_NEXT)) {
    const std::string_view k = lmdb::view_of(key);
    if (k.size() <= kInoKeySize) {
      return impl_->corrupt("the dentries database", fmt::format("a {}-byte key", k.size()));
    }
    const InodeNumber parent = ino_of_key(k);
    const std::string_view name = k.substr(kInoKeySize);
    PDM_ASSIGN_OR_RETURN(
        auto child,
        impl_->decode_u64(value, fmt::format("entry {:?} of directory {}", name, parent)));
    visit(parent, name, child);
  }
  if (rc != MDB_NOTFOUND) return impl_->lmdb_error(rc, "listing directory entries");
  return {};
}

// ---- The DM layer's view ---------------------------------------------------

namespace {

Status validate_dmattr_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxDmAttrName) {
    return make_error(EINVAL, "a DM attribute name has 1 to {} bytes, not {}", kMaxDmAttrName,
                      name.size());
  }
  if (name.find('\0') != std::string_view::npos) {
    return make_error(EINVAL, "a DM attribute name may not contain NUL");
  }
  return {};
}

}  // namespace

Result<std::pair<Inode, bool>> MetaStore::get_object(InodeNumber ino, std::uint64_t generation) {
  std::lock_guard lock(impl_->mutex);
  PDM_ASSIGN_OR_RETURN(auto txn, impl_->begin(false));
  PDM_ASSIGN_OR_RETURN(Inode inode, impl_->load_object(txn.get(), ino, generation));
  PDM_ASSIGN_OR_RETURN(bool pers, impl_->has_dmattrs(txn.get(), ino));
  return std::pair{std::move(inode), pers};
}

Status MetaStore::set_dmattr(InodeNumber ino, std::uint64_t generation, std::string_view name,
                             std::string_view value, bool set_dtime) {
  PDM_TRY(validate_dmattr_name(name));
  if (value.size() > kMaxDmAttrValue) {
    return make_error(E2BIG, "a DM attribute value of {} bytes exceeds the limit of {}",
                      value.size(), kMaxDmAttrValue);
  }
  std::lock_guard lock(impl_->mutex);
  PDM_ASSIGN_OR_RETURN(auto txn, impl_->begin(true));
  PDM_ASSIGN_OR_RETURN(Inode inode, impl_->load_object(txn.get(), ino, generation));
  PDM_ASSIGN_OR_RETURN(auto attrs, impl_->dmattrs_of(txn.get(), ino));
  std::size_t space = name.size() + value.size();
  for (const auto &attr : attrs) {
    if (attr.name != name) space += attr.name.size() + attr.value.size();
  }
  if (space > kMaxDmAttrSpace) {
    return make_error(E2BIG,
                      "inode {}: its DM attributes would take {} bytes, over the limit of {}", ino,
                      space, kMaxDmAttrSpace);
  }
  PDM_TRY(
      impl_->store(txn.get(), impl_->dmattrs, ino_key(ino) + std::string(name),
                   value.empty() ? kNoValue : std::as_bytes(std::span(value.data(), value.size())),
                   fmt::format("DM attribute {:?} of inode {}", name, ino)));
  if (set_dtime) {
    inode.ctime = now_ns();
    PDM_TRY(impl_->put_inode(txn.get(), inode));
  }
  return impl_->commit(txn);
}

Result<std::string> MetaStore::get_dmattr(InodeNumber ino, std::uint64_t generation,
                                          std::string_view name) {
  PDM_TRY(validate_dmattr_name(name));
  std::lock_guard lock(impl_->mutex);
  PDM_ASSIGN_OR_RETURN(auto txn, impl_->begin(false));
  PDM_TRY(impl_->load_object(txn.get(), ino, generation));
  const std::string what = fmt::format("DM attribute {:?} of inode {}", name, ino);
  PDM_ASSIGN_OR_RETURN(
      auto value, impl_->fetch(txn.get(), impl_->dmattrs, ino_key(ino) + std::string(name), what));
  if (!value) return make_error(ENOENT, "inode {}: no DM attribute {:?}", ino, name);
  return std::string(lmdb::view_of(*value));
}

Status MetaStore::remove_dmattr(InodeNumber ino, std::uint64_t generation, std::string_view name,
                                bool set_dtime) {
  PDM_TRY(validate_dmattr_name(name));
  std::lock_guard lock(impl_->mutex);
  PDM_ASSIGN_OR_RETURN(auto txn, impl_->begin(true));
  PDM_ASSIGN_OR_RETURN(Inode inode, impl_->load_object(txn.get(), ino, generation));
  const std::string key = ino_key(ino) + std::string(name);
  const std::string what = fmt::format("DM attribute {:?} of inode {}", name, ino);
  PDM_ASSIGN_OR_RETURN(auto value, impl_->fetch(txn.get(), impl_->dmattrs, key, what));
  if (!value) return make_error(ENOENT, "inode {}: no DM attribute {:?}", ino, name);
  PDM_TRY(impl_->erase(txn.get(), impl_->dmattrs, key, what));
  if (set_dtime) {
    inode.ctime = now_ns();
    PDM_TRY(impl_->put_inode(txn.get(), inode));
  }
  return impl_->commit(txn);
}

Result<std::vector<DmAttr>> MetaStore::list_dmattrs(InodeNumber ino, std::uint64_t generation) {
  std::lock_guard lock(impl_->mutex);
  PDM_ASSIGN_OR_RETURN(auto txn, impl_->begin(false));
  PDM_TRY(impl_->load_object(txn.get(), ino, generation));
  return impl_->dmattrs_of(txn.get(), ino);
}

Result<Inode> MetaStore::dm_set_attr(InodeNumber ino, std::uint64_t generation,
                                     const AttrChange &change, std::optional<TimeNs> ctime) {
  std::lock_guard lock(impl_->mutex);
  PDM_ASSIGN_OR_RETURN(auto txn, impl_->begin(true));
  PDM_ASSIGN_OR_RETURN(Inode inode, impl_->load_object(txn.get(), ino, generation));
  if (change.size) {
    if (inode.is_dir()) {
      return make_error(EISDIR, "inode {}: is a directory; its size cannot be set", ino);
    }
    inode.size = *change.size;
  }
  if (change.mode) inode.mode = (inode.mode & S_IFMT) | (*change.mode & 07777);
  if (change.uid) inode.uid = *change.uid;
  if (change.gid) inode.gid = *change.gid;
  if (change.atime) inode.atime = *change.atime;
  if (change.mtime) inode.mtime = *change.mtime;
  if (ctime) inode.ctime = *ctime;
  PDM_TRY(impl_->put_inode(txn.get(), inode));
  PDM_TRY(impl_->commit(txn));
  return inode;
}

Result<DirAttrsPage> MetaStore::dir_attrs(InodeNumber dir, std::uint64_t generation,
                                          std::uint64_t skip, std::size_t max_entries) {
  std::lock_guard lock(impl_->mutex);
  PDM_ASSIGN_OR_RETURN(auto txn, impl_->begin(false));
  PDM_ASSIGN_OR_RETURN(Inode inode, impl_->load_object(txn.get(), dir, generation));
  if (!inode.is_dir()) return make_error(ENOTDIR, "inode {}: not a directory", dir);
  const std::string prefix = ino_key(dir);
  lmdb::Cursor cursor;
  if (int rc = cursor.open(txn.get(), impl_->dentries); rc != 0) {
    return impl_->lmdb_error(rc, "opening a cursor");
  }
  DirAttrsPage page;
  MDB_val key = lmdb::to_val(prefix);
  MDB_val value{};
  std::uint64_t position = 0;
  int rc = cursor.get(&key, &value, MDB_SET_RANGE);
  for (; rc == 0; rc = cursor.get(&key, &value, MDB_NEXT), ++position) {
    const std::string_view k = lmdb::view_of(key);
    if (!k.starts_with(prefix)) break;
    if (position < skip) continue;
    if (page.entries.size() == max_entries) {
      page.more = true;
      break;
    }
    const std::string_view name = k.substr(prefix.size());
    PDM_ASSIGN_OR_RETURN(
        auto child, impl_->decode_u64(value, fmt::format("entry {:?} of directory {}", name, dir)));
    DirAttrsEntry entry;
    entry.name = std::string(name);
    PDM_ASSIGN_OR_RETURN(entry.inode, impl_->load_inode(txn.get(), child));
    PDM_ASSIGN_OR_RETURN(entry.has_dmattrs, impl_->has_dmattrs(txn.get(), child));
    page.entries.push_back(std::move(entry));
  }
  if (rc != 0 && rc != MDB_NOTFOUND) {
    return impl_->lmdb_error(rc, fmt::format("listing directory {}", dir));
  }
  return page;
}

Result<std::string> MetaStore::path_of(InodeNumber dir, std::uint64_t dir_generation,
                                       InodeNumber target, std::uint64_t target_generation) {
  std::lock_guard lock(impl_->mutex);
  PDM_ASSIGN_OR_RETURN(auto txn, impl_->begin(false));
  MDB_txn *t = txn.get();
  PDM_ASSIGN_OR_RETURN(Inode directory, impl_->load_object(t, dir, dir_generation));
  PDM_TRY(impl_->load_object(t, target, target_generation));
  if (!directory.is_dir()) return make_error(ENOTDIR, "inode {}: not a directory", dir);
  // Names from the target up to the root, through the "parents" records.
  std::vector<std::string> names;
  if (target != dir) {
    PDM_ASSIGN_OR_RETURN(auto name, impl_->name_in(t, dir, target));
    if (!name) return make_error(ENOENT, "directory {} has no entry for inode {}", dir, target);
    names.push_back(std::move(*name));
  }
  MDB_stat stat{};
  if (int rc = mdb_stat(t, impl_->parents, &stat); rc != 0) {
    return impl_->lmdb_error(rc, "counting parents");
  }
  InodeNumber at = dir;
  for (std::size_t steps = 0; at != kRootInode; ++steps) {
    if (steps > stat.ms_entries) {
      return impl_->corrupt("the parents database", fmt::format("a cycle above directory {}", dir));
    }
    const std::string what = fmt::format("parent of directory {}", at);
    PDM_ASSIGN_OR_RETURN(auto parent_record, impl_->fetch(t, impl_->parents, ino_key(at), what));
    if (!parent_record) return impl_->corrupt(what, "the record is missing");
    PDM_ASSIGN_OR_RETURN(auto parent, impl_->decode_u64(*parent_record, what));
    PDM_ASSIGN_OR_RETURN(auto name, impl_->name_in(t, parent, at));
    if (!name) return impl_->corrupt(what, fmt::format("directory {} has no entry for it", parent));
    names.push_back(std::move(*name));
    at = parent;
  }
  std::string path;
  for (auto it = names.rbegin(); it != names.rend(); ++it) {
    path += '/';
    path += *it;
  }
  return path.empty() ? std::string("/") : path;
}

Status MetaStore::set_eventlist(InodeNumber ino, std::uint64_t generation, std::uint64_t events) {
  std::lock_guard lock(impl_->mutex);
  PDM_ASSIGN_OR_RETURN(auto txn, impl_->begin(true));
  PDM_ASSIGN_OR_RETURN(Inode inode, impl_->load_inode(txn.get(), ino));
  if (inode.generation != generation) {
    return make_error(ESTALE, "inode {}: generation {} is gone (now {})", ino, generation,
                      inode.generation);
  }
  mpi::Encoder value;
  value.put(generation);
  value.put(events);
  PDM_TRY(impl_->store(txn.get(), impl_->eventlists, ino_key(ino), value.bytes(), "an event list"));
  return impl_->commit(txn);
}

Result<std::vector<StoredEventList>> MetaStore::eventlists() {
  std::lock_guard lock(impl_->mutex);
  PDM_ASSIGN_OR_RETURN(auto txn, impl_->begin(false));
  std::vector<StoredEventList> out;
  PDM_TRY(impl_->scan_by_ino(txn.get(), impl_->eventlists, "eventlists", "listing event lists",
                             [&](InodeNumber ino, const MDB_val &value) -> Status {
                               mpi::Decoder in(lmdb::bytes_of(value));
                               auto generation = in.get<std::uint64_t>();
                               auto events = in.get<std::uint64_t>();
                               if (!generation.ok() || !events.ok() || !in.expect_end().ok()) {
                                 return impl_->corrupt("an event list", "undecodable record");
                               }
                               out.push_back({ino, *generation, *events});
                               return {};
                             }));
  return out;
}

MetaStore::ApplyingOp::ApplyingOp(MetaStore &store, std::uint64_t client, std::uint64_t seq)
    : store_(store), client_(client), seq_(seq), outer_(Impl::t_applying) {
  Impl::t_applying = this;
}

MetaStore::ApplyingOp::~ApplyingOp() {
  open_.reset();  // aborts what finish() did not commit, then lets the store go
  Impl::t_applying = outer_;
}

Status MetaStore::ApplyingOp::finish(const RecordedReply &reply) {
  if (!applied_) {
    open_.reset();
    return {};
  }
  Impl &impl = *store_.impl_;
  std::lock_guard lock(impl.mutex);
  std::unique_ptr<OpenTxn> open = std::move(open_);
  PDM_TRY(impl.put_reply(open->txn.get(), client_, seq_, reply));  // else `open` aborts it all
  return impl.commit_to_store(open->txn);
}

Result<std::optional<MetaStore::RecordedReply>> MetaStore::find_reply(std::uint64_t client,
                                                                      std::uint64_t seq) {
  std::lock_guard lock(impl_->mutex);
  PDM_ASSIGN_OR_RETURN(auto txn, impl_->begin(false));
  PDM_ASSIGN_OR_RETURN(auto value, impl_->fetch(txn.get(), impl_->replies, reply_key(client, seq),
                                                "an operation's reply record"));
  if (!value) return std::optional<RecordedReply>{};
  mpi::Decoder in(lmdb::bytes_of(*value));
  RecordedReply reply;
  auto mark = in.get<std::uint8_t>();
  auto status = in.get<std::int32_t>();
  auto message = in.get_string(64 * 1024);
  if (!mark.ok() || !status.ok() || !message.ok()) {
    return impl_->corrupt("an operation's reply record", "truncated");
  }
  if (*mark != 1) return impl_->corrupt("an operation's reply record", "unknown kind");
  reply.status = *status;
  reply.message = std::move(*message);
  const auto rest = in.rest();
  reply.payload.assign(rest.begin(), rest.end());
  return std::optional<RecordedReply>(std::move(reply));
}

Status MetaStore::Impl::put_reply(MDB_txn *txn, std::uint64_t client, std::uint64_t seq,
                                  const MetaStore::RecordedReply &reply) {
  PDM_TRY(store(txn, replies, reply_key(client, seq), encode_reply(reply),
                "an operation's reply record"));
  // A client retries only its operations in flight, which are among its
  // latest: now and then drop the ones far behind.
  if (seq % 256 != 0 || seq <= MetaStore::kReplyWindow) return {};
  const std::string end = reply_key(client, seq - MetaStore::kReplyWindow);
  std::vector<std::string> old;
  {
    lmdb::Cursor cursor;
    if (int rc = cursor.open(txn, replies); rc != 0) {
      return lmdb_error(rc, "reading the reply journal");
    }
    const std::string first = reply_key(client, 0);
    MDB_val key = lmdb::to_val(std::string_view(first));
    MDB_val data{};
    for (int rc = cursor.get(&key, &data, MDB_SET_RANGE);
         rc == 0 && lmdb::view_of(key) < std::string_view(end);
         rc = cursor.get(&key, &data, MDB_NEXT)) {
      old.emplace_back(lmdb::view_of(key));
    }
  }
  for (const auto &key : old) PDM_TRY(erase(txn, replies, key, "an old reply record"));
  return {};
}

Status MetaStore::record_reply(std::uint64_t client, std::uint64_t seq,
                               const RecordedReply &reply) {
  std::lock_guard lock(impl_->mutex);
  // Inside an operation of this thread, nested in its transaction like any
  // other write (two write transactions at once would corrupt the store).
  PDM_ASSIGN_OR_RETURN(auto txn, impl_->begin(true));
  PDM_TRY(impl_->put_reply(txn.get(), client, seq, reply));
  // Not impl_->commit: this transaction records a reply, it is no operation.
  if (int rc = txn.commit(); rc != 0) return impl_->lmdb_error(rc, "recording a reply");
  return {};
}

std::string open_key(InodeNumber ino, int holder) {
  std::string key = ino_key(ino);
  const auto rank = static_cast<std::uint32_t>(holder);
  for (int shift = 24; shift >= 0; shift -= 8)
    key.push_back(static_cast<char>((rank >> shift) & 0xffu));
  return key;
}

Status MetaStore::add_open(InodeNumber ino, int holder) {
  return add_opens(ino, {&holder, 1});
}

Status MetaStore::add_opens(InodeNumber ino, std::span<const int> holders) {
  std::lock_guard lock(impl_->mutex);
  PDM_ASSIGN_OR_RETURN(auto txn, impl_->begin(true));
  for (const int holder : holders) {
    const std::string key = open_key(ino, holder);
    PDM_ASSIGN_OR_RETURN(auto value, impl_->fetch(txn.get(), impl_->opens, key, "an open count"));
    std::uint64_t count = 0;
    if (value) {
      PDM_ASSIGN_OR_RETURN(count, impl_->decode_u64(*value, "an open count"));
    }
    PDM_TRY(impl_->store(txn.get(), impl_->opens, key, encode_u64(count + 1), "an open count"));
  }
  return impl_->commit(txn);
}

Status MetaStore::drop_open(InodeNumber ino, int holder) {
  return drop_opens(ino, {&holder, 1});
}

Status MetaStore::drop_opens(InodeNumber ino, std::span<const int> holders) {
  std::lock_guard lock(impl_->mutex);
  PDM_ASSIGN_OR_RETURN(auto txn, impl_->begin(true));
  for (const int holder : holders) {
    const std::string key = open_key(ino, holder);
    PDM_ASSIGN_OR_RETURN(auto value, impl_->fetch(txn.get(), impl_->opens, key, "an open count"));
    if (!value) return make_error(EBADF, "inode {} is not open on rank {}", ino, holder);
    PDM_ASSIGN_OR_RETURN(const auto count, impl_->decode_u64(*value, "an open count"));
    if (count <= 1) {
      PDM_TRY(impl_->erase(txn.get(), impl_->opens, key, "an open count"));
    } else {
      PDM_TRY(impl_->store(txn.get(), impl_->opens, key, encode_u64(count - 1), "an open count"));
    }
  }
  return impl_->commit(txn);
}

Result<bool> MetaStore::is_open(InodeNumber ino) {
  std::lock_guard lock(impl_->mutex);
  PDM_ASSIGN_OR_RETURN(auto txn, impl_->begin(false));
  return impl_->has_prefix(txn.get(), impl_->opens, ino_key(ino), "the open counts");
}

Status MetaStore::drop_opens_except(std::span<const int> live) {
  std::lock_guard lock(impl_->mutex);
  PDM_ASSIGN_OR_RETURN(auto txn, impl_->begin(true));
  std::vector<std::string> dead;
  {
    lmdb::Cursor cursor;
    if (int rc = cursor.open(txn.get(), impl_->opens); rc != 0) {
      return impl_->lmdb_error(rc, "reading the open counts");
    }
    MDB_val key{};
    MDB_val data{};
    for (int rc = cursor.get(&key, &data, MDB_FIRST); rc == 0;
         rc = cursor.get(&key, &data, MDB_NEXT)) {
      const std::string_view k = lmdb::view_of(key);
      if (k.size() != kInoKeySize + 4) return impl_->corrupt("an open count's key", "bad length");
      std::uint32_t rank = 0;
      for (std::size_t i = kInoKeySize; i < k.size(); ++i) {
        rank = (rank << 8) | static_cast<unsigned char>(k[i]);
      }
      if (std::find(live.begin(), live.end(), static_cast<int>(rank)) == live.end()) {
        dead.emplace_back(k);
      }
    }
  }
  for (const auto &key : dead) PDM_TRY(impl_->erase(txn.get(), impl_->opens, key, "an open count"));
  if (int rc = txn.commit(); rc != 0) return impl_->lmdb_error(rc, "dropping dead ranks' opens");
  return {};
}

Status MetaStore::start_job() {
  std::lock_guard lock(impl_->mutex);
  PDM_ASSIGN_OR_RETURN(auto write, impl_->begin(true));
  for (MDB_dbi dbi : {impl_->replies, impl_->opens}) {
    if (int rc = mdb_drop(write.get(), dbi, 0); rc != 0) {
      return impl_->lmdb_error(rc, "clearing the last job's replies and opens");
    }
  }
  if (int rc = write.commit(); rc != 0) {
    return impl_->lmdb_error(rc, "clearing the last job's replies and opens");
  }
  return {};
}

}  // namespace pdm::pfs

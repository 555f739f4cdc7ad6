// ObjectStore: the object files of the volumes this rank serves. An object
// holds one file's stripes on one volume (see Layout); it is sparse, created
// on the first write and may be shorter than the file (holes read as zeros).
// Thread-safe: open descriptors are cached (bounded) and shared, so
// concurrent reads and writes of many threads proceed in parallel.
#pragma once

#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "pfs/meta/dm_state.h"
#include "pfs/meta/inode.h"
#include "runtime/base/result.h"

namespace pdm::pfs {

struct VolumeUsage {
  std::uint32_t volume = 0;
  std::uint64_t object_bytes = 0;  // space the objects occupy (allocated blocks)
  std::uint64_t objects = 0;
  std::uint64_t device_total = 0;  // the underlying file system of the volume directory
  std::uint64_t device_free = 0;
};

// One piece of a scattered read (ObjectStore::read_pieces): `length` bytes
// at `offset` of the object, into `dest`. `got` is set to the bytes the
// object holds there; the rest of the piece reads as zeros.
struct ReadPiece {
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
  std::byte *dest = nullptr;
  std::uint64_t got = 0;
};

class ObjectStore {
 public:
  // volume_dirs[i] is the directory of volume i.
  explicit ObjectStore(std::vector<std::string> volume_dirs, std::size_t max_open = 256);
  ~ObjectStore();

  Status write(std::uint32_t volume, InodeNumber ino, std::uint64_t offset,
               std::span<const std::byte> data);
  // Reads up to data.size() bytes; returns how many the object holds there
  // (short at the object's end; a missing object reads as empty).
  Result<std::size_t> read(std::uint32_t volume, InodeNumber ino, std::uint64_t offset,
                           std::span<std::byte> data);
  // Reads every piece, zeros past the object's end. Pieces in ascending
  // order closer than kSieveGap are read with one pread of their hull (up
  // to kSieveSpan): a system call costs more than copying a few pages out
  // of the page cache (a strided read of many small ranges).
  Status read_pieces(std::uint32_t volume, InodeNumber ino, std::span<ReadPiece> pieces);
  static constexpr std::uint64_t kSieveGap = 8 << 10;
  static constexpr std::uint64_t kSieveSpan = 1 << 20;
  // Shrinks the object to at most `length` bytes (never grows it).
  Status truncate(std::uint32_t volume, InodeNumber ino, std::uint64_t length);
  // Removes the object; a missing one is fine.
  Status remove(std::uint32_t volume, InodeNumber ino);
  Status sync(std::uint32_t volume, InodeNumber ino);
  // Frees the object's blocks in [offset, offset + length) (dm_punch_hole):
  // fallocate(PUNCH_HOLE); where the file system of the volume cannot punch,
  // the range is overwritten with zeros (read the same, but no space is freed).
  Status punch(std::uint32_t volume, InodeNumber ino, std::uint64_t offset, std::uint64_t length);
  // The ranges of the object that hold data, as SEEK_DATA/SEEK_HOLE see them
  // ({offset, length} pairs in order; a missing object has none).
  Result<std::vector<ByteRange>> data_ranges(std::uint32_t volume, InodeNumber ino);
  Result<VolumeUsage> usage(std::uint32_t volume);

  std::size_t volume_count() const { return dirs_.size(); }
  const std::string &volume_dir(std::uint32_t volume) const { return dirs_.at(volume); }

 private:
  struct Fd;
  using Key = std::pair<std::uint32_t, InodeNumber>;
  struct KeyHash {
    std::size_t operator()(const Key &k) const { return k.second * 31 + k.first; }
  };
  // A cached descriptor; create=false returns ENOENT for a missing object.
  Result<std::shared_ptr<Fd>> open(std::uint32_t volume, InodeNumber ino, bool create);
  void forget(const Key &key);
  Status check_volume(std::uint32_t volume) const;

  std::vector<std::string> dirs_;
  std::size_t max_open_;
  std::mutex mutex_;
  std::list<Key> lru_;  // most recent first
  struct Entry {
    std::shared_ptr<Fd> fd;
    std::list<Key>::iterator lru;
  };
  std::unordered_map<Key, Entry, KeyHash> open_;
};

}  // namespace pdm::pfs

// Archive: the tier pdm-hsm copies file data to (DESIGN.md §8). One
// interface, several backends (HDF5 containers; a POSIX directory); which
// archives a file system has is registered in its config (archive_registry.h).
//
// A stored copy is durable when store() returns: its data and metadata are
// flushed and fsynced, and its xxHash64 checksum is computed over the bytes
// as they were read. The space of a file is released only after that (the
// migration invariant), so store() must never return before the copy would
// survive a crash of this process or of the machine.
//
// Every copy describes itself (ArchivedFile): a lost catalog (the DM
// attributes of the files) is rebuilt from list() alone.
//
// Thread safety: an Archive object may be used by several threads of one
// process at once (migration on the main thread, recalls on the event
// thread); backends serialise what their library needs serialised (HDF5 is
// not thread-safe).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "runtime/base/result.h"

namespace pdm::hsm {

// What the archive records about one archived file version.
struct ArchivedFile {
  std::string path;  // in the pdm file system, at copy time
  std::uint64_t ino = 0;
  std::uint64_t generation = 0;
  std::uint64_t size = 0;
  std::int64_t mtime_ns = 0;
  std::uint64_t checksum = 0;  // xxHash64 (seed 0) of the data; set by store()
};

// Where a copy lives: "<archive id>:<backend-specific locator>", printable,
// stored as a DM attribute of the file. locator has no ':' restriction
// (everything after the first ':' belongs to it).
struct ArchiveLocation {
  std::string archive_id;
  std::string locator;

  std::string encode() const { return archive_id + ":" + locator; }
  static Result<ArchiveLocation> decode(const std::string &text);
};

struct StoredCopy {
  ArchiveLocation location;
  ArchivedFile file;  // with checksum set
};

// A copy found in the archive (list()).
struct ArchiveRecord {
  ArchiveLocation location;
  ArchivedFile file;
};

// Reads up to out.size() bytes of the source at offset; returns the count
// (0 only at the end). Errors abort the copy, which leaves nothing behind.
using SourceReader =
    std::function<Result<std::size_t>(std::uint64_t offset, std::span<std::byte> out)>;
// Writes data at offset of the destination.
using SinkWriter = std::function<Status(std::uint64_t offset, std::span<const std::byte> data)>;

class Archive {
 public:
  virtual ~Archive() = default;
  virtual const std::string &id() const = 0;

  // Copies file.size bytes from read into a new copy and returns once it is
  // durable. A source shorter than file.size is EIO (the file changed).
  virtual Result<StoredCopy> store(const ArchivedFile &file, const SourceReader &read) = 0;
  // Streams the copy at `location` into write, verifying the recorded
  // checksum over the whole copy: EIO (data) or ENOENT (no such copy) on
  // failure. Data already handed to write before a checksum failure must
  // not be trusted by the caller.
  virtual Status fetch(const ArchiveLocation &location, const SinkWriter &write) = 0;
  // The recorded metadata of one copy (ENOENT if none).
  virtual Result<ArchivedFile> describe(const ArchiveLocation &location) = 0;
  // Drops a copy (ENOENT if none). Space is reclaimed as the backend can.
  virtual Status remove(const ArchiveLocation &location) = 0;
  // Every copy the archive holds.
  virtual Result<std::vector<ArchiveRecord>> list() = 0;
};

}  // namespace pdm::hsm

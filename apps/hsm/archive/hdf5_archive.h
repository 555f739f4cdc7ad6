// Hdf5Archive: copies kept as datasets in HDF5 containers (DESIGN.md §8).
//
//   DIR/pdm-hsm-hdf5                      marker: "this is a pdm-hsm archive"
//   DIR/c-<writer>-<seq>.h5               containers (seq: 000001, ...)
//     /f<ino>.<gen>.<n>                   one dataset per archived file version:
//                                         1-D uint8, chunked, optional deflate,
//                                         attributes path, ino, generation,
//                                         size, mtime_ns, xxhash64
//
// A locator is "<container>:<dataset>", e.g. "c-r3-5f1e-000001.h5:/f42.3.0".
// The attributes make every copy self-describing: `h5ls -v` / `h5dump -A`
// show them and list() rebuilds the catalog from the containers alone.
//
// Writers. Every process writes only containers named after its writer name
// (OpenArchiveOptions::writer: unique among concurrent writers, e.g. rank
// and a per-run tag), so ranks fill their own containers in parallel. A
// writer starts after the highest sequence number its name already has
// (it never reopens a container of an earlier run) and rotates to the next
// container after container_files copies or container_bytes bytes.
//
// Durability. store() opens the container, writes the dataset, then the
// attributes (xxhash64 last: a dataset without it is not a copy), flushes
// and closes the HDF5 file, fsyncs it (and the directory for a new
// container) before returning. A new container is created complete under a
// temporary name and renamed into place, so a container name always holds a
// valid HDF5 file.
//
// Concurrency. HDF5 (this build) is not thread-safe: every HDF5 call in the
// process runs under hdf5_mutex(). Across processes, a container is only
// opened by HDF5 under an flock on it (HDF5's own non-blocking locking is
// switched off): the writer holds LOCK_EX for the whole store() and closes
// the file before releasing it, readers (fetch, describe, list) hold
// LOCK_SH, so a reader on any node always opens a complete, closed file.
// flock must work on the archive's file system (local, NFSv4; Lustre with
// -o flock).
//
// Space. remove() unlinks the dataset; HDF5 does not give the space back
// inside a file. A container left with no dataset is deleted (space back at
// once); otherwise the space returns when its last copy is removed, or with
// `h5repack` run on it while no pdm-hsm process uses the archive.
//
// Crashes. A kill before store()'s flush leaves the container as it was
// (HDF5 writes metadata at flush; new data lands beyond the old end of
// file). HDF5 has no journal: a kill *during* the flush can damage the
// container being written, i.e. the copies stored earlier in it by this
// writer, which may already be released. So container_files is 1 by
// default (one copy per container, written under a temporary name and
// linked into place: a kill leaves either no container or a complete one);
// a larger value saves files but accepts that window.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "apps/hsm/archive/archive.h"

namespace pdm::hsm {

struct Hdf5Options {
  std::string writer;                   // [A-Za-z0-9_.-]+ (other chars become '_')
  int deflate = 0;                      // 0: none; 1..9: gzip level
  std::uint64_t chunk_bytes = 1 << 20;  // dataset chunk size
  // Rotate after this many copies. 1 (the default) keeps the migration
  // invariant under any kill (see Crashes above); more groups copies into
  // fewer files and reopens that window.
  std::uint64_t container_files = 1;
  std::uint64_t container_bytes = 16ull << 30;  // or after this many bytes
};

// The one lock around every HDF5 call of the process (recursive, so that
// RAII handle destructors may run while it is held).
std::recursive_mutex &hdf5_mutex();

class Hdf5Archive final : public Archive {
 public:
  static Result<std::unique_ptr<Hdf5Archive>> open(std::string id, std::string dir,
                                                   Hdf5Options options, bool create);

  const std::string &id() const override { return id_; }
  Result<StoredCopy> store(const ArchivedFile &file, const SourceReader &read) override;
  Status fetch(const ArchiveLocation &location, const SinkWriter &write) override;
  Result<ArchivedFile> describe(const ArchiveLocation &location) override;
  Status remove(const ArchiveLocation &location) override;
  Result<std::vector<ArchiveRecord>> list() override;

  // The container file of a copy (tests, tools).
  Result<std::string> container_path(const ArchiveLocation &location) const;

 private:
  Hdf5Archive(std::string id, std::string dir, Hdf5Options options)
      : id_(std::move(id)), dir_(std::move(dir)), options_(std::move(options)) {}
  struct Parsed {
    std::string container;  // file name in dir_
    std::string dataset;    // "/f..."
  };
  Result<Parsed> parse(const ArchiveLocation &location) const;
  // Opens (creating if needed) the container to write next: rotation.
  Status pick_container();

  std::string id_;
  std::string dir_;
  Hdf5Options options_;

  std::mutex store_mutex_;  // one store() at a time per object; guards below
  std::uint64_t seq_ = 0;   // current container; 0: none yet
  std::uint64_t files_in_container_ = 0;
  std::uint64_t bytes_in_container_ = 0;
};

}  // namespace pdm::hsm

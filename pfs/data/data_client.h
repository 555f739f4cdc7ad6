// DataClient: file-level data operations over the striped layout. A range is
// split into one request per volume (at most max_request bytes each); the
// requests to remote owners are all in flight at once while this rank does
// the part on its own volumes directly, then it waits for the rest. Volumes
// marked direct (shared directories this rank can reach, io.direct) are
// read and written by this rank itself, whoever owns them.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "pfs/data/object_store.h"
#include "pfs/layout.h"
#include "runtime/mpi/rpc.h"

namespace pdm::pfs {

class DataClient {
 public:
  DataClient(mpi::RpcEngine &engine, ObjectStore &objects, std::uint64_t max_request,
             std::vector<bool> direct);

  Status write(const Layout &layout, InodeNumber ino, std::uint64_t offset,
               std::span<const std::byte> data);
  // Writes `data` to the file ranges `extents`, one after the other (their
  // lengths add up to data.size()), with the requests of all of them in
  // flight at once: many small ranges cost about one round trip, not one
  // each (the MPI-IO shim's strided views).
  Status write_extents(const Layout &layout, InodeNumber ino, std::span<const ByteRange> extents,
                       std::span<const std::byte> data);
  // Fills `data` completely: bytes never written (holes) read as zeros. The
  // caller clips the range to the file size first.
  Status read(const Layout &layout, InodeNumber ino, std::uint64_t offset,
              std::span<std::byte> data);
  // Reads the file ranges `extents` into `data`, one after the other (their
  // lengths add up to data.size()), as read of each would. The ranges on
  // one volume go in one request (up to max_request bytes), all requests in
  // flight at once: a strided read of many small pieces costs about one
  // round trip per volume and moves only the bytes asked for (a request
  // holds at most kMaxRangesPerRequest ranges).
  Status read_extents(const Layout &layout, InodeNumber ino, std::span<const ByteRange> extents,
                      std::span<std::byte> data);
  // Trims every volume's object to hold exactly the first file_size bytes.
  Status truncate(const Layout &layout, InodeNumber ino, std::uint64_t file_size);
  // Removes the file's object on every volume.
  Status remove(InodeNumber ino);
  // Flushes the file's object on every volume to stable storage.
  Status sync(InodeNumber ino);
  Result<std::vector<VolumeUsage>> usage();
  // Frees the file's bytes [offset, offset + length) on the volumes (holes in
  // the objects; see ObjectStore::punch).
  Status punch(const Layout &layout, InodeNumber ino, std::uint64_t offset, std::uint64_t length);
  // The file ranges that hold data on the volumes, in file order and merged
  // (SEEK_DATA/SEEK_HOLE of every object, mapped through the layout).
  Result<std::vector<ByteRange>> data_ranges(const Layout &layout, InodeNumber ino);

 private:
  // How long a data request keeps being re-sent across view changes before
  // the call fails with ESTALE (a view change takes about the heartbeat
  // timeout; several in a row are possible).
  static constexpr std::chrono::seconds kViewChangeRetryLimit{30};
  struct Segment {
    std::uint64_t buffer_offset;
    std::uint64_t length;
  };
  struct Chunk {
    std::uint32_t volume;
    std::uint64_t object_offset;
    std::uint64_t length;
    std::vector<Segment> segments;
  };
  // The chunks of file range [offset, offset + length); segments count
  // their buffer offsets from `buffer_base`.
  std::vector<Chunk> plan(const Layout &layout, std::uint64_t offset, std::uint64_t length,
                          std::uint64_t buffer_base = 0) const;
  // The chunks of `extents`, whose bytes follow one another in the buffer.
  std::vector<Chunk> plan_extents(const Layout &layout, std::span<const ByteRange> extents) const;
  // Chunks of one volume read with one request (read_extents).
  struct Gather {
    std::uint32_t volume;
    std::vector<const Chunk *> chunks;
    std::uint64_t length = 0;
  };
  // At most this many requests of one write_extents or read_extents are in
  // flight at once.
  static constexpr std::size_t kMaxChunksInFlight = 512;
  // At most this many ranges in one read request (64 KiB of them): a column
  // of doubles would otherwise put up to max_request / 8 ranges in one,
  // past what a message may list (mpi::kMaxItems), and an owner's progress
  // thread serving one request answers no heartbeat meanwhile (with 65536
  // ranges under ThreadSanitizer, long enough to be suspected).
  static constexpr std::size_t kMaxRangesPerRequest = 4096;
  // Runs `local` for items (chunks or gathers) of volumes this rank owns and
  // sends a request built by `request` for the others; `done` receives each
  // remote response.
  template <typename Item, typename Local, typename Build, typename Done>
  Status run(std::span<const Item> items, mpi::MsgType type, Local local, Build request, Done done);
  // run over at most kMaxChunksInFlight items at a time; the first error.
  template <typename Item, typename Local, typename Build, typename Done>
  Status run_batched(std::span<const Item> items, mpi::MsgType type, Local local, Build request,
                     Done done);
  // The same object operation on every volume.
  Status on_every_volume(mpi::MsgType type, InodeNumber ino,
                         const std::function<std::uint64_t(std::uint32_t)> &length_of);

  mpi::RpcEngine &engine_;
  ObjectStore &objects_;
  bool handled_here(std::uint32_t volume, const cluster::View &view) const;

  std::uint64_t max_request_;
  std::vector<bool> direct_;  // per volume: this rank does its I/O itself
};

}  // namespace pdm::pfs

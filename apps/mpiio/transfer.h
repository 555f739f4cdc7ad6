// Moves data between an MPI buffer (count instances of a memory datatype)
// and the file segments a view maps, through pfs::FileSystem. A
// non-contiguous buffer is packed into (or unpacked from) a staging buffer;
// reads of nearby small segments are sieved into one large read, as ROMIO's
// data sieving does (writes are not: it would need a lock around the
// read-modify-write).
#pragma once

#include <mpi.h>

#include <cstdint>
#include <vector>

#include "apps/mpiio/view.h"
#include "pfs/client/file_system.h"
#include "runtime/base/result.h"

namespace pdm::mpiio {

struct Request {
  void *buffer = nullptr;
  std::int64_t count = 0;
  MPI_Datatype type = MPI_BYTE;
};

// The bytes of data a request names (count * size of the type).
Result<std::int64_t> request_bytes(const Request &request);

// A request mapped onto a view: the file segments of its bytes, in stream
// order, and those bytes as one packed run (the caller's buffer itself when
// its memory type is contiguous, else a staging copy).
class MappedRequest {
 public:
  // For a write the staging copy holds the packed data at once.
  static Result<MappedRequest> make(const View &view, std::int64_t pos, const Request &request,
                                    bool writing);
  std::int64_t bytes() const { return bytes_; }
  const std::vector<Block> &segments() const { return segments_; }
  std::byte *data() { return data_; }
  // After a read into data(): unpacks its first `got` bytes into the typed buffer.
  void finish_read(std::int64_t got);

 private:
  Request request_;
  FlatType memory_;
  std::int64_t bytes_ = 0;
  std::vector<Block> segments_;
  std::vector<std::byte> staging_;
  std::byte *data_ = nullptr;
};

// Reads `segments` (file offsets, non-decreasing) into `out`, one after the
// other; nearby small ones are sieved into one large read. Returns the bytes
// read: a prefix of the segments' bytes when the file ends inside them.
Result<std::int64_t> read_segments(pfs::FileSystem &fs, int fd, const std::vector<Block> &segments,
                                   std::byte *out);

// Independent transfers of a mapped request; the bytes moved (a read gets
// fewer at the end of the file).
Result<std::int64_t> write_mapped(pfs::FileSystem &fs, int fd, MappedRequest &mapped);
Result<std::int64_t> read_mapped(pfs::FileSystem &fs, int fd, MappedRequest &mapped);

}  // namespace pdm::mpiio

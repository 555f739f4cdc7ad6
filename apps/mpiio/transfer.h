// Moves data between an MPI buffer (count instances of a memory datatype)
// and the file segments a view maps, through pfs::FileSystem. A
// non-contiguous buffer is packed into (or unpacked from) a staging buffer;
// reads of nearby small segments are sieved into one large read, as ROMIO's
// data sieving does (writes are not: it would need a lock around the
// read-modify-write).
#pragma once

#include <mpi.h>

#include <cstdint>

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

// Writes the request at stream position `pos` of `view`; returns the bytes written.
Result<std::int64_t> write_request(pfs::FileSystem &fs, int fd, const View &view, std::int64_t pos,
                                   const Request &request);
// Reads into the request from stream position `pos`; returns the bytes read
// (fewer at the end of the file).
Result<std::int64_t> read_request(pfs::FileSystem &fs, int fd, const View &view, std::int64_t pos,
                                  const Request &request);

}  // namespace pdm::mpiio

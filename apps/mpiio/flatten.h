// Datatype flattening, as ROMIO's ADIOI_Flatten does: an MPI datatype becomes
// the list of (displacement, length) byte blocks of its type map, in type map
// order, with adjacent blocks merged. File views and memory buffers of the
// shim are then plain block lists (view.h, transfer.h).
#pragma once

#include <mpi.h>

#include <cstdint>
#include <vector>

#include "runtime/base/result.h"

namespace pdm::mpiio {

struct Block {
  std::int64_t offset = 0;  // bytes from the start of the type (its typemap origin)
  std::int64_t length = 0;
  bool operator==(const Block &) const = default;
};

struct FlatType {
  std::vector<Block> blocks;  // type map order, adjacent blocks merged
  std::int64_t size = 0;      // bytes of data (MPI_Type_size)
  std::int64_t extent = 0;    // MPI_Type_get_extent: the stride of count > 1
  // One block covering the whole extent: `count` instances are one run of bytes.
  bool contiguous() const {
    return size == extent && (blocks.empty() || (blocks.size() == 1 && blocks[0].offset == 0));
  }
};

// Flattens one instance of `type`. Handles every combiner but DARRAY
// (ENOTSUP); named types are one block of their size (pair types such as
// MPI_SHORT_INT, whose members leave a gap, are not split).
Result<FlatType> flatten(MPI_Datatype type);

// Appends `block` shifted by `shift` to `out`, merging it with the last block
// when they touch.
void append_block(std::vector<Block> &out, Block block, std::int64_t shift = 0);

}  // namespace pdm::mpiio

// A file view (MPI-3.1 §13.3): a displacement and a filetype tiled from it;
// the view's data stream is the bytes the tiles select, in order. View maps a
// range of that stream to the file segments it occupies.
#pragma once

#include <mpi.h>

#include <cstdint>
#include <vector>

#include "apps/mpiio/flatten.h"
#include "runtime/base/result.h"

namespace pdm::mpiio {

class View {
 public:
  // The view every file has at open: displacement 0, etype and filetype MPI_BYTE.
  View();
  // Flattens the filetype; EINVAL if it is not a multiple of the etype.
  static Result<View> make(std::int64_t disp, MPI_Datatype etype, MPI_Datatype filetype);

  // The file segments of stream bytes [pos, pos + length), in stream order,
  // adjacent ones merged. A view with no data maps nothing.
  std::vector<Block> map(std::int64_t pos, std::int64_t length) const;
  // The file offset of stream byte `pos` (MPI_File_get_byte_offset).
  std::int64_t byte_offset(std::int64_t pos) const;
  // How many stream bytes lie before file offset `end` (filetype blocks are
  // assumed inside [0, extent), as MPI requires of monotone filetypes).
  std::int64_t stream_bytes_before(std::int64_t end) const;

  std::int64_t disp() const { return disp_; }
  std::int64_t etype_size() const { return etype_size_; }
  bool has_data() const { return file_.size > 0; }

 private:
  std::int64_t disp_ = 0;
  std::int64_t etype_size_ = 1;
  FlatType file_;
  std::vector<std::int64_t> prefix_;  // stream bytes before each block of a tile
};

}  // namespace pdm::mpiio

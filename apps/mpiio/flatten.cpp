#include "apps/mpiio/flatten.h"

#include <algorithm>
#include <numeric>

namespace pdm::mpiio {
namespace {

// The blocks of one instance of `type`, relative to its typemap origin.
Result<std::vector<Block>> blocks_of(MPI_Datatype type);

// Owns the datatypes MPI_Type_get_contents returned (derived ones must be freed).
class Contents {
 public:
  explicit Contents(MPI_Datatype type) {
    int combiner = 0;
    MPI_Type_get_envelope(type, &ni_, &na_, &nt_, &combiner);
    combiner_ = combiner;
    ints.resize(static_cast<std::size_t>(ni_));
    addresses.resize(static_cast<std::size_t>(na_));
    types.resize(static_cast<std::size_t>(nt_));
    if (combiner != MPI_COMBINER_NAMED) {
      MPI_Type_get_contents(type, ni_, na_, nt_, ints.data(), addresses.data(), types.data());
    }
  }
  ~Contents() {
    for (MPI_Datatype &t : types) {
      int ni = 0, na = 0, nt = 0, combiner = 0;
      MPI_Type_get_envelope(t, &ni, &na, &nt, &combiner);
      if (combiner != MPI_COMBINER_NAMED) MPI_Type_free(&t);
    }
  }
  Contents(const Contents &) = delete;
  Contents &operator=(const Contents &) = delete;
  int combiner() const { return combiner_; }

  std::vector<int> ints;
  std::vector<MPI_Aint> addresses;
  std::vector<MPI_Datatype> types;

 private:
  int ni_ = 0, na_ = 0, nt_ = 0, combiner_ = 0;
};

std::int64_t extent_of(MPI_Datatype type) {
  MPI_Count lb = 0, extent = 0;
  MPI_Type_get_extent_x(type, &lb, &extent);
  return extent;
}

void place(std::vector<Block> &out, const std::vector<Block> &child, std::int64_t shift) {
  for (const Block &b : child) append_block(out, b, shift);
}

// `blocklength` consecutive instances of a child (stride: its extent) at `at`.
void place_run(std::vector<Block> &out, const std::vector<Block> &child, std::int64_t child_extent,
               std::int64_t blocklength, std::int64_t at) {
  for (std::int64_t j = 0; j < blocklength; ++j) place(out, child, at + j * child_extent);
}

// MPI_Type_create_subarray: the rows of the subarray (last dimension in C
// order, first in Fortran order), each `subsizes[row]` children long.
std::vector<Block> subarray_blocks(const std::vector<int> &ints, const std::vector<Block> &child,
                                   std::int64_t child_extent) {
  const int ndims = ints[0];
  std::vector<std::int64_t> sizes(ndims), subsizes(ndims), starts(ndims);
  for (int d = 0; d < ndims; ++d) {
    sizes[d] = ints[1 + d];
    subsizes[d] = ints[1 + ndims + d];
    starts[d] = ints[1 + 2 * ndims + d];
  }
  const bool c_order = ints[1 + 3 * ndims] == MPI_ORDER_C;
  // Dimensions from the fastest-varying to the slowest.
  std::vector<int> dims(ndims);
  std::iota(dims.begin(), dims.end(), 0);
  if (c_order) std::reverse(dims.begin(), dims.end());
  std::vector<std::int64_t> stride(ndims);  // in children
  std::int64_t s = 1;
  for (int d : dims) {
    stride[d] = s;
    s *= sizes[d];
  }
  std::vector<Block> out;
  for (std::int64_t n : subsizes) {
    if (n == 0) return out;
  }
  const int row = dims[0];
  std::vector<std::int64_t> index(ndims, 0);  // over the outer dimensions
  while (true) {
    std::int64_t at = starts[row] * stride[row];
    for (int k = 1; k < ndims; ++k) at += (starts[dims[k]] + index[dims[k]]) * stride[dims[k]];
    place_run(out, child, child_extent, subsizes[row], at * child_extent);
    int k = 1;
    for (; k < ndims; ++k) {
      if (++index[dims[k]] < subsizes[dims[k]]) break;
      index[dims[k]] = 0;
    }
    if (k == ndims) break;
  }
  return out;
}

Result<std::vector<Block>> blocks_of(MPI_Datatype type) {
  Contents c(type);
  const auto &in = c.ints;
  const auto &ad = c.addresses;
  std::vector<Block> out;
  if (c.combiner() == MPI_COMBINER_NAMED || c.combiner() == MPI_COMBINER_F90_REAL ||
      c.combiner() == MPI_COMBINER_F90_COMPLEX || c.combiner() == MPI_COMBINER_F90_INTEGER) {
    MPI_Count size = 0;
    MPI_Type_size_x(type, &size);
    if (size > 0) out.push_back({0, size});
    return out;
  }
  if (c.combiner() == MPI_COMBINER_STRUCT) {
    const int count = in[0];
    for (int i = 0; i < count; ++i) {
      PDM_ASSIGN_OR_RETURN(auto child, blocks_of(c.types[i]));
      place_run(out, child, extent_of(c.types[i]), in[1 + i], ad[i]);
    }
    return out;
  }
  if (c.types.empty())
    return make_error(ENOTSUP, "datatype combiner {} has no child", c.combiner());
  PDM_ASSIGN_OR_RETURN(auto child, blocks_of(c.types[0]));
  const std::int64_t ext = extent_of(c.types[0]);
  switch (c.combiner()) {
    case MPI_COMBINER_DUP:
    case MPI_COMBINER_RESIZED:
      return child;
    case MPI_COMBINER_CONTIGUOUS:
      place_run(out, child, ext, in[0], 0);
      return out;
    case MPI_COMBINER_VECTOR:
      for (int i = 0; i < in[0]; ++i)
        place_run(out, child, ext, in[1], i * std::int64_t{in[2]} * ext);
      return out;
    case MPI_COMBINER_HVECTOR:
      for (int i = 0; i < in[0]; ++i) place_run(out, child, ext, in[1], i * std::int64_t{ad[0]});
      return out;
    case MPI_COMBINER_INDEXED:
      for (int i = 0; i < in[0]; ++i) {
        place_run(out, child, ext, in[1 + i], std::int64_t{in[1 + in[0] + i]} * ext);
      }
      return out;
    case MPI_COMBINER_HINDEXED:
      for (int i = 0; i < in[0]; ++i) place_run(out, child, ext, in[1 + i], ad[i]);
      return out;
    case MPI_COMBINER_INDEXED_BLOCK:
      for (int i = 0; i < in[0]; ++i)
        place_run(out, child, ext, in[1], std::int64_t{in[2 + i]} * ext);
      return out;
    case MPI_COMBINER_HINDEXED_BLOCK:
      for (int i = 0; i < in[0]; ++i) place_run(out, child, ext, in[1], ad[i]);
      return out;
    case MPI_COMBINER_SUBARRAY:
      return subarray_blocks(in, child, ext);
    default:
      return make_error(ENOTSUP, "datatype combiner {} is not supported by the pdm MPI-IO shim",
                        c.combiner());
  }
}

}  // namespace

void append_block(std::vector<Block> &out, Block block, std::int64_t shift) {
  if (block.length == 0) return;
  block.offset += shift;
  if (!out.empty() && out.back().offset + out.back().length == block.offset) {
    out.back().length += block.length;
  } else {
    out.push_back(block);
  }
}

Result<FlatType> flatten(MPI_Datatype type) {
  if (type == MPI_DATATYPE_NULL) return make_error(EINVAL, "MPI_DATATYPE_NULL");
  FlatType flat;
  MPI_Count size = 0;
  MPI_Type_size_x(type, &size);
  flat.size = size;
  flat.extent = extent_of(type);
  PDM_ASSIGN_OR_RETURN(flat.blocks, blocks_of(type));
  return flat;
}

}  // namespace pdm::mpiio

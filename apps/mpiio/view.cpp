#include "apps/mpiio/view.h"

#include <algorithm>

namespace pdm::mpiio {

View::View() {
  file_.blocks = {{0, 1}};
  file_.size = 1;
  file_.extent = 1;
  prefix_ = {0};
}

Result<View> View::make(std::int64_t disp, MPI_Datatype etype, MPI_Datatype filetype) {
  View view;
  MPI_Count etype_size = 0;
  MPI_Type_size_x(etype, &etype_size);
  view.disp_ = disp;
  view.etype_size_ = std::max<std::int64_t>(etype_size, 1);
  PDM_ASSIGN_OR_RETURN(view.file_, flatten(filetype));
  if (view.file_.size % view.etype_size_ != 0) {
    return make_error(EINVAL, "the filetype ({} bytes) is not a multiple of the etype ({} bytes)",
                      view.file_.size, view.etype_size_);
  }
  view.prefix_.clear();
  std::int64_t before = 0;
  for (const Block &b : view.file_.blocks) {
    view.prefix_.push_back(before);
    before += b.length;
  }
  return view;
}

std::vector<Block> View::map(std::int64_t pos, std::int64_t length) const {
  std::vector<Block> out;
  if (length <= 0 || file_.size == 0) return out;
  if (file_.contiguous()) {
    out.push_back({disp_ + pos, length});
    return out;
  }
  std::int64_t tile = pos / file_.size;
  std::int64_t within = pos % file_.size;
  auto i = static_cast<std::size_t>(std::upper_bound(prefix_.begin(), prefix_.end(), within) -
                                    prefix_.begin() - 1);
  while (length > 0) {
    const Block &b = file_.blocks[i];
    const std::int64_t skip = within - prefix_[i];
    const std::int64_t take = std::min(b.length - skip, length);
    append_block(out, {disp_ + tile * file_.extent + b.offset + skip, take});
    length -= take;
    within += take;
    if (++i == file_.blocks.size()) {
      i = 0;
      ++tile;
      within = 0;
    }
  }
  return out;
}

std::int64_t View::byte_offset(std::int64_t pos) const {
  if (file_.size == 0) return disp_;
  return map(pos, 1).front().offset;
}

std::int64_t View::stream_bytes_before(std::int64_t end) const {
  if (end <= disp_ || file_.size == 0) return 0;
  const std::int64_t rel = end - disp_;
  const std::int64_t tiles = rel / file_.extent;
  const std::int64_t rest = rel % file_.extent;
  std::int64_t bytes = tiles * file_.size;
  for (const Block &b : file_.blocks)
    bytes += std::clamp<std::int64_t>(rest - b.offset, 0, b.length);
  return bytes;
}

}  // namespace pdm::mpiio

#include "pfs/layout.h"

#include <algorithm>

namespace pdm::pfs {

Layout::Layout(std::uint32_t stripe_size, std::uint32_t volume_count, std::uint32_t first_volume)
    : stripe_size_(stripe_size),
      volume_count_(std::max<std::uint32_t>(volume_count, 1)),
      first_volume_(first_volume % std::max<std::uint32_t>(volume_count, 1)) {}

std::uint32_t Layout::volume_of(std::uint64_t file_offset) const {
  const std::uint64_t stripe = file_offset / stripe_size_;
  return static_cast<std::uint32_t>((first_volume_ + stripe) % volume_count_);
}

std::uint64_t Layout::object_offset_of(std::uint64_t file_offset) const {
  const std::uint64_t stripe = file_offset / stripe_size_;
  return (stripe / volume_count_) * stripe_size_ + file_offset % stripe_size_;
}

std::uint64_t Layout::file_offset_of(std::uint32_t volume, std::uint64_t object_offset) const {
  const std::uint64_t position = (volume + volume_count_ - first_volume_) % volume_count_;
  const std::uint64_t stripe = (object_offset / stripe_size_) * volume_count_ + position;
  return stripe * stripe_size_ + object_offset % stripe_size_;
}

std::vector<StripePiece> Layout::pieces(std::uint64_t offset, std::uint64_t length) const {
  std::vector<StripePiece> out;
  std::uint64_t pos = offset;
  const std::uint64_t end = offset + length;
  while (pos < end) {
    const std::uint64_t stripe_end = (pos / stripe_size_ + 1) * stripe_size_;
    const std::uint64_t piece_end = std::min(end, stripe_end);
    out.push_back({volume_of(pos), object_offset_of(pos), pos, piece_end - pos});
    pos = piece_end;
  }
  return out;
}

std::vector<VolumeRange> Layout::by_volume(std::uint64_t offset, std::uint64_t length) const {
  std::vector<VolumeRange> out;
  for (const auto &piece : pieces(offset, length)) {
    auto it = std::find_if(out.begin(), out.end(),
                           [&](const VolumeRange &r) { return r.volume == piece.volume; });
    if (it == out.end()) {
      out.push_back({piece.volume, piece.object_offset, 0, {}});
      it = out.end() - 1;
    }
    it->length += piece.length;
    it->pieces.push_back(piece);
  }
  return out;
}

std::uint64_t Layout::object_length_for(std::uint64_t file_size, std::uint32_t volume) const {
  if (file_size == 0) return 0;
  // The last stripe of the file that lives on `volume`.
  const std::uint64_t last_stripe = (file_size - 1) / stripe_size_;
  const std::uint64_t rel = (volume + volume_count_ - first_volume_) % volume_count_;
  if (rel > last_stripe) return 0;
  const std::uint64_t stripe = last_stripe - (last_stripe - rel) % volume_count_;
  const std::uint64_t in_stripe =
      std::min<std::uint64_t>(stripe_size_, file_size - stripe * stripe_size_);
  return (stripe / volume_count_) * stripe_size_ + in_stripe;
}

}  // namespace pdm::pfs

// Layout: where the bytes of a file live. A file is striped round-robin over
// the volumes: stripe s (bytes [s*S, (s+1)*S)) lives on volume
// (first_volume + s) % volume_count, and the stripes a file has on one volume
// form one sparse object file, stripe s at object offset (s / volume_count) * S.
//
// Consecutive stripes of one volume are adjacent in its object, so any file
// range maps to exactly one contiguous object range per volume: a large
// transfer costs one request per volume, not one per stripe.
#pragma once

#include <cstdint>
#include <vector>

namespace pdm::pfs {

// A piece of a file range inside one stripe.
struct StripePiece {
  std::uint32_t volume = 0;
  std::uint64_t object_offset = 0;
  std::uint64_t file_offset = 0;
  std::uint64_t length = 0;
};

// The part of a file range that one volume holds: one object range, gathered
// from (or scattered to) several pieces of the caller's buffer.
struct VolumeRange {
  std::uint32_t volume = 0;
  std::uint64_t object_offset = 0;
  std::uint64_t length = 0;
  std::vector<StripePiece> pieces;  // in file order; lengths add up to `length`
};

class Layout {
 public:
  Layout(std::uint32_t stripe_size, std::uint32_t volume_count, std::uint32_t first_volume);

  std::uint32_t volume_of(std::uint64_t file_offset) const;
  std::uint64_t object_offset_of(std::uint64_t file_offset) const;
  // The inverse: the file offset of a byte of the object on `volume`.
  std::uint64_t file_offset_of(std::uint32_t volume, std::uint64_t object_offset) const;
  // The stripe pieces of [offset, offset + length), in file order.
  std::vector<StripePiece> pieces(std::uint64_t offset, std::uint64_t length) const;
  // The same range grouped per volume (volumes in order of first touch).
  std::vector<VolumeRange> by_volume(std::uint64_t offset, std::uint64_t length) const;
  // Length of the object on `volume` that holds exactly the first file_size
  // bytes of the file (what truncation trims each object to).
  std::uint64_t object_length_for(std::uint64_t file_size, std::uint32_t volume) const;

  std::uint32_t stripe_size() const { return stripe_size_; }
  std::uint32_t volume_count() const { return volume_count_; }

 private:
  std::uint32_t stripe_size_;
  std::uint32_t volume_count_;
  std::uint32_t first_volume_;
};

}  // namespace pdm::pfs

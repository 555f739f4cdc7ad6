// The data protocol: requests to the rank that owns a volume, for ranges of
// one object. Write requests carry their data after the fixed fields (no
// extra copy into a length-prefixed blob); read responses are the raw bytes.
#pragma once

#include <tuple>
#include <vector>

#include "pfs/data/object_store.h"
#include "runtime/mpi/fields.h"

namespace pdm::pfs {

namespace data_msg {
enum : mpi::MsgType {
  kWrite = 0x0301,
  kReadRetired,  // was a read of one range; reads are kReadRanges
  kTruncate,
  kRemove,
  kSync,
  kUsage,
  kReadRanges,
};
}  // namespace data_msg

struct ObjectRange {
  std::uint32_t volume = 0;
  InodeNumber ino = 0;
  std::uint64_t offset = 0;
  std::uint64_t length = 0;  // read and truncate; for writes the data's size
  auto fields() { return std::tie(volume, ino, offset, length); }
};

// Many ranges of one object in one request (a strided read); the response
// is their bytes one after the other, each range padded with zeros to its
// full length past the object's end.
struct ObjectRanges {
  std::uint32_t volume = 0;
  InodeNumber ino = 0;
  std::vector<ByteRange> ranges;
  auto fields() { return std::tie(volume, ino, ranges); }
};

struct VolumeRequest {
  std::uint32_t volume = 0;
  auto fields() { return std::tie(volume); }
};

inline auto wire_fields(VolumeUsage &u) {
  return std::tie(u.volume, u.object_bytes, u.objects, u.device_total, u.device_free);
}

}  // namespace pdm::pfs

// Volumes: the directories a pdm file system keeps its data in. Each holds
//   pdm-volume      the header: which file system, which index, of how many
//   objects/xx/...  one sparse object file per file striped onto the volume
//                   (mkfs creates all 256 xx directories up front)
// and volume 0 also holds meta/ (the metadata store) and mount.lease.
//
// The header makes a volume self-identifying, so that a config that lists
// the wrong directory, or lists volumes in another order, is caught at mount
// time (check_volumes) instead of scattering stripes over the wrong disks.
#pragma once

#include <cstdint>
#include <string>

#include "pfs/config/fs_config.h"
#include "runtime/base/result.h"

namespace pdm::pfs {

inline constexpr const char *kVolumeHeaderName = "pdm-volume";
inline constexpr std::uint32_t kVolumeFormat = 1;

// The header file, key=value lines:
//   format=1
//   fs_id=3f9c0a1b2c3d4e5f
//   index=0
//   count=4
struct VolumeHeader {
  std::uint32_t format = kVolumeFormat;
  std::string fs_id;
  std::uint32_t index = 0;
  std::uint32_t count = 0;
  bool operator==(const VolumeHeader &) const = default;
};

// Writes <dir>/pdm-volume durably; EEXIST if the volume already has one.
Status write_volume_header(const std::string &dir, const VolumeHeader &header);

// ENOENT if dir or its header is missing ("not a pdm volume (no header); run
// 'pdm mkfs' first"); EINVAL for a malformed header or an unknown format.
Result<VolumeHeader> read_volume_header(const std::string &dir);

// Checks that every volume of the config is a directory whose header names
// this file system, the index the config gives it and the same volume count,
// and that it has objects/ (and volume 0 meta/). The error names the volume
// and what differs.
Status check_volumes(const FsConfig &config);

// <dir>/objects
std::string object_root(const std::string &volume_dir);
// <dir>/objects/<ino % 256, 2 hex digits>/<ino, 16 hex digits>: 256 fan-out
// directories keep any one directory small.
std::string object_path(const std::string &volume_dir, std::uint64_t ino);

}  // namespace pdm::pfs

// mkfs: creates a pdm file system: its volume directories, their headers and
// object directories, the metadata directory on volume 0, and last the
// config file that names them all. It is the only code that creates volumes.
//
// Everything is validated before anything is created, and if a step fails
// halfway, everything this call created is removed again (never anything
// that existed before), so a refused or failed mkfs leaves no trace.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "pfs/config/fs_config.h"
#include "runtime/base/result.h"
#include "runtime/base/size.h"

namespace pdm::pfs {

struct MkfsOptions {
  std::string config_path;           // the config file to create
  std::vector<std::string> volumes;  // volume directories, in index order
  std::uint32_t stripe_size = kMiB;
};

// Makes every path absolute (relative to the working directory) and
// lexically normal, then refuses, creating nothing:
//   no volumes, or a stripe size that is not a multiple of 4 KiB in
//     4 KiB..1 GiB, or a path a config file cannot hold ('#', line break) EINVAL
//   an existing config file, or its parent missing            EEXIST, ENOENT
//   two volumes that are the same directory (also through symlinks, by
//     realpath), one volume inside another, or the config as a volume  EINVAL
//   a volume that already has a pdm header                    EEXIST
//   a volume that is not an empty directory                   ENOTEMPTY, ENOTDIR
//   a missing volume whose parent directory does not exist     ENOENT
// Then creates missing volume directories (mode 0700), objects/ with its 256
// fan-out directories, meta/ on volume 0, each volume's header (written last
// on its volume), and finally the config with a new random 16-hex-digit id.
// Returns the config as saved (path set).
Result<FsConfig> make_file_system(const MkfsOptions &options);

}  // namespace pdm::pfs

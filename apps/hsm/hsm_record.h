// HsmRecord: what pdm-hsm knows about one file, kept in one DM attribute of
// the file (kHsmAttribute) so that it changes atomically with one
// dm_set_dmattr, travels with the inode and goes away with it.
//
// The value is text, "key=value" pairs separated by ';', so that a person
// can read it with any DM tool:
//   state=migrated;archive=a1:<locator>;sum=9f0c...;size=1048576;mtime=<ns>;gen=3
// decode ignores unknown keys, so a newer pdm-hsm may add some.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "apps/hsm/archive/archive.h"
#include "apps/hsm/file_state.h"
#include "runtime/base/result.h"

namespace pdm::hsm {

// DM attribute names are at most 8 bytes (DM_ATTR_NAME_SIZE).
inline constexpr const char *kHsmAttribute = "pdm.hsm";

struct HsmRecord {
  FileState state = FileState::kResident;
  // The archive copy (premigrated, migrated; a resident file keeps its stale
  // copy here until `pdm-hsm remove` drops it: stale = true).
  std::optional<ArchiveLocation> location;
  bool stale = false;
  std::uint64_t checksum = 0;  // xxHash64 of the archived data
  std::uint64_t size = 0;      // of the file when the copy was taken
  std::int64_t mtime_ns = 0;   // of the file when the copy was taken
  std::uint64_t generation = 0;

  std::string encode() const;
  // EINVAL naming the bad field.
  static Result<HsmRecord> decode(const std::string &text);
};

}  // namespace pdm::hsm

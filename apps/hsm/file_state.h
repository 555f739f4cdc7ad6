// The HSM state of a file (DESIGN.md §8):
//   resident     no valid archive copy (never archived, or written since)
//   premigrated  a valid archive copy exists, and the data is still on disk
//   migrated     the space is released: managed regions (READ, WRITE,
//                TRUNCATE) cover the file and reads recall from the archive
// A recall returns a migrated file to premigrated; a write or truncate
// recalls first, then makes the file resident (the copy becomes stale).
#pragma once

#include <optional>
#include <string_view>

namespace pdm::hsm {

enum class FileState { kResident, kPremigrated, kMigrated };

constexpr std::string_view name(FileState state) {
  switch (state) {
    case FileState::kResident:
      return "resident";
    case FileState::kPremigrated:
      return "premigrated";
    case FileState::kMigrated:
      return "migrated";
  }
  return "resident";
}

constexpr std::optional<FileState> parse_file_state(std::string_view text) {
  if (text == "resident") return FileState::kResident;
  if (text == "premigrated") return FileState::kPremigrated;
  if (text == "migrated") return FileState::kMigrated;
  return std::nullopt;
}

}  // namespace pdm::hsm

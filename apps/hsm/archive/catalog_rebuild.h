// Rebuilding the catalog (every file's pdm.hsm record) from the archives
// alone (`pdm-hsm rebuild-catalog`): the decisions, apart from the MPI job
// and the file system calls that apply them (apps/hsm/cli/cmd_rebuild_catalog.cpp),
// so that they are unit-tested.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "apps/hsm/archive/archive.h"
#include "apps/hsm/hsm_record.h"
#include "runtime/base/result.h"

namespace pdm::hsm {

// Every copy of one file version (inode number, generation), from all archives.
using CopiesByFile = std::map<std::pair<std::uint64_t, std::uint64_t>, std::vector<ArchiveRecord>>;
CopiesByFile group_copies(std::vector<ArchiveRecord> records);

// The file as it is now.
struct CurrentFile {
  std::uint64_t size = 0;
  std::int64_t mtime_ns = 0;
  bool released = false;  // some of its data was punched (released ranges)
};

enum class RebuildOutcome {
  kPremigrated,    // a copy matches the file (size and mtime), data on disk
  kMigrated,       // a copy matches and the data is released
  kStale,          // no copy matches: resident, the newest copy kept as stale
  kUnrecoverable,  // released data but no matching copy: left alone, reported
};
std::string_view name(RebuildOutcome outcome);

struct RebuildDecision {
  RebuildOutcome outcome = RebuildOutcome::kStale;
  HsmRecord record;  // to set (not for kUnrecoverable)
};

// copies: non-empty, all of the file's (ino, generation). A copy matches if
// its size and mtime are the file's; among several, the first by location
// (deterministic). Without a match the newest copy (by mtime, then location)
// is the stale one.
RebuildDecision decide_record(const std::vector<ArchiveRecord> &copies, const CurrentFile &file);

// The records as text (JSON), to send them from the rank that listed the
// archives to the others.
std::string encode_records(const std::vector<ArchiveRecord> &records);
Result<std::vector<ArchiveRecord>> decode_records(const std::string &text);

}  // namespace pdm::hsm

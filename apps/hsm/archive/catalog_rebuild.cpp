#include "apps/hsm/archive/catalog_rebuild.h"

#include <algorithm>

#include <nlohmann/json.hpp>

namespace pdm::hsm {

CopiesByFile group_copies(std::vector<ArchiveRecord> records) {
  CopiesByFile groups;
  for (ArchiveRecord &record : records) {
    groups[{record.file.ino, record.file.generation}].push_back(std::move(record));
  }
  for (auto &[key, copies] : groups) {
    std::sort(copies.begin(), copies.end(), [](const ArchiveRecord &a, const ArchiveRecord &b) {
      return a.location.encode() < b.location.encode();
    });
  }
  return groups;
}

std::string_view name(RebuildOutcome outcome) {
  switch (outcome) {
    case RebuildOutcome::kPremigrated:
      return "premigrated";
    case RebuildOutcome::kMigrated:
      return "migrated";
    case RebuildOutcome::kStale:
      return "stale";
    case RebuildOutcome::kUnrecoverable:
      return "unrecoverable";
  }
  return "?";
}

RebuildDecision decide_record(const std::vector<ArchiveRecord> &copies, const CurrentFile &file) {
  const ArchiveRecord *match = nullptr;
  const ArchiveRecord *newest = nullptr;
  for (const ArchiveRecord &copy : copies) {
    if (match == nullptr && copy.file.size == file.size && copy.file.mtime_ns == file.mtime_ns) {
      match = &copy;
    }
    if (newest == nullptr || copy.file.mtime_ns > newest->file.mtime_ns) newest = &copy;
  }
  RebuildDecision decision;
  const ArchiveRecord *chosen = match != nullptr ? match : newest;
  if (chosen != nullptr) {
    decision.record.location = chosen->location;
    decision.record.checksum = chosen->file.checksum;
    decision.record.size = chosen->file.size;
    decision.record.mtime_ns = chosen->file.mtime_ns;
    decision.record.generation = chosen->file.generation;
  }
  if (match == nullptr) {
    decision.outcome = file.released || chosen == nullptr ? RebuildOutcome::kUnrecoverable
                                                          : RebuildOutcome::kStale;
    decision.record.state = FileState::kResident;
    decision.record.stale = true;
    return decision;
  }
  decision.outcome = file.released ? RebuildOutcome::kMigrated : RebuildOutcome::kPremigrated;
  decision.record.state = file.released ? FileState::kMigrated : FileState::kPremigrated;
  return decision;
}

std::string encode_records(const std::vector<ArchiveRecord> &records) {
  nlohmann::json list = nlohmann::json::array();
  for (const ArchiveRecord &r : records) {
    list.push_back({r.location.encode(), r.file.path, r.file.ino, r.file.generation, r.file.size,
                    r.file.mtime_ns, r.file.checksum});
  }
  return list.dump();
}

Result<std::vector<ArchiveRecord>> decode_records(const std::string &text) {
  const nlohmann::json list = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (list.is_discarded() || !list.is_array())
    return make_error(EINVAL, "archive records: not a JSON array");
  std::vector<ArchiveRecord> records;
  records.reserve(list.size());
  try {
    for (const auto &item : list) {
      ArchiveRecord r;
      PDM_ASSIGN_OR_RETURN(r.location, ArchiveLocation::decode(item.at(0).get<std::string>()));
      r.file.path = item.at(1).get<std::string>();
      r.file.ino = item.at(2).get<std::uint64_t>();
      r.file.generation = item.at(3).get<std::uint64_t>();
      r.file.size = item.at(4).get<std::uint64_t>();
      r.file.mtime_ns = item.at(5).get<std::int64_t>();
      r.file.checksum = item.at(6).get<std::uint64_t>();
      records.push_back(std::move(r));
    }
  } catch (const nlohmann::json::exception &e) {
    return make_error(EINVAL, "archive records: {}", e.what());
  }
  return records;
}

}  // namespace pdm::hsm

#include "apps/hsm/agent/hsm_file.h"

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <memory>
#include <vector>

#include <spdlog/spdlog.h>

#include "apps/hsm/archive/file_io.h"

namespace pdm::hsm {
namespace {

constexpr std::uint32_t kAllRegionFlags =
    pfs::region_flag::kRead | pfs::region_flag::kWrite | pfs::region_flag::kTruncate;
constexpr std::size_t kReadBackChunk = 1 << 20;

std::string describe_file(const api::Handle &file) {
  return fmt::format("inode {} (generation {})", file.ino, file.generation);
}

Status clear_regions(const api::Session &session, const api::Handle &file, dm::Token token) {
  PDM_ASSIGN_OR_RETURN(auto regions, api::get_regions(session, file, token));
  if (regions.empty()) return {};
  return api::set_regions(session, file, {}, token);
}

// xxHash64 of the file's first `size` bytes as they are on disk now.
Result<std::uint64_t> checksum_of(const api::Session &session, const api::Handle &file,
                                  std::uint64_t size, dm::Token token) {
  io::Xxh64 sum;
  std::vector<std::byte> buffer(kReadBackChunk);
  for (std::uint64_t offset = 0; offset < size;) {
    const std::size_t want =
        static_cast<std::size_t>(std::min<std::uint64_t>(buffer.size(), size - offset));
    PDM_ASSIGN_OR_RETURN(const std::size_t got,
                         api::read_invisible(session, file, offset,
                                             std::span<std::byte>(buffer.data(), want), token));
    if (got == 0) break;
    sum.update(std::span(buffer.data(), got));
    offset += got;
  }
  return sum.digest();
}

}  // namespace

void fault_point(std::string_view point) {
  static const char *const wanted = std::getenv("PDM_HSM_KILL_AT");
  if (wanted == nullptr) return;
  const std::string_view spec(wanted);
  const auto colon = spec.rfind(':');
  if (colon == std::string_view::npos || spec.substr(0, colon) != point) return;
  static std::atomic<long> hits{0};
  if (++hits == std::atol(std::string(spec.substr(colon + 1)).c_str())) {
    spdlog::default_logger()->flush();
    std::raise(SIGKILL);
  }
}

namespace {

// A record attribute's value as a record; no attribute is no record.
Result<std::optional<HsmRecord>> record_of(Result<std::string> value) {
  if (!value.ok()) {
    if (value.error().code == ENOENT || value.error().code == ENODATA) {
      return std::optional<HsmRecord>{};
    }
    return std::move(value).error();
  }
  PDM_ASSIGN_OR_RETURN(auto record, HsmRecord::decode(*value));
  return std::optional<HsmRecord>(std::move(record));
}

}  // namespace

Result<std::optional<HsmRecord>> read_record(const api::Session &session, const api::Handle &file,
                                             dm::Token token) {
  return record_of(api::get_attr(session, file, kHsmAttribute, token));
}

Result<std::vector<Result<std::optional<HsmRecord>>>> read_records(
    const api::Session &session, std::span<const api::Handle> files) {
  PDM_ASSIGN_OR_RETURN(auto values, api::get_attr_of_each(session, files, kHsmAttribute));
  std::vector<Result<std::optional<HsmRecord>>> records;
  records.reserve(values.size());
  for (auto &value : values) records.push_back(record_of(std::move(value)));
  return records;
}

Status write_record(const api::Session &session, const api::Handle &file, const HsmRecord &record,
                    dm::Token token) {
  return api::set_attr(session, file, kHsmAttribute, record.encode(), token);
}

bool copy_matches(const HsmRecord &record, const pfs::Inode &inode) {
  return record.size == inode.size && record.mtime_ns == inode.mtime &&
         record.generation == inode.generation;
}

FileState effective_state(const std::optional<HsmRecord> &record, const pfs::Inode &inode) {
  if (!record) return FileState::kResident;
  if (record->state == FileState::kPremigrated && !copy_matches(*record, inode)) {
    return FileState::kResident;
  }
  return record->state;
}

// --- ExclusiveFile -------------------------------------------------------

Result<ExclusiveFile> ExclusiveFile::take(const api::Session &session, const api::Handle &file) {
  PDM_ASSIGN_OR_RETURN(const dm::Token token, session.create_user_event("pdm-hsm"));
  auto right = session.request_right(token, file, dm::Right::kExcl, true);
  if (!right.ok()) {
    (void)session.respond(token, api::Continue{});
    return right.error();
  }
  return ExclusiveFile(session, token, std::move(*right));
}

ExclusiveFile::ExclusiveFile(ExclusiveFile &&other) noexcept
    : session_(other.session_),
      token_(std::exchange(other.token_, api::kNoToken)),
      right_(std::move(other.right_)) {}

ExclusiveFile::~ExclusiveFile() {
  if (token_ == api::kNoToken) return;
  (void)right_.release();
  // Answering the token ends it (and any right it still holds).
  if (auto done = session_->respond(token_, api::Continue{}); !done.ok()) {
    spdlog::warn("pdm-hsm: could not end token {}: {}", token_, done.error().message);
  }
}

// --- steps ------------------------------------------------------------------

Result<ArchiveCopyResult> archive_copy(const api::Session &session, const api::Handle &file,
                                       const std::string &path, Archive &archive) {
  PDM_ASSIGN_OR_RETURN(const auto before, api::stat(session, file));
  if (!before.inode.is_file()) return make_error(EINVAL, "{}: not a regular file", path);
  ArchivedFile what;
  what.path = path;
  what.ino = before.inode.ino;
  what.generation = before.inode.generation;
  what.size = before.inode.size;
  what.mtime_ns = before.inode.mtime;
  // The copy is taken without a right (a long copy must not block the
  // file's users); whether it is still the file's data is decided below.
  PDM_ASSIGN_OR_RETURN(const StoredCopy copy,
                       archive.store(what, [&](std::uint64_t offset, std::span<std::byte> out) {
                         return api::read_invisible(session, file, offset, out);
                       }));
  fault_point("copied");

  PDM_ASSIGN_OR_RETURN(auto lock, ExclusiveFile::take(session, file));
  PDM_ASSIGN_OR_RETURN(const auto after, api::stat(session, file, lock.token()));
  PDM_ASSIGN_OR_RETURN(auto old, read_record(session, file, lock.token()));
  if (after.inode.size != what.size || after.inode.mtime != what.mtime_ns ||
      after.inode.generation != what.generation) {
    return ArchiveCopyResult{StepOutcome::kChanged, 0};
  }
  if (old && old->state == FileState::kMigrated) {
    // Released by someone else meanwhile (a concurrent migrate): its record
    // is as good as ours; ours stays unreferenced.
    return ArchiveCopyResult{StepOutcome::kUnchanged, 0};
  }
  HsmRecord record;
  record.state = FileState::kPremigrated;
  record.location = copy.location;
  record.checksum = copy.file.checksum;
  record.size = what.size;
  record.mtime_ns = what.mtime_ns;
  record.generation = what.generation;
  PDM_TRY(write_record(session, file, record, lock.token()));
  fault_point("recorded");
  return ArchiveCopyResult{StepOutcome::kDone, what.size};
}

Result<ReleaseResult> release(const api::Session &session, const api::Handle &file) {
  PDM_ASSIGN_OR_RETURN(auto lock, ExclusiveFile::take(session, file));
  const dm::Token token = lock.token();
  PDM_ASSIGN_OR_RETURN(auto record, read_record(session, file, token));
  PDM_ASSIGN_OR_RETURN(const auto attrs, api::stat(session, file, token));
  if (!record || record->state == FileState::kResident || !record->location) {
    return make_error(EINVAL, "{}: not archived (resident): migrate it first", describe_file(file));
  }
  if (record->state == FileState::kMigrated) return ReleaseResult{StepOutcome::kUnchanged, 0};
  if (!copy_matches(*record, attrs.inode)) {
    record->state = FileState::kResident;
    record->stale = true;
    PDM_TRY(write_record(session, file, *record, token));
    return ReleaseResult{StepOutcome::kChanged, 0};
  }
  PDM_TRY(api::set_regions(session, file, {{0, 0, kAllRegionFlags}}, token));
  fault_point("regions");
  record->state = FileState::kMigrated;
  PDM_TRY(write_record(session, file, *record, token));
  fault_point("migrated");
  if (attrs.inode.size > 0) PDM_TRY(api::punch_hole(session, file, 0, 0, token));
  fault_point("punched");
  return ReleaseResult{StepOutcome::kDone, attrs.inode.size};
}

Result<StepOutcome> recall_locked(const api::Session &session, const api::Handle &file,
                                  dm::Token token, ArchiveSet &archives) {
  PDM_ASSIGN_OR_RETURN(auto record, read_record(session, file, token));
  if (!record || record->state != FileState::kMigrated) {
    // Recalled already, or regions left by a release that was interrupted
    // before its record said migrated: the data is on disk.
    PDM_TRY(clear_regions(session, file, token));
    return StepOutcome::kUnchanged;
  }
  const ArchiveLocation &location = *record->location;
  PDM_ASSIGN_OR_RETURN(Archive * archive, archives.get(location.archive_id));

  io::Xxh64 hash;
  std::uint64_t next = 0;  // the bytes written in order so far
  std::uint64_t end = 0;
  bool in_order = true;
  Status fetched = archive->fetch(
      location, [&](std::uint64_t offset, std::span<const std::byte> data) -> Status {
        PDM_ASSIGN_OR_RETURN(const std::size_t written,
                             api::write_invisible(session, file, offset, data, false, token));
        if (written != data.size()) {
          return make_error(EIO, "short invisible write ({} of {} bytes)", written, data.size());
        }
        if (in_order && offset == next) {
          hash.update(data);
          next += data.size();
        } else {
          in_order = false;
        }
        end = std::max<std::uint64_t>(end, offset + data.size());
        return {};
      });
  if (!fetched.ok()) {
    return make_error(fetched.error().code == ENOENT ? EIO : fetched.error().code,
                      "recall of {} from {}: {}", describe_file(file), location.encode(),
                      fetched.error().message);
  }
  if (end != record->size) {
    return make_error(EIO, "recall of {} from {}: the copy has {} bytes, the record {}",
                      describe_file(file), location.encode(), end, record->size);
  }
  std::uint64_t sum = hash.digest();
  if (!in_order) {
    PDM_ASSIGN_OR_RETURN(sum, checksum_of(session, file, record->size, token));
  }
  if (sum != record->checksum) {
    return make_error(EIO, "recall of {} from {}: checksum mismatch (data {:016x}, record {:016x})",
                      describe_file(file), location.encode(), sum, record->checksum);
  }
  PDM_TRY(api::sync(session, file, token));
  record->state = FileState::kPremigrated;
  PDM_TRY(write_record(session, file, *record, token));
  PDM_TRY(clear_regions(session, file, token));
  return StepOutcome::kDone;
}

Status mark_stale(const api::Session &session, const api::Handle &file, dm::Token token) {
  PDM_ASSIGN_OR_RETURN(auto record, read_record(session, file, token));
  PDM_TRY(clear_regions(session, file, token));
  if (!record || record->state == FileState::kResident) return {};
  record->state = FileState::kResident;
  record->stale = record->location.has_value();
  return write_record(session, file, *record, token);
}

}  // namespace pdm::hsm

// The HSM steps on one file, made through a DM session (runtime/dm/api):
// reading and writing its record (hsm_record.h), copying it to an archive,
// releasing its space and recalling it. pdm-hsm's commands and the recall
// agent share them, so that every path keeps the migration invariant:
//
//   archive_copy  the copy is durable (Archive::store) before the record
//                 says premigrated, and the record is written only if the
//                 file did not change while it was copied (checked under
//                 DM_RIGHT_EXCL: size, mtime and generation).
//   release       under DM_RIGHT_EXCL, only a premigrated file whose size,
//                 mtime and generation still are those of the copy: managed
//                 regions over the whole file, then the record "migrated",
//                 then dm_punch_hole. A kill between any two steps leaves a
//                 file that reads back whole (regions over resident data:
//                 the recall finds the record premigrated and just clears
//                 them; a migrated record over resident data: the recall
//                 rewrites the same bytes).
//   recall        under the caller's DM_RIGHT_EXCL: the archive copy is
//                 streamed into the file with invisible writes, its
//                 checksum checked against the record's, the data synced,
//                 the record set premigrated, and only then the regions
//                 cleared. On any failure the regions stay, so a reader
//                 never sees data that was not verified.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "apps/hsm/agent/archive_set.h"
#include "apps/hsm/hsm_record.h"
#include "runtime/base/result.h"
#include "runtime/dm/api/objects.h"
#include "runtime/dm/api/right.h"
#include "runtime/dm/api/session.h"

namespace pdm::hsm {

namespace api = pdm::dm::api;

// The record of a file, nullopt if it has none (never archived).
Result<std::optional<HsmRecord>> read_record(const api::Session &session, const api::Handle &file,
                                             dm::Token token = api::kNoToken);
// The records of many files, in a metadata request per api::kAttrOfEachBatch
// files, taking no access right (api::get_attr_of_each): for a scan, whose
// choices are checked again under a right before anything is done.
Result<std::vector<Result<std::optional<HsmRecord>>>> read_records(
    const api::Session &session, std::span<const api::Handle> files);
Status write_record(const api::Session &session, const api::Handle &file, const HsmRecord &record,
                    dm::Token token = api::kNoToken);

// Whether the copy the record describes is still the file's data: same
// size, mtime and generation. A premigrated file written since (writes to a
// premigrated file raise no event) is really resident with a stale copy.
bool copy_matches(const HsmRecord &record, const pfs::Inode &inode);
// The state a person should be told: the record's, except a premigrated
// record whose copy no longer matches, which is resident (stale).
FileState effective_state(const std::optional<HsmRecord> &record, const pfs::Inode &inode);

// DM_RIGHT_EXCL on one file for a step that no event started (migrate,
// release, recall commands): a token of the session's own USER event holds
// the right; destruction answers the token, which ends the right.
class ExclusiveFile {
 public:
  static Result<ExclusiveFile> take(const api::Session &session, const api::Handle &file);
  ExclusiveFile(ExclusiveFile &&other) noexcept;
  ExclusiveFile &operator=(ExclusiveFile &&) = delete;
  ExclusiveFile(const ExclusiveFile &) = delete;
  ~ExclusiveFile();
  dm::Token token() const { return token_; }

 private:
  ExclusiveFile(const api::Session &session, dm::Token token, api::Right right)
      : session_(&session), token_(token), right_(std::move(right)) {}
  const api::Session *session_;
  dm::Token token_;
  api::Right right_;
};

// The outcome of one step on one file, for the counters of a summary.
enum class StepOutcome {
  kDone,       // it did what was asked
  kUnchanged,  // nothing to do (already in the wanted state)
  kChanged,    // skipped: the file changed since its copy was taken
};

// Copies the file to `archive` (its data read with read_invisible) and, if
// it is unchanged since, records the copy (premigrated). kChanged leaves the
// record as it was (the stored copy stays unreferenced until `pdm-hsm
// remove` or the next migration).
struct ArchiveCopyResult {
  StepOutcome outcome = StepOutcome::kDone;
  std::uint64_t bytes = 0;
};
Result<ArchiveCopyResult> archive_copy(const api::Session &session, const api::Handle &file,
                                       const std::string &path, Archive &archive);

// Releases the space of a premigrated file (see above). kUnchanged for a
// migrated file, kChanged for a file changed since its copy (its record
// then becomes resident with a stale copy); EINVAL for a resident file.
// bytes_freed: the file's size when released.
struct ReleaseResult {
  StepOutcome outcome = StepOutcome::kDone;
  std::uint64_t bytes_freed = 0;
};
Result<ReleaseResult> release(const api::Session &session, const api::Handle &file);

// Brings a migrated file's data back (see above); `token` must hold
// DM_RIGHT_EXCL on the file. kUnchanged when there was nothing to fetch
// (already recalled by someone else: the second of two readers; leftover
// regions of an interrupted release are cleared). EIO on a checksum
// mismatch or a short copy, naming the file and the cause.
Result<StepOutcome> recall_locked(const api::Session &session, const api::Handle &file,
                                  dm::Token token, ArchiveSet &archives);

// After a recall, for a WRITE or TRUNCATE: the file becomes resident and
// its copy stale (kept in the record for `pdm-hsm remove`).
Status mark_stale(const api::Session &session, const api::Handle &file, dm::Token token);

// Test hook of the migration invariant test (tests/hsm/migrate_kill.sh):
// with PDM_HSM_KILL_AT="<point>:<n>" in the environment, the process
// SIGKILLs itself the n-th time it reaches <point>: "copied" (copy stored,
// no record yet), "recorded" (record premigrated), "regions" (release: the
// regions are set, the record still premigrated), "migrated" (the record
// says migrated, the space is not yet punched), "punched".
void fault_point(std::string_view point);

}  // namespace pdm::hsm

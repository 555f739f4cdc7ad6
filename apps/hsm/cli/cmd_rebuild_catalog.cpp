// pdm-hsm rebuild-catalog: recreates every file's pdm.hsm record from the
// archives alone (after the DM attributes were lost, or to adopt copies an
// older catalog forgot). Rank 0 lists every registered archive and sends
// the copies to all ranks; rank r handles the files whose inode number is r
// modulo the rank count: the file must still exist with the copy's inode
// number and generation (renamed is fine: it is found by inode), then
// catalog_rebuild.h decides its record.
#include <mpi.h>
#include <pdm/dmapi.h>

#include <array>

#include <fmt/format.h>

#include "apps/hsm/archive/archive_registry.h"
#include "apps/hsm/archive/catalog_rebuild.h"
#include "apps/hsm/cli/hsm_commands.h"
#include "apps/hsm/hsm_record.h"
#include "runtime/dm/api/handles.h"
#include "runtime/dm/api/objects.h"
#include "runtime/dm/api/session.h"
#include "runtime/dmapi/handle.h"
#include "runtime/node/process_node.h"

namespace pdm::cli {
namespace {

using hsm::RebuildOutcome;

// The counters every rank adds up.
enum Counter : std::size_t {
  kCopies,
  kFiles,
  kPremigrated,
  kMigrated,
  kStale,
  kUnchanged,
  kGone,
  kUnrecoverable,
  kFailed,
  kCounters
};
using Counts = std::array<std::uint64_t, kCounters>;

// Rank 0: every copy of every archive. An archive that cannot be listed is
// an error (its files would wrongly look uncatalogued), not skipped.
Result<std::vector<hsm::ArchiveRecord>> list_all(const pfs::FsConfig &config) {
  PDM_ASSIGN_OR_RETURN(const hsm::ArchiveRegistry registry,
                       hsm::ArchiveRegistry::from_config(config));
  if (registry.archives().empty()) {
    return make_error(ENOENT, "the file system has no archive; add one with 'pdm-hsm archive add'");
  }
  std::vector<hsm::ArchiveRecord> all;
  for (const hsm::ArchiveSpec &spec : registry.archives()) {
    PDM_ASSIGN_OR_RETURN(auto archive, hsm::open_archive(spec));
    PDM_ASSIGN_OR_RETURN(auto records, archive->list());
    all.insert(all.end(), std::make_move_iterator(records.begin()),
               std::make_move_iterator(records.end()));
  }
  return all;
}

// One file: its record from its copies, set unless it already says the same.
Result<RebuildOutcome> rebuild_one(node::Node &node, const dm::api::Session &session,
                                   dmapi::FsId fsid, std::uint64_t ino, std::uint64_t generation,
                                   const std::vector<hsm::ArchiveRecord> &copies, bool &unchanged,
                                   bool &gone) {
  pfs::FileSystem &fs = node.fs();
  auto inode = fs.getattr(ino);
  if (!inode.ok() && inode.error().code != ENOENT && inode.error().code != ESTALE &&
      inode.error().code != EBADF) {
    return inode.error();
  }
  if (!inode.ok() || inode->generation != generation || inode->nlink == 0 || !inode->is_file()) {
    gone = true;
    return RebuildOutcome::kStale;
  }
  PDM_ASSIGN_OR_RETURN(const pfs::InodeDm dm_state, fs.dm_state(ino, generation));
  hsm::CurrentFile current;
  current.size = inode->size;
  current.mtime_ns = inode->mtime;
  current.released = !dm_state.state.released.empty();
  hsm::RebuildDecision decision = hsm::decide_record(copies, current);
  if (decision.outcome == RebuildOutcome::kUnrecoverable) return decision.outcome;

  const auto handle = dmapi::Handle::object(fsid, ino, generation);
  const std::string value = decision.record.encode();
  auto existing = dm::api::get_attr(session, handle, hsm::kHsmAttribute);
  if (existing.ok() && *existing == value) {
    unchanged = true;
    return decision.outcome;
  }
  if (decision.outcome == RebuildOutcome::kMigrated) {
    // A migrated file must recall on access: the regions cover it all.
    const std::vector<dm::api::Region> regions = {
        {0, 0, DM_REGION_READ | DM_REGION_WRITE | DM_REGION_TRUNCATE}};
    if (dm_state.state.regions != regions) {
      PDM_TRY(dm::api::set_regions(session, handle, regions));
    }
  }
  PDM_TRY(dm::api::set_attr(session, handle, hsm::kHsmAttribute, value));
  return decision.outcome;
}

Counts rebuild_share(Invocation &invocation, node::Node &node,
                     const std::vector<hsm::ArchiveRecord> &records) {
  Counts counts{};
  if (invocation.is_root()) counts[kCopies] = records.size();
  auto fsid = dmapi::parse_fs_id(node.fs().config().fs_id);
  auto session =
      dm::api::Session::create(fmt::format("pdm-hsm rebuild-catalog r{}", invocation.rank()));
  if (!fsid.ok() || !session.ok()) {
    fmt::print(stderr, "pdm-hsm: rank {}: {}\n", invocation.rank(),
               !fsid.ok() ? fsid.error().message : session.error().message);
    counts[kFailed] = 1;
    return counts;
  }
  const hsm::CopiesByFile groups = hsm::group_copies(records);
  const auto ranks = static_cast<std::uint64_t>(invocation.size());
  for (const auto &[key, copies] : groups) {
    const auto [ino, generation] = key;
    if (ino % ranks != static_cast<std::uint64_t>(invocation.rank())) continue;
    ++counts[kFiles];
    bool unchanged = false, gone = false;
    auto outcome = rebuild_one(node, *session, *fsid, ino, generation, copies, unchanged, gone);
    if (!outcome.ok()) {
      // Errors per file are reported and counted; the others go on.
      fmt::print(stderr, "pdm-hsm: rebuild-catalog: {} (inode {}): {}\n", copies.front().file.path,
                 ino, outcome.error().message);
      ++counts[kFailed];
      continue;
    }
    if (gone) {
      ++counts[kGone];
      continue;
    }
    if (unchanged) ++counts[kUnchanged];
    switch (*outcome) {
      case RebuildOutcome::kPremigrated:
        ++counts[kPremigrated];
        break;
      case RebuildOutcome::kMigrated:
        ++counts[kMigrated];
        break;
      case RebuildOutcome::kStale:
        ++counts[kStale];
        break;
      case RebuildOutcome::kUnrecoverable:
        fmt::print(stderr,
                   "pdm-hsm: rebuild-catalog: {} (inode {}): its data is released but no "
                   "archive copy matches its size and mtime; left as it is\n",
                   copies.front().file.path, ino);
        ++counts[kUnrecoverable];
        break;
    }
  }
  if (auto destroyed = session->destroy(); !destroyed.ok()) ++counts[kFailed];
  return counts;
}

int run(Invocation &invocation) {
  if (auto started =
          node::start_process_node(MPI_COMM_WORLD, invocation.fs_config(), &invocation.options());
      !started.ok()) {
    return invocation.fail(started.error());
  }
  node::Node &node = *node::process_node();

  // Rank 0 lists; everyone learns the outcome, then the records.
  std::string text;
  int listed = kExitOk;
  if (invocation.is_root()) {
    auto records = list_all(node.fs().config());
    if (records.ok()) {
      text = hsm::encode_records(*records);
    } else {
      invocation.fail(records.error());
      listed = kExitFailed;
    }
  }
  auto shared_code = share_from_root(invocation.world(), listed);
  int code = shared_code.ok() ? *shared_code : kExitFailed;
  Counts total{};
  if (code == kExitOk) {
    auto records = share_from_root(invocation.world(), text).ok()
                       ? hsm::decode_records(text)
                       : Result<std::vector<hsm::ArchiveRecord>>(make_error(EIO, "broadcast"));
    Counts mine{};
    if (records.ok()) {
      mine = rebuild_share(invocation, node, *records);
    } else {
      invocation.fail(records.error());
      mine[kFailed] = 1;
    }
    MPI_Allreduce(mine.data(), total.data(), kCounters, MPI_UINT64_T, MPI_SUM,
                  invocation.world().get());
    if (invocation.is_root()) {
      fmt::print(
          "rebuild-catalog: {} copies of {} file versions: {} premigrated, {} migrated, {} "
          "resident with a stale copy ({} records already right); {} gone (file deleted), "
          "{} unrecoverable, {} failed\n",
          total[kCopies], total[kFiles], total[kPremigrated], total[kMigrated], total[kStale],
          total[kUnchanged], total[kGone], total[kUnrecoverable], total[kFailed]);
    }
    if (total[kFailed] + total[kUnrecoverable] > 0) code = kExitFailed;
  }
  if (auto stopped = node::stop_process_node(); !stopped.ok()) {
    invocation.fail(stopped.error(), "unmount");
    code = kExitFailed;
  }
  return code;
}

}  // namespace

Command rebuild_catalog_command() {
  Command command;
  command.name = "rebuild-catalog";
  command.summary = "recreate the files' HSM records from the archives alone";
  command.arguments = "";
  command.description =
      "Reads every copy in every archive of the file system (each copy describes itself:\n"
      "path, inode, generation, size, mtime, checksum) and sets the pdm.hsm record of each\n"
      "file that still exists with that inode number and generation, wherever it now is:\n"
      "  premigrated  a copy has the file's size and mtime, and the data is on disk;\n"
      "  migrated     such a copy exists and the data was released (the managed regions\n"
      "               are set over the file so that access recalls it);\n"
      "  resident     no copy matches (the file changed since): the newest copy is kept\n"
      "               in the record as stale, for 'pdm-hsm remove'.\n"
      "A file whose data is released but that no copy matches is left as it is and\n"
      "reported (unrecoverable). Copies of deleted files are counted as gone.\n"
      "Under mpiexec the ranks share the files (by inode number); rank 0 prints the counts.\n"
      "Run it while no other pdm-hsm command (migrate, release, serve) works on the file\n"
      "system: it holds no file's exclusive DM right from reading the file's state to\n"
      "setting its record.";
  command.exit_status = "0 ok, 1 some file failed or is unrecoverable, 2 usage error";
  command.min_args = 0;
  command.max_args = 0;
  command.run = run;
  return command;
}

}  // namespace pdm::cli

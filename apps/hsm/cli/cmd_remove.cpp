// pdm-hsm remove: drops archive copies nobody needs any more, after a grace
// period (so that a mistake can still be undone from the archive):
//   stale copies   a file's record names a copy that no longer matches the
//                  file (written or truncated since); the file's mtime is
//                  when it last changed, so the copy is dropped once that
//                  is older than the grace period, and the record goes.
//   orphan copies  copies no file's record names (the file was deleted, or
//                  a migration was killed between store and record). The
//                  DM attribute "pdm.gone" of the root directory
//                  (apps/hsm/agent/gone_list.h) says since when each is
//                  gone: a recall agent that saw the file's REMOVE noted
//                  the removal time; otherwise this command notes when it
//                  first saw the orphan. A copy is dropped once the grace
//                  period has passed since.
#include <chrono>
#include <ctime>
#include <map>
#include <set>

#include <fmt/format.h>

#include "apps/hsm/agent/gone_list.h"
#include "apps/hsm/archive/archive_registry.h"
#include "apps/hsm/cli/hsm_commands.h"
#include "apps/hsm/cli/hsm_job.h"
#include "runtime/dm/api/objects.h"

namespace pdm::cli {
namespace {

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// "0", "90s", "15m", "2h", "7d", "1w" (a bare number is seconds).
Result<std::int64_t> parse_duration_ns(const std::string &text) {
  std::size_t used = 0;
  long long value = 0;
  try {
    value = std::stoll(text, &used);
  } catch (...) {
    used = 0;
  }
  const std::string unit = text.substr(used);
  static const std::map<std::string, std::int64_t> kUnits{
      {"", 1}, {"s", 1}, {"m", 60}, {"h", 3600}, {"d", 86400}, {"w", 7 * 86400}};
  const auto it = kUnits.find(unit);
  if (used == 0 || value < 0 || it == kUnits.end()) {
    return make_error(EINVAL, "--grace '{}': expected a duration such as 0, 90s, 15m, 2h, 7d, 1w",
                      text);
  }
  return static_cast<std::int64_t>(value) * it->second * 1'000'000'000;
}

// "2026-11-24 09:30:00 UTC", for the lines about kept copies.
std::string utc_text(std::int64_t ns) {
  const std::time_t seconds = static_cast<std::time_t>(ns / 1'000'000'000);
  std::tm tm{};
  ::gmtime_r(&seconds, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return text;
}

int run(Invocation &invocation) {
  auto grace = parse_duration_ns(invocation.options()["grace"].as<std::string>());
  if (!grace.ok()) {
    invocation.fail(grace.error());
    return kExitUsage;
  }
  const bool dry_run = invocation.flag("dry-run");
  return with_hsm(invocation, [&](HsmJob &job) {
    const mpi::Comm &world = invocation.world();
    const std::int64_t now = now_ns();
    auto share = share_files(job, {"/"});
    if (!share.ok()) return invocation.fail(share.error());
    std::vector<std::string> errors = share->errors;
    std::vector<std::string> referenced;  // locations live records name
    std::vector<std::string> report;
    std::array<std::uint64_t, 2> stale{};  // dropped, kept (in grace)
    // The records in batches (one metadata request per batch); what is
    // removed is decided again under EXCL below.
    // A failure here is this rank's files' errors, never an early return:
    // the other ranks are on their way to the collectives below.
    auto records = records_of(job.session(), share->mine);
    for (std::size_t i = 0; i < share->mine.size(); ++i) {
      const FoundFile &file = share->mine[i];
      Status done = [&]() -> Status {
        PDM_TRY(records);
        PDM_ASSIGN_OR_RETURN(const api::Handle h, handle_for(file));
        PDM_ASSIGN_OR_RETURN(auto record, std::move((*records)[i]));
        if (!record || !record->location) return {};
        if (hsm::effective_state(record, file.inode) != hsm::FileState::kResident) {
          referenced.push_back(record->location->encode());
          return {};
        }
        if (now - file.inode.mtime < *grace) {
          ++stale[1];
          referenced.push_back(record->location->encode());
          return {};
        }
        report.push_back(fmt::format("stale  {} {}", record->location->encode(), file.path));
        ++stale[0];
        if (dry_run) return {};
        // Under EXCL: the record is looked at again, so that a migration
        // that just recorded a new copy keeps it.
        PDM_ASSIGN_OR_RETURN(auto lock, hsm::ExclusiveFile::take(job.session(), h));
        PDM_ASSIGN_OR_RETURN(auto again, hsm::read_record(job.session(), h, lock.token()));
        if (!again || !again->location || again->location->encode() != record->location->encode()) {
          return {};
        }
        PDM_ASSIGN_OR_RETURN(hsm::Archive * archive,
                             job.archives->get(record->location->archive_id));
        if (auto removed = archive->remove(*record->location);
            !removed.ok() && removed.error().code != ENOENT) {
          return removed;
        }
        return api::remove_attr(job.session(), h, hsm::kHsmAttribute, lock.token());
      }();
      if (!done.ok()) errors.push_back(error_text(done.error(), file.path));
    }
    const auto stale_total = sum_over_ranks(world, stale);
    const auto all_referenced = gather_lines(world, referenced);
    auto reports = gather_lines(world, report);

    // Orphans: rank 0 alone (the archives' listings and the root's record).
    std::array<std::uint64_t, 2> orphans{};  // dropped, noted or kept (in grace)
    std::vector<std::string> kept;           // orphans kept, with since when
    if (invocation.is_root()) {
      Status done = [&]() -> Status {
        const std::set<std::string> live(all_referenced.begin(), all_referenced.end());
        PDM_ASSIGN_OR_RETURN(const auto registry,
                             hsm::ArchiveRegistry::load(invocation.fs_config()));
        // Under EXCL on the root: recall agents add the copies of removed
        // files to the list at any time (gone_list.h).
        PDM_ASSIGN_OR_RETURN(const api::Handle root, api::handle_of("/"));
        PDM_ASSIGN_OR_RETURN(auto lock, hsm::ExclusiveFile::take(job.session(), root));
        PDM_ASSIGN_OR_RETURN(hsm::GoneList gone, hsm::read_gone(job.session(), root, lock.token()));
        hsm::GoneList still_gone;
        for (const hsm::ArchiveSpec &spec : registry.archives()) {
          PDM_ASSIGN_OR_RETURN(hsm::Archive * archive, job.archives->get(spec.id));
          PDM_ASSIGN_OR_RETURN(const auto copies, archive->list());
          for (const hsm::ArchiveRecord &copy : copies) {
            const std::string location = copy.location.encode();
            if (live.count(location)) continue;
            const auto seen = gone.find(location);
            const hsm::GoneCopy first =
                seen == gone.end() ? hsm::GoneCopy{now, false} : seen->second;
            if (now - first.since_ns < *grace) {
              still_gone[location] = first;
              ++orphans[1];
              kept.push_back(fmt::format("kept orphan {} {}: {} {}", location, copy.file.path,
                                         first.at_removal ? "removed at" : "first seen",
                                         utc_text(first.since_ns)));
              continue;
            }
            reports.push_back(fmt::format("orphan {} {}", location, copy.file.path));
            ++orphans[0];
            if (dry_run) {
              still_gone[location] = first;
              continue;
            }
            if (auto removed = archive->remove(copy.location);
                !removed.ok() && removed.error().code != ENOENT) {
              errors.push_back(error_text(removed.error(), location));
              still_gone[location] = first;
            }
          }
        }
        return hsm::write_gone(job.session(), root, still_gone, lock.token());
      }();
      if (!done.ok()) errors.push_back(error_text(done.error(), "orphan copies"));
    }
    const std::size_t failed = print_errors(world, errors);
    if (invocation.is_root()) {
      for (const auto &line : reports)
        fmt::print("{}{}\n", dry_run ? "would drop " : "dropped ", line);
      for (const auto &line : kept) fmt::print("{}\n", line);
      fmt::print(
          "{}{} stale and {} orphan copies; {} stale and {} orphan copies kept for the "
          "grace period\n",
          dry_run ? "dry run: would drop " : "dropped ", stale_total[0], orphans[0], stale_total[1],
          orphans[1]);
      std::fflush(stdout);
    }
    return failed == 0 ? kExitOk : kExitFailed;
  });
}

void add_options(po::options_description &options) {
  options.add_options()("grace", po::value<std::string>()->default_value("7d")->value_name("D"),
                        "keep unneeded copies this long (0, 90s, 15m, 2h, 7d, 1w)")(
      "dry-run", po::bool_switch(), "print what would be dropped; change nothing");
  add_agent_options(options);
}

}  // namespace

Command remove_command() {
  Command command;
  command.name = "remove";
  command.summary = "drop archive copies of deleted or rewritten files after a grace period";
  command.arguments = "";
  command.description =
      "Drops archive copies nobody needs any more, once a grace period (--grace, default\n"
      "7d) has passed:\n"
      "  stale copies: the file was written or truncated after its copy was taken; the\n"
      "    period counts from the file's mtime. The copy and the file's record go.\n"
      "  orphan copies: no file names them (the file was deleted, or a migration was\n"
      "    killed between the copy and its record). A file removed while a recall agent\n"
      "    ran (any pdm-hsm command, pdm rm/get/cat on a file system with an archive)\n"
      "    had its copy noted with the removal time (DM attribute 'pdm.gone' of the root\n"
      "    directory); otherwise the first run that sees an orphan notes the time. The\n"
      "    copy is dropped once the period has passed since; with --grace 0 at once.\n"
      "The files are divided among the ranks; rank 0 lists the archives. Prints each\n"
      "dropped copy, each orphan kept for the grace period ('removed at' or 'first\n"
      "seen' and the time) and a summary.";
  command.exit_status = "0 ok, 1 some copy could not be dropped, 2 usage error";
  command.add_options = add_options;
  command.run = run;
  return command;
}

}  // namespace pdm::cli

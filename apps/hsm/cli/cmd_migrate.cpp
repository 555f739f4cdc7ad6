// pdm-hsm migrate: the parallel migration job. Rank 0 walks the namespace,
// every rank takes every size-th file (round robin), reads its record and
// applies the policy; each rank then copies its selected files to the
// archive and, with --release, frees their space (hsm_file.h keeps the
// migration invariant). Progress is summed over the ranks on rank 0 in
// rounds of about a fifth of a second of work; errors are per file, counted
// and printed at the end, never abort the job.
#include <algorithm>
#include <array>

#include <fmt/format.h>

#include "apps/hsm/cli/hsm_commands.h"
#include "apps/hsm/cli/hsm_job.h"
#include "apps/hsm/cli/progress.h"
#include "apps/hsm/policy/policy.h"
#include "runtime/base/size.h"

namespace pdm::cli {
namespace {

constexpr double kRoundSeconds = 0.2;

using Candidate = hsm::Selected;

// The counters every rank keeps and rank 0 sums.
enum Counter : std::size_t {
  kFilesDone,
  kBytesDone,
  kRemaining,
  kArchived,
  kArchivedBytes,
  kReleased,
  kFreedBytes,
  kSkipped,  // nothing to do: already migrated (or premigrated without --release)
  kChanged,  // changed during migration: not archived or not released
  kFailed,
  kCounters
};
using Counts = std::array<std::uint64_t, kCounters>;

// This rank's share of the namespace, filtered by the policy (the scan is
// the library's, hsm/scan/policy_scan.h, which pdm-bench hsm measures).
Result<std::vector<Candidate>> select(HsmJob &job, const hsm::Policy &policy,
                                      std::vector<std::string> &errors, std::uint64_t &scanned) {
  PDM_ASSIGN_OR_RETURN(auto scan,
                       hsm::policy_scan(job.invocation.world(), job.fs(), job.session(), policy));
  const auto lines = error_lines(scan.errors);
  errors.insert(errors.end(), lines.begin(), lines.end());
  scanned = scan.scanned;
  return std::move(scan.selected);
}

// One file: copy unless a valid copy exists, then release if asked.
void migrate_one(HsmJob &job, hsm::Archive &archive, const Candidate &candidate, bool release,
                 Counts &counts, std::vector<std::string> &errors) {
  const FoundFile &file = candidate.file;
  auto failed = [&](const Error &error) {
    ++counts[kFailed];
    errors.push_back(error_text(error, file.path));
  };
  auto h = handle_for(file);
  if (!h.ok()) return failed(h.error());
  if (candidate.state == hsm::FileState::kMigrated) {
    ++counts[kSkipped];
    return;
  }
  if (candidate.state == hsm::FileState::kResident) {
    auto copied = hsm::archive_copy(job.session(), *h, file.path, archive);
    if (!copied.ok()) return failed(copied.error());
    if (copied->outcome == hsm::StepOutcome::kChanged) {
      ++counts[kChanged];
      return;
    }
    if (copied->outcome == hsm::StepOutcome::kUnchanged) {
      ++counts[kSkipped];
      return;
    }
    ++counts[kArchived];
    counts[kArchivedBytes] += copied->bytes;
  } else if (!release) {
    ++counts[kSkipped];  // premigrated: its copy is valid, nothing to do
    return;
  }
  if (!release) return;
  auto released = hsm::release(job.session(), *h);
  if (!released.ok()) return failed(released.error());
  switch (released->outcome) {
    case hsm::StepOutcome::kDone:
      ++counts[kReleased];
      counts[kFreedBytes] += released->bytes_freed;
      break;
    case hsm::StepOutcome::kUnchanged:
      ++counts[kSkipped];
      break;
    case hsm::StepOutcome::kChanged:
      ++counts[kChanged];
      break;
  }
}

int dry_run(HsmJob &job, const std::vector<Candidate> &selected, std::uint64_t scanned) {
  std::vector<std::string> lines;
  std::uint64_t bytes = 0;
  for (const Candidate &c : selected) {
    // The path last: it may hold blanks.
    lines.push_back(fmt::format("{:<12} {:>10} {}", hsm::name(c.state),
                                format_size(c.file.inode.size), c.file.path));
    bytes += c.file.inode.size;
  }
  auto all = gather_lines(job.invocation.world(), lines);
  const auto total =
      sum_over_ranks(job.invocation.world(), std::array<std::uint64_t, 2>{selected.size(), bytes});
  if (job.invocation.is_root()) {
    std::sort(all.begin(), all.end(), [](const std::string &a, const std::string &b) {
      return a.substr(24) < b.substr(24);
    });
    for (const auto &line : all) fmt::print("{}\n", line);
    fmt::print("dry run: {} of {} files selected ({}); nothing was changed\n", total[0], scanned,
               format_size(total[1]));
    std::fflush(stdout);
  }
  return kExitOk;
}

int run(Invocation &invocation) {
  if (!invocation.options().count("policy")) {
    invocation.fail(make_error(EINVAL, "{} migrate: --policy EXPR is required", program_name()));
    return kExitUsage;
  }
  const std::string policy_text = invocation.options()["policy"].as<std::string>();
  auto policy = hsm::Policy::parse(policy_text);
  if (!policy.ok()) {
    invocation.fail(policy.error());
    return kExitUsage;
  }
  const bool release = invocation.flag("release");
  const double interval = invocation.options()["progress-interval"].as<double>();
  return with_hsm(invocation, [&](HsmJob &job) {
    const mpi::Comm &world = invocation.world();
    std::vector<std::string> errors;
    std::uint64_t scanned = 0;
    auto selected = select(job, *policy, errors, scanned);
    if (!selected.ok()) return invocation.fail(selected.error());
    if (invocation.flag("dry-run")) {
      print_errors(world, errors);
      const int code = dry_run(job, *selected, scanned);
      return errors.empty() ? code : kExitFailed;
    }

    std::string archive_id = job.archives->default_id();
    if (invocation.options().count("archive")) {
      archive_id = invocation.options()["archive"].as<std::string>();
    }
    auto archive =
        archive_id.empty()
            ? Result<hsm::Archive *>(make_error(
                  ENOENT, "the file system has no archive: add one with '{} archive add'",
                  program_name()))
            : job.archives->get(archive_id);
    int have_archive = archive.ok() ? 1 : 0;
    MPI_Allreduce(MPI_IN_PLACE, &have_archive, 1, MPI_INT, MPI_MIN, world.get());
    if (have_archive == 0) {
      if (!archive.ok()) return invocation.fail(archive.error());
      return kExitFailed;
    }

    std::uint64_t my_bytes = 0;
    for (const Candidate &c : *selected) my_bytes += c.file.inode.size;
    const auto totals =
        sum_over_ranks(world, std::array<std::uint64_t, 2>{selected->size(), my_bytes});
    if (invocation.is_root()) {
      fmt::print("migrate: policy {}; {} of {} files selected ({}), archive {}{}\n",
                 policy->describe(), totals[0], scanned, format_size(totals[1]), archive_id,
                 release ? ", release" : "");
      std::fflush(stdout);
    }
    JobProgress progress(invocation.is_root(), "migrate", totals[0], totals[1], interval);
    Counts counts{};
    std::size_t next = 0;
    for (;;) {
      // A round: some work (at least one file if any is left), then the sums.
      const double round_end = now_seconds() + kRoundSeconds;
      do {
        if (next == selected->size()) break;
        const Candidate &c = (*selected)[next++];
        migrate_one(job, **archive, c, release, counts, errors);
        ++counts[kFilesDone];
        counts[kBytesDone] += c.file.inode.size;
      } while (now_seconds() < round_end);
      counts[kRemaining] = selected->size() - next;
      const Counts sums = sum_over_ranks(world, counts);
      progress.update(sums[kFilesDone], sums[kBytesDone]);
      if (sums[kRemaining] == 0) break;
    }
    progress.finish();
    const Counts sums = sum_over_ranks(world, counts);
    const std::size_t error_lines = print_errors(world, errors);
    if (invocation.is_root()) {
      fmt::print(
          "selected {} files ({}), archived {} ({}), released {}, skipped {} ({} changed during "
          "migration), failed {}, freed {}\n",
          totals[0], format_size(totals[1]), sums[kArchived], format_size(sums[kArchivedBytes]),
          sums[kReleased], sums[kSkipped] + sums[kChanged], sums[kChanged], sums[kFailed],
          format_size(sums[kFreedBytes]));
      std::fflush(stdout);
    }
    return sums[kFailed] == 0 && error_lines == 0 ? kExitOk : kExitFailed;
  });
}

void add_options(po::options_description &options) {
  options.add_options()("policy", po::value<std::string>()->value_name("EXPR"),
                        "which files to migrate (required; see above)")(
      "release", po::bool_switch(), "free the space of the archived files")(
      "dry-run", po::bool_switch(), "list what the policy selects; change nothing")(
      "archive", po::value<std::string>()->value_name("ID"),
      "the archive to copy to (default: the first one added)")(
      "progress-interval", po::value<double>()->default_value(10)->value_name("S"),
      "seconds between progress lines when stderr is not a terminal (0: none)");
  add_agent_options(options);
}

}  // namespace

Command migrate_command() {
  Command command;
  command.name = "migrate";
  command.summary = "copy the files a policy selects to an archive, and release them";
  command.arguments = "";
  command.description =
      "The parallel migration job: rank 0 walks the file system, the files are divided\n"
      "among the ranks (round robin), and each rank selects its files with the policy,\n"
      "copies them to the archive (one durable, checksummed copy per file version) and,\n"
      "with --release, frees their space. A file with a valid archive copy is not copied\n"
      "again; a migrated file is skipped.\n"
      "\n"
      "Policy language (EXPR):\n"
      "  size > 1M and mtime < -7d and path ~ \"/proj/**\"\n"
      "  not state == migrated and (owner == \"alice\" or size >= 10G)\n"
      "  size (K/M/G/T suffixes), atime and mtime (relative -7d, units s m h d w, or\n"
      "  2026-01-31[T12:00:00]; '<' means older than): < <= > >= == !=\n"
      "  path: a glob (* ** ? [...]) with ~ or !~;  owner: a user name or uid, == !=\n"
      "  state: resident, premigrated or migrated, == !=;  combined with and, or, not, ( )\n"
      "\n"
      "Invariant: a file's space is released only after its copy is durable (flushed,\n"
      "fsynced, checksum recorded in the file's record) and only if the file has not\n"
      "changed since the copy was taken (size, mtime, generation, checked under an\n"
      "exclusive DM right); a file changed during migration is skipped and counted. A\n"
      "job killed at any moment loses no data, and running it again finishes the work.\n"
      "\n"
      "--dry-run prints the selected files (state, size, path) and changes nothing.\n"
      "Rank 0 shows progress summed over the ranks on stderr (a live line on a\n"
      "terminal, a line every --progress-interval seconds otherwise), then prints a\n"
      "summary: selected, archived, released, skipped, failed, bytes freed. Errors are\n"
      "per file: reported and counted, the job goes on.";
  command.exit_status = "0 ok, 1 some file failed, 2 usage error (a bad policy, say)";
  command.add_options = add_options;
  command.run = run;
  return command;
}

}  // namespace pdm::cli

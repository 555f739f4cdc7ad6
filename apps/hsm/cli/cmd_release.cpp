// pdm-hsm release: frees the space of premigrated files (their archive copy
// is valid): managed regions over the whole file, the record "migrated",
// then dm_punch_hole. The files are spread over the ranks.
#include <fmt/format.h>

#include "apps/hsm/cli/hsm_commands.h"
#include "apps/hsm/cli/hsm_job.h"
#include "runtime/base/size.h"

namespace pdm::cli {
namespace {

int run(Invocation &invocation) {
  return with_hsm(invocation, [&](HsmJob &job) {
    auto share = share_files(job, invocation.args());
    if (!share.ok()) return invocation.fail(share.error());
    // released, already migrated, changed since the copy, bytes freed
    std::array<std::uint64_t, 4> counts{};
    std::vector<std::string> errors = share->errors;
    for (const FoundFile &file : share->mine) {
      auto result = [&]() -> Result<hsm::ReleaseResult> {
        PDM_ASSIGN_OR_RETURN(const api::Handle h, handle_for(file));
        return hsm::release(job.session(), h);
      }();
      if (!result.ok()) {
        errors.push_back(error_text(result.error(), file.path));
        continue;
      }
      switch (result->outcome) {
        case hsm::StepOutcome::kDone:
          ++counts[0];
          counts[3] += result->bytes_freed;
          break;
        case hsm::StepOutcome::kUnchanged:
          ++counts[1];
          break;
        case hsm::StepOutcome::kChanged:
          ++counts[2];
          errors.push_back(fmt::format(
              "{}: {}: changed since its archive copy was taken; not released (migrate it again)",
              program_name(), file.path));
          break;
      }
    }
    const auto total = sum_over_ranks(invocation.world(), counts);
    const std::size_t failed = print_errors(invocation.world(), errors);
    if (invocation.is_root()) {
      fmt::print("released {} files ({} freed), {} already migrated, {} changed, {} failed\n",
                 total[0], format_size(total[3]), total[1], total[2],
                 failed - std::min<std::size_t>(failed, total[2]));
      std::fflush(stdout);
    }
    return failed == 0 ? kExitOk : kExitFailed;
  });
}

}  // namespace

Command release_command() {
  Command command;
  command.name = "release";
  command.summary = "free the space of archived (premigrated) files";
  command.arguments = "PATH...";
  command.description =
      "Releases each file PATH, and every file below a directory PATH: its space on the\n"
      "volumes is freed (dm_punch_hole; 'pdm df' shows it) and managed regions over the\n"
      "whole file make any later read, write or truncate recall it from the archive.\n"
      "Only a premigrated file is released (an archive copy taken by 'pdm-hsm migrate'),\n"
      "and only if its size, mtime and generation are still those of the copy: this is\n"
      "checked under an exclusive DM right, and the record says 'migrated' before the\n"
      "space goes, so that no interruption loses data. A file changed since its copy is\n"
      "skipped and reported (its copy is then stale). Files already migrated are counted.\n"
      "The files are divided among the ranks. Prints one summary line.";
  command.exit_status = "0 ok, 1 some file could not be released, 2 usage error";
  command.min_args = 1;
  command.max_args = kAnyNumber;
  command.add_options = add_agent_options;
  command.run = run;
  return command;
}

}  // namespace pdm::cli

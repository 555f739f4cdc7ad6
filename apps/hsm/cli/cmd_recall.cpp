// pdm-hsm recall: brings the data of migrated files back from the archive
// ahead of their use (a read would recall them one by one, when it comes).
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
    std::array<std::uint64_t, 3> counts{};  // recalled, not migrated, bytes recalled
    std::vector<std::string> errors = share->errors;
    for (const FoundFile &file : share->mine) {
      auto result = [&]() -> Result<hsm::StepOutcome> {
        PDM_ASSIGN_OR_RETURN(const api::Handle h, handle_for(file));
        return job.agent.recall(h);
      }();
      if (!result.ok()) {
        errors.push_back(error_text(result.error(), file.path));
      } else if (*result == hsm::StepOutcome::kDone) {
        ++counts[0];
        counts[2] += file.inode.size;
      } else {
        ++counts[1];
      }
    }
    const auto total = sum_over_ranks(invocation.world(), counts);
    const std::size_t failed = print_errors(invocation.world(), errors);
    if (invocation.is_root()) {
      fmt::print("recalled {} files ({}), {} were not migrated, {} failed\n", total[0],
                 format_size(total[2]), total[1], failed);
      std::fflush(stdout);
    }
    return failed == 0 ? kExitOk : kExitFailed;
  });
}

}  // namespace

Command recall_command() {
  Command command;
  command.name = "recall";
  command.summary = "bring migrated files back from the archive";
  command.arguments = "PATH...";
  command.description =
      "Recalls each file PATH, and every file below a directory PATH, that is migrated:\n"
      "its archive copy is read, checked against the checksum in the file's record,\n"
      "written back (invisible I/O, synced) and the managed regions cleared; the file is\n"
      "then premigrated (data on disk, archive copy still valid). A copy whose checksum\n"
      "does not match is an error (EIO) and the file stays migrated. Files that are not\n"
      "migrated are counted and left alone. The files are divided among the ranks.";
  command.exit_status = "0 ok, 1 some file could not be recalled, 2 usage error";
  command.min_args = 1;
  command.max_args = kAnyNumber;
  command.add_options = add_agent_options;
  command.run = run;
  return command;
}

}  // namespace pdm::cli

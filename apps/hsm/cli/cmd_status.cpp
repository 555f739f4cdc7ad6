// pdm-hsm status: the HSM state of files (rank 0 reads, prints).
#include <fmt/format.h>

#include "apps/hsm/cli/hsm_commands.h"
#include "apps/hsm/cli/hsm_job.h"
#include "runtime/base/size.h"

namespace pdm::cli {
namespace {

int run(Invocation &invocation) {
  return with_hsm(invocation, [&](HsmJob &job) {
    if (!invocation.is_root()) return kExitOk;
    std::vector<std::string> paths = invocation.args();
    if (paths.empty()) paths.push_back("/");
    int code = kExitOk;
    std::array<std::uint64_t, 3> per_state{};
    std::uint64_t released = 0;
    bool header = false;
    bool any_stale = false;
    for (const std::string &path : paths) {
      auto found = find_files(job.fs(), path);
      if (!found.ok()) {
        std::fflush(stdout);
        code = invocation.fail(found.error(), path);
        continue;
      }
      auto records = records_of(job.session(), *found);
      if (!records.ok()) {
        std::fflush(stdout);
        code = invocation.fail(records.error(), path);
        continue;
      }
      for (std::size_t i = 0; i < found->size(); ++i) {
        const FoundFile &file = (*found)[i];
        auto &record = (*records)[i];
        if (!record.ok()) {
          std::fflush(stdout);
          code = invocation.fail(record.error(), file.path);
          continue;
        }
        const hsm::FileState state = hsm::effective_state(*record, file.inode);
        ++per_state[static_cast<std::size_t>(state)];
        if (state == hsm::FileState::kMigrated) released += file.inode.size;
        const bool stale =
            *record && (state == hsm::FileState::kResident) && (*record)->location.has_value();
        any_stale |= stale;
        if (!header) {
          fmt::print("{:<12} {:>10} {:<16} {:<24} {}\n", "STATE", "SIZE", "CHECKSUM", "ARCHIVE",
                     "PATH");
          header = true;
        }
        std::string sum = "-";
        std::string where = "-";
        if (*record && (*record)->location) {
          sum = fmt::format("{:016x}", (*record)->checksum);
          where = (*record)->location->encode();
        }
        fmt::print("{:<12} {:>10} {:<16} {:<24} {}\n",
                   std::string(hsm::name(state)) + (stale ? "*" : ""), format_size(file.inode.size),
                   sum, where, file.path);
      }
    }
    fmt::print("{} files: {} resident, {} premigrated, {} migrated ({} released)\n",
               per_state[0] + per_state[1] + per_state[2], per_state[0], per_state[1], per_state[2],
               format_size(released));
    if (any_stale)
      fmt::print("(* the archive copy is stale: the file changed since it was taken)\n");
    std::fflush(stdout);
    return code;
  });
}

}  // namespace

Command status_command() {
  Command command;
  command.name = "status";
  command.summary = "print the HSM state, archive copy and checksum of files";
  command.arguments = "[PATH...]";
  command.description =
      "Prints one line per file PATH, and per file below a directory PATH (default: the\n"
      "whole file system): its state (resident, premigrated: archived and still on disk,\n"
      "migrated: space released), its size, the xxHash64 checksum and location\n"
      "(ARCHIVE:LOCATOR) of its archive copy, and its path; then a count per state. A\n"
      "'*' after 'resident' marks a stale copy: the file was written or truncated after\n"
      "its copy was taken ('pdm-hsm remove' drops such copies). A premigrated file\n"
      "changed since its copy shows as resident*.";
  command.min_args = 0;
  command.max_args = kAnyNumber;
  command.add_options = add_agent_options;
  command.run = run;
  return command;
}

}  // namespace pdm::cli

// pdm fsck: checks an unmounted file system (pfs/fsck/fsck.h). Rank 0 alone
// checks it; under mpiexec the other ranks only wait for its result.
#include <cstdio>

#include <fmt/format.h>

#include "apps/pdm/commands.h"
#include "pfs/fsck/fsck.h"
#include "runtime/base/log.h"
#include "runtime/base/settings.h"
#include "runtime/base/size.h"

namespace pdm::cli {
namespace {

// Rank 0: the exit code of the check.
int check(Invocation &invocation) {
  auto config = pfs::FsConfig::load(invocation.fs_config());
  if (!config.ok()) {
    invocation.fail(config.error());
    return kExitUsage;
  }
  SettingSources sources;
  sources.command_line = &invocation.options();
  sources.config_file = &config->settings;
  sources.config_file_name = config->path;
  auto settings = resolve(sources);
  if (!settings.ok()) {
    invocation.fail(settings.error());
    return kExitUsage;
  }
  configure_logging(settings->log_level, invocation.rank());

  pfs::FsckOptions options;
  options.meta_map_size = static_cast<std::size_t>(settings->meta_map_size);
  auto report = pfs::fsck(*config, options);
  if (!report.ok()) {
    invocation.fail(report.error(), config->path);
    return kExitUsage;
  }
  for (const pfs::Finding &finding : report->findings) {
    fmt::print("{}: {}\n", to_string(finding.severity), finding.message);
  }
  const auto errors = report->count(pfs::Severity::error);
  const auto warnings = report->count(pfs::Severity::warning);
  const auto notes = report->count(pfs::Severity::note);
  fmt::print(
      "{}: {} inodes ({} directories, {} files, {}), {} objects ({}): {}; {} error{}, {} "
      "warning{}, {} note{}\n",
      config->path, report->inodes, report->directories, report->files, format_size(report->bytes),
      report->objects, format_size(report->object_bytes), report->clean() ? "clean" : "NOT CLEAN",
      errors, errors == 1 ? "" : "s", warnings, warnings == 1 ? "" : "s", notes,
      notes == 1 ? "" : "s");
  std::fflush(stdout);
  return report->clean() ? kExitOk : kExitFailed;
}

int run(Invocation &invocation) {
  const int code = invocation.is_root() ? check(invocation) : kExitOk;
  auto shared = share_from_root(invocation.world(), code);
  if (!shared.ok()) {
    invocation.fail(shared.error(), "fsck");
    return kExitUsage;
  }
  return *shared;
}

}  // namespace

Command fsck_command() {
  Command command;
  command.name = "fsck";
  command.summary = "check an unmounted file system (reports, never repairs)";
  command.arguments = "";
  command.description =
      "Checks the file system, which no job may have mounted (fsck takes its mount lease),\n"
      "and prints one line per finding, 'error: ...', 'warning: ...' or 'note: ...', then a\n"
      "summary. It checks the volume headers; the root directory; that every directory\n"
      "entry names an existing inode and every linked inode is reachable from the root;\n"
      "link counts (a file: its number of names; a directory: 2 + its subdirectories);\n"
      "that unlinked inodes are queued for destruction (a note: the next mount destroys\n"
      "them); and that every object file on the volumes belongs to a file and is no longer\n"
      "than the file's size needs (warnings: reclaimable space). A lease still naming a\n"
      "job that died mounted is taken over and reported first (a note naming its pid and\n"
      "host). Nothing is changed.";
  command.exit_status =
      "0 no errors (warnings and notes allowed), 1 errors found, 2 the check could not run\n"
      "(usage error, a job has the file system mounted, an unreadable store or volume)";
  command.min_args = 0;
  command.max_args = 0;
  command.run = run;
  return command;
}

}  // namespace pdm::cli

// pdm mv: renames a file or directory (rank 0).
#include "apps/pdm/commands.h"

namespace pdm::cli {
namespace {

Status move(pfs::FileSystem &fs, const std::string &source, const std::string &target,
            bool into_directory) {
  std::string destination = target;
  // Like mv: an existing directory as the target receives SOURCE under its own name.
  if (into_directory) {
    if (auto existing = fs.stat(target); existing.ok() && existing->is_dir()) {
      destination = join(target, base_name(source));
    }
  }
  return fs.rename(source, destination);
}

int run(Invocation &invocation) {
  const std::string &source = invocation.args()[0];
  const std::string &target = invocation.args()[1];
  const bool into_directory = !invocation.flag("no-target-directory");
  return invocation.with_mounted([&](node::Node &node) {
    if (!invocation.is_root()) return kExitOk;
    if (auto moved = move(node.fs(), source, target, into_directory); !moved.ok()) {
      return invocation.fail(moved.error(), fmt::format("mv {} {}", source, target));
    }
    return kExitOk;
  });
}

}  // namespace

Command mv_command() {
  Command command;
  command.name = "mv";
  command.summary = "rename a file or directory";
  command.arguments = "SOURCE TARGET";
  command.description =
      "Renames SOURCE to TARGET, atomically. If TARGET is an existing directory, SOURCE\n"
      "moves into it under its own name (unless -T). Otherwise, as rename(2): an existing\n"
      "file TARGET is replaced, an empty directory TARGET is replaced by a directory SOURCE,\n"
      "and a directory cannot move into its own subtree.";
  command.min_args = 2;
  command.max_args = 2;
  command.add_options = [](po::options_description &options) {
    options.add_options()("no-target-directory,T", po::bool_switch(),
                          "treat TARGET as a name even if it is a directory (rename(2) exactly)");
  };
  command.run = run;
  return command;
}

}  // namespace pdm::cli

// pdm rm: removes files, and with -d empty directories (rank 0). With a
// pdm-hsm archive, the recall agent runs (recall_mount.h): it notes the
// archive copies of the removed files for `pdm-hsm remove` (docs/HSM.md).
#include "apps/pdm/commands.h"
#include "apps/pdm/recall_mount.h"

namespace pdm::cli {
namespace {

Status remove(pfs::FileSystem &fs, const std::string &path, bool directories) {
  PDM_ASSIGN_OR_RETURN(const pfs::Inode inode, fs.stat(path));
  if (!inode.is_dir()) return fs.unlink(path);
  if (!directories) {
    return make_error(EISDIR, "{}: is a directory (use 'pdm rm -d' for an empty directory)", path);
  }
  return fs.rmdir(path);
}

int run(Invocation &invocation) {
  const bool directories = invocation.flag("dir");
  const bool force = invocation.flag("force");
  return with_mounted_recalling(invocation, [&](node::Node &node) {
    if (!invocation.is_root()) return kExitOk;
    int code = kExitOk;
    for (const std::string &path : invocation.args()) {
      Status removed = remove(node.fs(), path, directories);
      if (removed.ok() || (force && removed.error().code == ENOENT)) continue;
      code = invocation.fail(removed.error(), path);
    }
    return code;
  });
}

}  // namespace

Command rm_command() {
  Command command;
  command.name = "rm";
  command.summary = "remove files (and, with -d, empty directories)";
  command.arguments = "PATH...";
  command.description =
      "Removes each file PATH. A directory is removed only with -d, and only when empty;\n"
      "there is no recursive removal. The data of a removed file is freed at once, or, if a\n"
      "job still has it open, when it is closed. A PATH that fails is reported and the\n"
      "others are still removed.\n"
      "If the file system has a pdm-hsm archive, every rank runs pdm-hsm's recall agent,\n"
      "which notes the archive copies of removed files (DM attribute 'pdm.gone' of the\n"
      "root) so that 'pdm-hsm remove' drops them once its grace period has passed.";
  command.min_args = 1;
  command.max_args = kAnyNumber;
  command.add_options = [](po::options_description &options) {
    options.add_options()("dir,d", po::bool_switch(), "also remove empty directories")(
        "force,f", po::bool_switch(), "a PATH that does not exist is no error");
  };
  command.run = run;
  return command;
}

}  // namespace pdm::cli

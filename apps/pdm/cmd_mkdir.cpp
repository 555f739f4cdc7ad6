// pdm mkdir: creates directories (rank 0).
#include <sys/stat.h>

#include "apps/pdm/commands.h"
#include "pfs/config/path.h"

namespace pdm::cli {
namespace {

// mkdir -p: every missing ancestor, and no error for an existing directory.
Status make_parents(pfs::FileSystem &fs, const std::string &path, mode_t mode) {
  PDM_ASSIGN_OR_RETURN(const auto components, pfs::split_path(path));
  std::string prefix;
  for (const std::string &name : components) {
    prefix = join(prefix.empty() ? "/" : prefix, name);
    auto made = fs.mkdir(prefix, mode);
    if (made.ok()) continue;
    if (made.error().code != EEXIST) return made;
    PDM_ASSIGN_OR_RETURN(const pfs::Inode existing, fs.stat(prefix));
    if (!existing.is_dir()) return make_error(ENOTDIR, "{}: exists and is not a directory", prefix);
  }
  return {};
}

int run(Invocation &invocation) {
  const bool parents = invocation.flag("parents");
  const mode_t mode = with_umask(0777);
  return invocation.with_mounted([&](node::Node &node) {
    if (!invocation.is_root()) return kExitOk;
    int code = kExitOk;
    for (const std::string &path : invocation.args()) {
      Status made = parents ? make_parents(node.fs(), path, mode) : node.fs().mkdir(path, mode);
      if (!made.ok()) code = invocation.fail(made.error(), path);
    }
    return code;
  });
}

}  // namespace

Command mkdir_command() {
  Command command;
  command.name = "mkdir";
  command.summary = "create directories";
  command.arguments = "PATH...";
  command.description =
      "Creates each directory PATH (mode 0777 less the umask). Its parent must exist and\n"
      "PATH must not, unless -p is given. A PATH that fails is reported and the others are\n"
      "still made.";
  command.min_args = 1;
  command.max_args = kAnyNumber;
  command.add_options = [](po::options_description &options) {
    options.add_options()("parents,p", po::bool_switch(),
                          "make missing parent directories too; an existing directory is no "
                          "error");
  };
  command.run = run;
  return command;
}

}  // namespace pdm::cli

// pdm stat: prints the attributes of files and directories (rank 0).
#include <sys/stat.h>

#include <cstdio>

#include <fmt/format.h>

#include "apps/pdm/commands.h"
#include "runtime/base/size.h"

namespace pdm::cli {
namespace {

void print_stat(const pfs::FileSystem &fs, const std::string &path, const pfs::Inode &inode) {
  const struct stat st = fs.to_stat(inode);
  auto ns = [](const timespec &ts) {
    return static_cast<pfs::TimeNs>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
  };
  fmt::print("path: {}\n", path);
  fmt::print("type: {}\n", S_ISDIR(st.st_mode) ? "directory" : "regular file");
  fmt::print("ino: {}\n", static_cast<std::uint64_t>(st.st_ino));
  fmt::print("generation: {}\n", inode.generation);
  fmt::print("size: {}\n", static_cast<std::int64_t>(st.st_size));
  fmt::print("mode: {:04o} ({})\n", st.st_mode & 07777, mode_string(st.st_mode));
  fmt::print("nlink: {}\n", static_cast<std::uint64_t>(st.st_nlink));
  fmt::print("uid: {}\n", st.st_uid);
  fmt::print("gid: {}\n", st.st_gid);
  fmt::print("atime: {}\n", iso_time(ns(st.st_atim)));
  fmt::print("mtime: {}\n", iso_time(ns(st.st_mtim)));
  fmt::print("ctime: {}\n", iso_time(ns(st.st_ctim)));
  if (inode.is_file()) {
    fmt::print("stripe_size: {} ({})\n", inode.stripe_size, format_size(inode.stripe_size));
    fmt::print("first_volume: {}\n", inode.first_volume);
  }
}

int run(Invocation &invocation) {
  return invocation.with_mounted([&](node::Node &node) {
    if (!invocation.is_root()) return kExitOk;
    int code = kExitOk;
    bool first = true;
    for (const std::string &path : invocation.args()) {
      auto inode = node.fs().stat(path);
      if (!inode.ok()) {
        std::fflush(stdout);
        code = invocation.fail(inode.error(), path);
        continue;
      }
      if (!first) fmt::print("\n");
      first = false;
      print_stat(node.fs(), path, *inode);
    }
    std::fflush(stdout);
    return code;
  });
}

}  // namespace

Command stat_command() {
  Command command;
  command.name = "stat";
  command.summary = "print the attributes of files and directories";
  command.arguments = "PATH...";
  command.description =
      "Prints, for each PATH, one 'key: value' line per attribute: path, type, ino,\n"
      "generation, size, mode, nlink, uid, gid, atime, mtime, ctime (ISO 8601, local time\n"
      "zone, nanoseconds) and, for a file, its layout: stripe_size and first_volume (the\n"
      "volume holding its first stripe). A blank line separates the files.";
  command.min_args = 1;
  command.max_args = kAnyNumber;
  command.run = run;
  return command;
}

}  // namespace pdm::cli

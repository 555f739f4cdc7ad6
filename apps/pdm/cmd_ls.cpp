// pdm ls: lists a directory of the file system, or names a file (rank 0).
#include <algorithm>
#include <cstdio>

#include <fmt/format.h>

#include "apps/pdm/commands.h"

namespace pdm::cli {
namespace {

struct Row {
  std::string name;
  pfs::Inode inode;
};

void print_long(const std::vector<Row> &rows) {
  // Right-aligned numeric columns, as wide as their widest value (as ls does).
  std::size_t nlink = 0, uid = 0, gid = 0, size = 0;
  for (const Row &row : rows) {
    nlink = std::max(nlink, fmt::formatted_size("{}", row.inode.nlink));
    uid = std::max(uid, fmt::formatted_size("{}", row.inode.uid));
    gid = std::max(gid, fmt::formatted_size("{}", row.inode.gid));
    size = std::max(size, fmt::formatted_size("{}", row.inode.size));
  }
  for (const Row &row : rows) {
    fmt::print("{} {:>{}} {:>{}} {:>{}} {:>{}} {} {}\n", mode_string(row.inode.mode),
               row.inode.nlink, nlink, row.inode.uid, uid, row.inode.gid, gid, row.inode.size, size,
               short_time(row.inode.mtime), row.name);
  }
}

int list(Invocation &invocation, pfs::FileSystem &fs, const std::string &path) {
  const bool long_format = invocation.flag("long");
  auto inode = fs.stat(path);
  if (!inode.ok()) return invocation.fail(inode.error(), path);
  if (!inode->is_dir()) {
    // Like ls: a file is listed under the name it was given.
    if (long_format) {
      print_long({{path, *inode}});
    } else {
      fmt::print("{}\n", path);
    }
    return kExitOk;
  }
  auto entries = list_directory(fs, path);
  if (!entries.ok()) return invocation.fail(entries.error(), path);
  if (!long_format) {
    for (const pfs::DirEntry &entry : *entries) fmt::print("{}\n", entry.name);
    return kExitOk;
  }
  int code = kExitOk;
  std::vector<Row> rows;
  for (const pfs::DirEntry &entry : *entries) {
    const std::string entry_path = join(path, entry.name);
    // An entry removed since readdir is reported, and the rest still listed.
    if (auto entry_inode = fs.stat(entry_path); entry_inode.ok()) {
      rows.push_back({entry.name, *entry_inode});
    } else {
      code = invocation.fail(entry_inode.error(), entry_path);
    }
  }
  print_long(rows);
  return code;
}

int run(Invocation &invocation) {
  const std::string path = invocation.args().empty() ? "/" : invocation.args().front();
  return invocation.with_mounted([&](node::Node &node) {
    if (!invocation.is_root()) return kExitOk;
    const int code = list(invocation, node.fs(), path);
    std::fflush(stdout);
    return code;
  });
}

}  // namespace

Command ls_command() {
  Command command;
  command.name = "ls";
  command.summary = "list a directory";
  command.arguments = "[PATH]";
  command.description =
      "Lists the entries of the directory PATH (default /) in name order, one per line;\n"
      "a file is listed under the name given. With -l, each line is\n"
      "  MODE NLINK UID GID SIZE YYYY-MM-DD HH:MM NAME\n"
      "with the modification time in the local time zone, as 'ls -l --time-style=long-iso'\n"
      "prints it (without its 'total' line).";
  command.min_args = 0;
  command.max_args = 1;
  command.add_options = [](po::options_description &options) {
    options.add_options()("long,l", po::bool_switch(),
                          "long format: mode, links, owner, group, size, mtime, name");
  };
  command.run = run;
  return command;
}

}  // namespace pdm::cli

// pdm df: the space and objects of each volume, and the inode count (rank 0).
#include <algorithm>

#include <fmt/format.h>

#include "apps/pdm/commands.h"
#include "runtime/base/size.h"

namespace pdm::cli {
namespace {

using Table = std::vector<std::vector<std::string>>;

void print_table(const Table &table) {
  std::vector<std::size_t> widths;
  for (const auto &row : table) {
    widths.resize(std::max(widths.size(), row.size()));
    for (std::size_t c = 0; c < row.size(); ++c) widths[c] = std::max(widths[c], row[c].size());
  }
  for (const auto &row : table) {
    std::string line;
    for (std::size_t c = 0; c < row.size(); ++c) {
      // The last column (the directory) is not padded, so lines have no trailing blanks.
      line += c + 1 == row.size() ? row[c] : fmt::format("{:<{}}  ", row[c], widths[c]);
    }
    fmt::print("{}\n", line);
  }
}

int report(Invocation &invocation, pfs::FileSystem &fs) {
  auto usage = fs.volume_usage();
  if (!usage.ok()) return invocation.fail(usage.error(), "volume usage");
  auto stats = fs.metadata_stats();
  if (!stats.ok()) return invocation.fail(stats.error(), "metadata");
  const bool exact = invocation.flag("bytes");
  auto size = [exact](std::uint64_t bytes) {
    return exact ? fmt::format("{}", bytes) : format_size(bytes);
  };
  Table table{{"VOLUME", "OWNER", "OBJECTS", "OBJECT-BYTES", "FREE", "TOTAL", "DIRECTORY"}};
  for (const pfs::VolumeUsage &volume : *usage) {
    table.push_back(
        {fmt::format("{}", volume.volume), fmt::format("{}", fs.owner_of_volume(volume.volume)),
         fmt::format("{}", volume.objects), size(volume.object_bytes), size(volume.device_free),
         size(volume.device_total), fs.config().volume_dir(volume.volume)});
  }
  print_table(table);
  fmt::print("inodes: {} ({} unlinked, awaiting destruction)\n", stats->inodes, stats->orphans);
  return kExitOk;
}

int run(Invocation &invocation) {
  return invocation.with_mounted([&](node::Node &node) {
    if (!invocation.is_root()) return kExitOk;
    return report(invocation, node.fs());
  });
}

}  // namespace

Command df_command() {
  Command command;
  command.name = "df";
  command.summary = "show the volumes: owner rank, objects, space";
  command.arguments = "";
  command.description =
      "Prints one line per volume: its index, the rank that serves it in this job, the\n"
      "number of object files on it, the space they occupy (allocated blocks), the free and\n"
      "total space of the device the volume directory is on, and the directory. Then the\n"
      "number of inodes in the metadata store. Sizes are in binary units (1 KiB = 1024\n"
      "bytes) unless -b is given.";
  command.min_args = 0;
  command.max_args = 0;
  command.add_options = [](po::options_description &options) {
    options.add_options()("bytes,b", po::bool_switch(), "print sizes as exact byte counts");
  };
  command.run = run;
  return command;
}

}  // namespace pdm::cli

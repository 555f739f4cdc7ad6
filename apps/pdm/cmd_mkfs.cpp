// pdm mkfs: creates a file system (pfs/config/mkfs.h does the work). Rank 0
// alone creates it; the other ranks of an mpiexec wait for its result.
#include <fmt/format.h>

#include "apps/pdm/commands.h"
#include "pfs/config/mkfs.h"

namespace pdm::cli {
namespace {

// The options of the command line, or a usage error.
Result<pfs::MkfsOptions> options_of(const Invocation &invocation) {
  pfs::MkfsOptions options;
  options.config_path = invocation.args().front();
  if (invocation.options().count("volume")) {
    options.volumes = invocation.options()["volume"].as<std::vector<std::string>>();
  }
  if (options.volumes.empty()) {
    return make_error(EINVAL, "pdm: mkfs: no volumes: give at least one --volume DIR");
  }
  if (invocation.options().count("stripe-size")) {
    const std::string &text = invocation.options()["stripe-size"].as<std::string>();
    auto stripe = parse_size(text);
    Status valid = stripe.ok() ? pfs::check_stripe_size(*stripe) : Status(stripe.error());
    if (!valid.ok()) {
      return make_error(EINVAL, "pdm: mkfs: --stripe-size {}: {}", text,
                        without_pdm_prefix(valid.error().message));
    }
    options.stripe_size = static_cast<std::uint32_t>(*stripe);
  }
  return options;
}

int run(Invocation &invocation) {
  auto options = options_of(invocation);
  if (!options.ok()) {
    if (invocation.is_root()) fmt::print(stderr, "{}\n", options.error().message);
    return kExitUsage;
  }
  int code = kExitOk;
  if (invocation.is_root()) {
    auto made = pfs::make_file_system(*options);
    if (made.ok()) {
      fmt::print("created file system {} in {}: {} volume{}, stripe size {}\n", made->fs_id,
                 made->path, made->volumes.size(), made->volumes.size() == 1 ? "" : "s",
                 format_size(made->stripe_size));
    } else {
      code = invocation.fail(made.error());
    }
  }
  auto shared = share_from_root(invocation.world(), code);
  return shared.ok() ? *shared : invocation.fail(shared.error(), "mkfs");
}

}  // namespace

Command mkfs_command() {
  Command command;
  command.name = "mkfs";
  command.summary = "create a file system over a set of volume directories";
  command.arguments = "FS --volume DIR [--volume DIR ...]";
  command.description =
      "Creates the file system described by the new config file FS: each volume directory\n"
      "(created if missing; an existing one must be empty) gets a header and an objects/\n"
      "tree, the first volume also holds the metadata store, and FS lists them in order.\n"
      "The order of the volumes is the order of --volume and never changes afterwards.\n"
      "Nothing is created if any check fails: FS must not exist, and no volume may be\n"
      "given twice, lie inside another, or already belong to a file system.\n"
      "Rank 0 does the work; under mpiexec the other ranks only wait for it.";
  command.min_args = 1;
  command.max_args = 1;
  command.uses_fs = false;
  command.add_options = [](po::options_description &options) {
    options.add_options()("volume", po::value<std::vector<std::string>>()->value_name("DIR"),
                          "a volume directory; repeat for each volume, in order (at least one)")(
        "stripe-size", po::value<std::string>()->value_name("SIZE"),
        "bytes per stripe unit: a multiple of 4K in 4K..1G, such as 64K or 4M (default 1M)");
  };
  command.run = run;
  return command;
}

}  // namespace pdm::cli

// pdm-hsm archive add|list: the archives of a file system (the [hsm]
// section of its config; apps/hsm/archive/archive_registry.h). Rank 0 does
// the work; under mpiexec the other ranks only agree on the exit code.
#include <algorithm>
#include <filesystem>

#include <fmt/format.h>

#include "apps/hsm/archive/archive_registry.h"
#include "apps/hsm/cli/hsm_commands.h"
#include "runtime/base/size.h"

namespace pdm::cli {
namespace {

using hsm::ArchiveSpec;
using hsm::ArchiveType;

Result<ArchiveSpec> spec_from(const Invocation &invocation) {
  const auto &args = invocation.args();
  if (args.size() != 2) {
    return make_error(EINVAL,
                      "archive add: expected one archive ID (pdm-hsm archive add ID --type "
                      "hdf5|posix --path DIR)");
  }
  const auto &options = invocation.options();
  if (options.count("type") == 0 || options.count("path") == 0) {
    return make_error(EINVAL, "archive add: --type and --path are required");
  }
  ArchiveSpec spec;
  spec.id = args[1];
  const auto type = hsm::parse_archive_type(options["type"].as<std::string>());
  if (!type) {
    return make_error(EINVAL, "archive add: --type {}: expected hdf5 or posix",
                      options["type"].as<std::string>());
  }
  spec.type = *type;
  spec.path = options["path"].as<std::string>();
  std::error_code ec;
  if (!spec.path.empty() && spec.path.front() != '/') {
    spec.path = std::filesystem::absolute(spec.path, ec).lexically_normal().string();
  }
  for (const char *key : {"deflate", "chunk", "container-files", "container-bytes"}) {
    if (options.count(key) == 0) continue;
    if (spec.type != ArchiveType::kHdf5) {
      return make_error(EINVAL, "archive add: --{} applies to hdf5 archives only", key);
    }
    std::string name = key;
    std::replace(name.begin(), name.end(), '-', '_');
    spec.options[name] = options[key].as<std::string>();
  }
  PDM_TRY(spec.validate());
  return spec;
}

int add(Invocation &invocation) {
  auto spec = spec_from(invocation);
  if (!spec.ok()) return invocation.fail(spec.error());
  // Make (or check) the directory first: an archive is only registered once
  // it can hold copies.
  auto opened = hsm::open_archive(*spec, {.create = true});
  if (!opened.ok()) return invocation.fail(opened.error());
  if (auto added = hsm::add_archive(invocation.fs_config(), *spec); !added.ok()) {
    return invocation.fail(added.error());
  }
  auto registry = hsm::ArchiveRegistry::load(invocation.fs_config());
  const bool is_default = registry.ok() && registry->archives().front().id == spec->id;
  fmt::print("archive {} added: {} in {}{}\n", spec->id, hsm::name(spec->type), spec->path,
             is_default ? " (the default archive)" : "");
  return kExitOk;
}

int list(Invocation &invocation) {
  auto registry = hsm::ArchiveRegistry::load(invocation.fs_config());
  if (!registry.ok()) return invocation.fail(registry.error());
  if (registry->archives().empty()) {
    fmt::print("no archive; add one with 'pdm-hsm archive add ID --type hdf5|posix --path DIR'\n");
    return kExitOk;
  }
  const bool copies = invocation.flag("copies");
  int code = kExitOk;
  bool first = true;
  for (const ArchiveSpec &spec : registry->archives()) {
    std::string options;
    for (const auto &[key, value] : spec.options) options += fmt::format(" {}={}", key, value);
    std::string line = fmt::format("{}{}  {}  {}{}", spec.id, first ? " (default)" : "",
                                   hsm::name(spec.type), spec.path, options);
    first = false;
    if (copies) {
      auto archive = hsm::open_archive(spec);
      auto records = archive.ok() ? (*archive)->list()
                                  : Result<std::vector<hsm::ArchiveRecord>>(archive.error());
      if (records.ok()) {
        std::uint64_t bytes = 0;
        for (const auto &record : *records) bytes += record.file.size;
        line += fmt::format("  copies={} bytes={}", records->size(), format_size(bytes));
      } else {
        line += fmt::format("  (cannot list: {})", records.error().message);
        code = kExitFailed;
      }
    }
    fmt::print("{}\n", line);
  }
  return code;
}

int run(Invocation &invocation) {
  int code = kExitOk;
  if (invocation.is_root()) {
    const std::string &verb = invocation.args().front();
    if (verb == "add") {
      code = add(invocation);
    } else if (verb == "list") {
      code = invocation.args().size() == 1
                 ? list(invocation)
                 : invocation.fail(make_error(EINVAL, "archive list takes no arguments"));
    } else {
      code = invocation.fail(
          make_error(EINVAL, "archive: unknown subcommand '{}' (add or list)", verb));
    }
  }
  auto shared = share_from_root(invocation.world(), code);
  return shared.ok() ? *shared : kExitFailed;
}

}  // namespace

Command archive_command() {
  Command command;
  command.name = "archive";
  command.summary = "add an archive to the file system, or list its archives";
  command.arguments = "add ID --type hdf5|posix --path DIR | list";
  command.description =
      "pdm-hsm copies file data to archives registered in the file system's config file\n"
      "(section [hsm]). 'archive add ID' registers a new one: --type hdf5 keeps copies as\n"
      "datasets in HDF5 containers (options --deflate, --chunk, --container-files,\n"
      "--container-bytes), --type posix as one file per copy. DIR is created if it does\n"
      "not exist; it must be empty or already an archive of that type. The first archive\n"
      "added is the default one (migrate --archive ID picks another). Archives are never\n"
      "changed or removed this way: the files' records point into them.\n"
      "\n"
      "'archive list' prints every archive (ID, type, directory, options); with --copies,\n"
      "also how many copies each holds and their size (it reads the archive).\n"
      "\n"
      "The config is rewritten atomically (temp file, fsync, rename) under a lock, so\n"
      "concurrent adds are safe; jobs already running keep the archives they started with.";
  command.min_args = 1;
  command.max_args = 2;
  command.add_options = [](po::options_description &options) {
    options.add_options()("type", po::value<std::string>()->value_name("TYPE"),
                          "add: hdf5 or posix")("path", po::value<std::string>()->value_name("DIR"),
                                                "add: the archive directory")(
        "deflate", po::value<std::string>()->value_name("N"),
        "add, hdf5: gzip level 1-9 (0: none, the default)")(
        "chunk", po::value<std::string>()->value_name("SIZE"),
        "add, hdf5: dataset chunk size (default 1M)")(
        "container-files", po::value<std::string>()->value_name("N"),
        "add, hdf5: copies per container before the next one (default 1: a kill can never damage a "
        "released copy)")("container-bytes", po::value<std::string>()->value_name("SIZE"),
                          "add, hdf5: bytes per container before the next one (default 16G)")(
        "copies", po::bool_switch(), "list: count the copies in each archive");
  };
  command.run = run;
  return command;
}

}  // namespace pdm::cli

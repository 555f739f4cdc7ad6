// pdm-hsm-fetch: writes one archive copy to standard output, checksum
// verified. The recall agent hosted by the MPI-IO shim runs it to read HDF5
// archives outside the application's process (apps/hsm/agent/fetch_helper.h
// says why); people can run it too. It needs no MPI and mounts nothing: it
// reads the config's [hsm] section and the archive directory only.
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <span>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "apps/hsm/archive/archive_registry.h"

namespace {

constexpr const char *kHelp =
    "Usage: pdm-hsm-fetch [--fs FS] LOCATION\n"
    "       pdm-hsm-fetch --help\n"
    "\n"
    "Writes the archive copy at LOCATION (ID:LOCATOR, the archive= field of a file's\n"
    "pdm.hsm record, as `pdm-hsm status` shows it) to standard output, reading the\n"
    "archive ID registered in the [hsm] section of the file system config FS (default:\n"
    "the PDM_FS environment variable). The copy's size and xxHash64 checksum are checked\n"
    "against what the archive recorded once every byte was written: a nonzero exit means\n"
    "the bytes already written must not be trusted. Needs no MPI and mounts nothing.\n"
    "\n"
    "The recall agent of the MPI-IO shim (libpdm-mpiio) runs it to read HDF5 archives in\n"
    "a process of its own (docs/MPIIO.md, Recall); PDM_HSM_FETCH names another one.\n"
    "\n"
    "Exit status: 0 ok, 1 the copy could not be read or is corrupt (the reason on\n"
    "stderr), 2 usage error.\n";

int usage(std::string_view why) {
  fmt::print(stderr, "pdm-hsm-fetch: {}\n{}", why, kHelp);
  return 2;
}

pdm::Status write_out(std::span<const std::byte> data) {
  while (!data.empty()) {
    const ssize_t n = ::write(STDOUT_FILENO, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return pdm::make_error(errno, "writing to standard output: {}", std::strerror(errno));
    }
    data = data.subspan(static_cast<std::size_t>(n));
  }
  return {};
}

pdm::Status fetch(const std::string &fs_config, const std::string &where) {
  using namespace pdm::hsm;
  PDM_ASSIGN_OR_RETURN(const ArchiveLocation location, ArchiveLocation::decode(where));
  PDM_ASSIGN_OR_RETURN(const ArchiveRegistry registry, ArchiveRegistry::load(fs_config));
  const ArchiveSpec *spec = registry.find(location.archive_id);
  if (spec == nullptr) {
    return pdm::make_error(ENOENT, "archive '{}' is not registered in {}", location.archive_id,
                           fs_config);
  }
  PDM_ASSIGN_OR_RETURN(auto archive, open_archive(*spec));
  std::uint64_t next = 0;
  return archive->fetch(
      location, [&](std::uint64_t offset, std::span<const std::byte> data) -> pdm::Status {
        // A pipe has no offsets: the backends hand the copy in order.
        if (offset != next) {
          return pdm::make_error(EIO, "the archive handed offset {}, expected {}", offset, next);
        }
        next += data.size();
        return write_out(data);
      });
}

}  // namespace

int main(int argc, char **argv) {
  std::string fs_config;
  std::string location;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg(argv[i]);
    if (arg == "--help" || arg == "-h") {
      fmt::print("{}", kHelp);
      return 0;
    }
    if (arg == "--fs") {
      if (i + 1 == argc) return usage("--fs needs a value");
      fs_config = argv[++i];
    } else if (arg.starts_with("--fs=")) {
      fs_config = std::string(arg.substr(5));
    } else if (arg.starts_with("-") && arg != "-") {
      return usage(fmt::format("unknown option {}", arg));
    } else if (location.empty()) {
      location = std::string(arg);
    } else {
      return usage("one LOCATION only");
    }
  }
  if (location.empty()) return usage("no LOCATION");
  if (fs_config.empty()) {
    const char *env = std::getenv("PDM_FS");
    if (env == nullptr || *env == '\0') return usage("no --fs and no PDM_FS");
    fs_config = env;
  }
  if (auto fetched = fetch(fs_config, location); !fetched.ok()) {
    fmt::print(stderr, "pdm-hsm-fetch: {}: {}\n", location, fetched.error().message);
    return 1;
  }
  return 0;
}

// The archive registry: which archives a pdm file system has. They live in
// the fs config file (pfs/config/fs_config.h), section [hsm], one line each:
//
//   [hsm]
//   archive = a1 hdf5 /archive/a1 deflate=4
//   archive = p posix /archive/p
//
// i.e. "ID TYPE PATH [key=value...]". The first archive is the default one
// (migrate without --archive). An archive is added (never changed or removed:
// copies in it are referenced by files' DM attributes) with add_archive,
// which rewrites the config atomically and durably under a lock so that two
// concurrent `pdm-hsm archive add` cannot lose one another's line.
//
// open_archive builds the backend object for an entry.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "apps/hsm/archive/archive.h"
#include "pfs/config/fs_config.h"
#include "runtime/base/result.h"

namespace pdm::hsm {

enum class ArchiveType { kPosix, kHdf5 };

std::string_view name(ArchiveType type);
std::optional<ArchiveType> parse_archive_type(std::string_view text);

// One [hsm] archive line.
struct ArchiveSpec {
  std::string id;  // [A-Za-z0-9_.-]{1,32}: no ':' (ArchiveLocation), no blanks
  ArchiveType type = ArchiveType::kPosix;
  std::string path;  // absolute directory, no blanks or '#'
  // Backend options (hdf5: deflate=0..9, chunk=SIZE, container_files=N,
  // container_bytes=SIZE; posix: none). Unknown keys are EINVAL.
  std::map<std::string, std::string> options;

  std::string encode() const;
  // EINVAL naming what is wrong with the line.
  static Result<ArchiveSpec> parse(std::string_view line);
  // EINVAL unless encode() would round-trip through parse().
  Status validate() const;
};

class ArchiveRegistry {
 public:
  // EINVAL (naming the config file) for a bad or repeated line.
  static Result<ArchiveRegistry> from_config(const pfs::FsConfig &config);
  static Result<ArchiveRegistry> load(const std::string &config_path);

  const std::vector<ArchiveSpec> &archives() const { return archives_; }
  const ArchiveSpec *find(std::string_view id) const;
  // The archive `id`, or the default one without an id; ENOENT naming
  // `pdm-hsm archive add` if there is none.
  Result<const ArchiveSpec *> select(std::optional<std::string_view> id = std::nullopt) const;

 private:
  std::vector<ArchiveSpec> archives_;
};

// Appends spec to the config file at config_path: EEXIST if the id is
// taken, EINVAL for a bad spec. Concurrent callers are serialised by an
// flock on the config's directory; the config is replaced atomically.
Status add_archive(const std::string &config_path, const ArchiveSpec &spec);

struct OpenArchiveOptions {
  // Create the archive directory if it does not exist (archive add).
  bool create = false;
  // Names this writer in backends that give each writer its own files (HDF5
  // containers): unique among the processes that write at the same time,
  // e.g. "r3-<job tag>". Empty: host name, pid and start time.
  std::string writer;
};

// The backend object for spec: ENOENT if the directory is missing (and not
// `create`), EACCES/ENOTDIR etc. if it cannot be used.
Result<std::unique_ptr<Archive>> open_archive(const ArchiveSpec &spec,
                                              const OpenArchiveOptions &options = {});

// A writer name unique to this process: "<host>-<pid>-<start time hex>".
std::string default_writer_name();

}  // namespace pdm::hsm

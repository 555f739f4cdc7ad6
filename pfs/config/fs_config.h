// FsConfig: the file that describes one pdm file system, written by
// `pdm mkfs` and read by every rank that mounts it. It is an INI file that
// boost::program_options::parse_config_file reads:
//
//   [fs]
//   id = 3f9c0a1b2c3d4e5f          # 16 hex digits, chosen by mkfs
//   stripe_size = 1048576          # bytes; sizes such as 1M are accepted
//   volume = /scratch/pdm/v0       # volume 0: also holds the metadata store
//   volume = /scratch/pdm/v1       # one line per volume, in index order
//   [settings]
//   log.level = info               # any key of the settings table (settings.h)
//   [hsm]
//   archive = a1 hdf5 /archive/a1 deflate=4   # pdm-hsm's archives, first = default
//   max_recalls = 4                # pdm-hsm: concurrent recalls per rank (optional)
//
// Volume order is the volume index, which object placement depends on: a
// config is written once and its volumes never reordered. Unknown keys are
// errors, so that a typo does not silently fall back to a default.
//
// The [hsm] keys belong to pdm-hsm (apps/hsm/archive/archive_registry.h parses
// the archive lines, apps/hsm/agent/recall_settings.h max_recalls); the file
// system keeps them as opaque text. Adding an archive
// is the one change made to an existing config (replace_durably).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/base/result.h"
#include "runtime/base/settings.h"

namespace pdm::pfs {

inline constexpr std::uint32_t kMinStripeSize = 4096;
inline constexpr std::uint32_t kMaxStripeSize = 1u << 30;

struct FsConfig {
  std::string path;  // the file it was loaded from; empty for one not yet saved
  std::string fs_id;
  std::uint32_t stripe_size = 0;
  std::vector<std::string> volumes;  // absolute directories, index order
  // [settings], as text, checked against the settings table; pass it to
  // pdm::resolve as SettingSources::config_file.
  SettingValues settings;
  // [hsm] archive lines, in file order, as text (pdm-hsm's archive registry).
  std::vector<std::string> hsm_archives;
  // [hsm] max_recalls as text, empty when the config has none (pdm-hsm's
  // bound on concurrent recalls per rank; recall_settings.h checks it).
  std::string hsm_max_recalls;

  // ENOENT if the file is missing ("create one with 'pdm mkfs'"); EINVAL for
  // an unknown key, a repeated single key or a bad value, naming key and file.
  static Result<FsConfig> load(const std::string &path);

  // Writes the config to a new file: EEXIST if path exists (a config is never
  // overwritten). Atomic and durable: it writes "<path>.tmp.<pid>", fsyncs
  // it, links it to path (which fails rather than replace a file that
  // appeared meanwhile), removes the temp name and fsyncs the directory.
  Status save_new(const std::string &path) const;

  // Replaces the existing config at `path` (which must exist: ENOENT) with
  // this one, atomically and durably: temp + fsync + rename + fsync of the
  // directory, so a crash leaves either the old or the new file. Used only
  // to add an archive ([hsm]); volumes must never change this way, and the
  // caller serialises concurrent replacers (the archive registry locks).
  Status replace_durably(const std::string &path) const;

  // The file's text, as save_new and replace_durably write it.
  std::string render() const;

  // EINVAL unless the fields make a config that load() would accept.
  Status validate() const;

  std::string metadata_dir() const { return volumes.at(0) + "/meta"; }
  std::string volume_dir(std::uint32_t index) const { return volumes.at(index); }
};

// EINVAL unless stripe_size is a multiple of 4096 in [4 KiB, 1 GiB].
Status check_stripe_size(std::uint64_t stripe_size);

// EINVAL unless fs_id is 16 hexadecimal digits.
Status check_fs_id(std::string_view fs_id);

// Durable file helpers shared by the config, volume headers and mkfs.
// Creates path with content, never replacing an existing file (EEXIST), by
// the temp + fsync + link + fsync-directory sequence of FsConfig::save_new.
Status write_new_file_durably(const std::string &path, std::string_view content);
// Replaces path (which may exist) with content: temp + fsync + rename +
// fsync of the directory.
Status replace_file_durably(const std::string &path, std::string_view content);
// fsync of a directory, so that entries created in it survive a crash.
Status fsync_directory(const std::string &dir);

}  // namespace pdm::pfs

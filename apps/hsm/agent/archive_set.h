// ArchiveSet: the archives one process uses, opened on first use and kept
// open (an HDF5 container stays open across recalls), by archive id. The
// migration picks the default one (or --archive ID); a recall opens the one
// its file's record names. Thread-safe: the event thread's workers and the
// main thread share it (each Archive serialises what it must, archive.h).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "apps/hsm/archive/archive.h"
#include "runtime/base/result.h"

namespace pdm::hsm {

class ArchiveSet {
 public:
  // Builds the backend object of archive `id` (ENOENT for an unknown id).
  using Opener = std::function<Result<std::unique_ptr<Archive>>(const std::string &id)>;

  ArchiveSet(Opener open, std::string default_id)
      : open_(std::move(open)), default_id_(std::move(default_id)) {}

  // The archive `id`, opened now if it is not yet; the pointer lives as long
  // as the set. A failed open is not remembered (the next call tries again).
  Result<Archive *> get(const std::string &id);
  // The archive a migration uses when none is named ("" if there is none).
  const std::string &default_id() const { return default_id_; }

 private:
  Opener open_;
  std::string default_id_;
  std::mutex mutex_;
  std::map<std::string, std::unique_ptr<Archive>> open_archives_;
};

}  // namespace pdm::hsm

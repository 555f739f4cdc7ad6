// PosixArchive: an archive in a plain directory (any POSIX file system), one
// data file per archived file version plus its self-description:
//
//   DIR/pdm-hsm-posix            marker: "this directory is a pdm-hsm archive"
//   DIR/3f/<ino>.<gen>.<tag>.json   the description (ArchivedFile as JSON)
//   DIR/3f/<ino>.<gen>.<tag>.data   the bytes
//
// (3f = ino mod 256 in hex, so that no directory grows too large; tag makes
// each copy of one inode version unique: time, pid and a counter.) The
// locator is "3f/<ino>.<gen>.<tag>".
//
// Durability of store(): the data goes to "<name>.data.tmp" while its
// xxHash64 is computed, then is fsynced; the description is written to a
// temp name, fsynced and renamed to "<name>.json"; then the data is linked
// to "<name>.data" and the directory fsynced. A copy exists exactly when its
// .data file exists, and then its description is complete: a crash at any
// point leaves either a whole copy or leftovers (*.tmp, a .json without its
// .data) that list() ignores.
//
// Concurrency: every store() creates new names (O_EXCL), so processes on
// any node may store into one directory at once; fetch() of a copy never
// sees it incomplete. remove() unlinks the .data first (the copy is gone at
// once for everyone), then the description.
#pragma once

#include <atomic>
#include <string>

#include "apps/hsm/archive/archive.h"

namespace pdm::hsm {

class PosixArchive final : public Archive {
 public:
  // ENOENT unless dir exists (or create), EINVAL if it holds files but no
  // marker (not an archive: refuse to scatter copies into it).
  static Result<std::unique_ptr<PosixArchive>> open(std::string id, std::string dir, bool create);

  const std::string &id() const override { return id_; }
  Result<StoredCopy> store(const ArchivedFile &file, const SourceReader &read) override;
  Status fetch(const ArchiveLocation &location, const SinkWriter &write) override;
  Result<ArchivedFile> describe(const ArchiveLocation &location) override;
  Status remove(const ArchiveLocation &location) override;
  Result<std::vector<ArchiveRecord>> list() override;

  // The data file of a copy (for tests and tools): DIR/<locator>.data.
  Result<std::string> data_path(const ArchiveLocation &location) const;

 private:
  PosixArchive(std::string id, std::string dir) : id_(std::move(id)), dir_(std::move(dir)) {}
  // DIR/<locator> after checking that the location is one of ours.
  Result<std::string> base_of(const ArchiveLocation &location) const;

  std::string id_;
  std::string dir_;
  std::atomic<std::uint64_t> counter_{0};
};

// The description as stored next to the data (JSON), and back.
std::string encode_description(const ArchivedFile &file);
Result<ArchivedFile> decode_description(const std::string &text, const std::string &where);

}  // namespace pdm::hsm

// The jobs of the rebuild_catalog scenario (tests/hsm/rebuild_catalog.sh):
// the catalog (every file's pdm.hsm record) is rebuilt from the archives
// alone (issue #6; B16).
//
//   rebuild_catalog_job prepare FS   (4 ranks) writes /d/f0../d/f11, stores
//       copies in the registered archives (even files: the default, hdf5;
//       odd: the second, posix), with no pdm.hsm record anywhere; then
//       releases f1, f4, f7 (regions + punch), rewrites f2 (its copy is
//       stale), deletes f3, renames f5, stores f6 twice, and rewrites f8
//       and stores it again (two copies, the second matches).
//   rebuild_catalog_job check FS     (1 rank, after `pdm-hsm rebuild-catalog`)
//       every record says what the scenario expects: state, stale flag, the
//       checksum of the content the copy holds; migrated files' copies
//       fetch and verify from the archive.
#include <fcntl.h>
#include <pdm/dmapi.h>
#include <pdm/pdm.h>
#include <sys/stat.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "apps/hsm/archive/archive_registry.h"
#include "apps/hsm/hsm_record.h"
#include "runtime/dm/api/handles.h"
#include "runtime/dm/api/objects.h"
#include "runtime/dm/api/session.h"
#include "runtime/node/process_node.h"
#include "tests/jobs/job_util.h"

namespace pdm::jobs {
namespace {

constexpr int kFiles = 12;

std::string path_of(int i) {
  return i == 5 ? "/d/renamed5" : fmt::format("/d/f{}", i);
}
std::uint64_t size_of(int i) {
  return 64 * 1024 + static_cast<std::uint64_t>(i) * 4096;  // whole 4 KiB blocks: punchable
}
// The content's seed: f2 and f8 are rewritten (seed + 100).
std::uint64_t seed_of(int i, bool rewritten) {
  return static_cast<std::uint64_t>(i) + (rewritten ? 100 : 0);
}

bool write_file(const std::string &path, std::uint64_t seed, std::uint64_t size) {
  const auto data = pattern(seed, 0, size);
  const int fd = pdm_open(path.c_str(), O_CREAT | O_TRUNC | O_WRONLY, 0644);
  const bool ok = fd >= 0 && pdm_write_all(fd, data, 0, path) && pdm_close(fd) == 0;
  if (!ok) report("cannot write {}: {}", path, pdm_last_error());
  return ok;
}

Result<std::vector<std::unique_ptr<hsm::Archive>>> open_archives() {
  auto *node = node::process_node();
  PDM_ASSIGN_OR_RETURN(auto registry, hsm::ArchiveRegistry::from_config(node->fs().config()));
  std::vector<std::unique_ptr<hsm::Archive>> archives;
  for (const auto &spec : registry.archives()) {
    PDM_ASSIGN_OR_RETURN(auto archive,
                         hsm::open_archive(spec, {.writer = fmt::format("prep-r{}", rank())}));
    archives.push_back(std::move(archive));
  }
  if (archives.size() != 2) return make_error(EINVAL, "expected 2 archives");
  return archives;
}

// A copy of the pdm file at path, as migrate would make it.
bool store(hsm::Archive &archive, const std::string &path) {
  auto &fs = node::process_node()->fs();
  auto inode = fs.stat(path);
  if (!inode.ok()) {
    report("stat {}: {}", path, inode.error().message);
    return false;
  }
  const int fd = pdm_open(path.c_str(), O_RDONLY, 0);
  if (fd < 0) return false;
  hsm::ArchivedFile file{path, inode->ino, inode->generation, inode->size, inode->mtime, 0};
  auto copy = archive.store(
      file, [fd](std::uint64_t offset, std::span<std::byte> out) -> Result<std::size_t> {
        const ssize_t n = pdm_pread(fd, out.data(), out.size(), static_cast<off_t>(offset));
        if (n < 0) return make_error(errno, "pdm_pread: {}", pdm_last_error());
        return static_cast<std::size_t>(n);
      });
  pdm_close(fd);
  if (!copy.ok()) report("store {}: {}", path, copy.error().message);
  return copy.ok();
}

bool release(const std::string &path) {
  auto session = dm::api::Session::create("rebuild_catalog_job release");
  auto handle = dm::api::handle_of(path);
  if (!session.ok() || !handle.ok()) return false;
  Status status = dm::api::set_regions(
      *session, *handle, {{0, 0, DM_REGION_READ | DM_REGION_WRITE | DM_REGION_TRUNCATE}});
  if (status.ok()) status = dm::api::punch_hole(*session, *handle, 0, 0);
  if (!status.ok()) report("release {}: {}", path, status.error().message);
  return status.ok() && session->destroy().ok();
}

bool prepare_job() {
  bool ok = pdm_mkdir("/d", 0755) == 0 || errno == EEXIST;
  if (!all(ok)) return false;
  auto archives = open_archives();
  if (!archives.ok()) {
    report("archives: {}", archives.error().message);
    return all(false);
  }
  for (int i = rank(); i < kFiles; i += size()) {
    const std::string path = fmt::format("/d/f{}", i);
    hsm::Archive &archive = *(*archives)[i % 2];
    ok = ok && write_file(path, seed_of(i, false), size_of(i)) && store(archive, path);
    if (!ok) break;
    switch (i) {
      case 1:
      case 4:
      case 7:
        ok = release(path);
        break;
      case 2:
        ok = write_file(path, seed_of(i, true), size_of(i));
        break;
      case 3:
        ok = pdm_unlink(path.c_str()) == 0;
        break;
      case 5:
        ok = pdm_rename(path.c_str(), path_of(5).c_str()) == 0;
        break;
      case 6:
        ok = store(archive, path);
        break;
      case 8:
        ok = write_file(path, seed_of(i, true), size_of(i)) && store(archive, path);
        break;
      default:
        break;
    }
    if (!ok) report("preparing {} failed", path);
  }
  return all(ok);
}

bool check_job() {
  if (rank() != 0) return all(true);
  bool ok = true;
  auto session = dm::api::Session::create("rebuild_catalog_job check");
  auto archives = open_archives();
  if (!session.ok() || !archives.ok()) return all(false);
  for (int i = 0; i < kFiles; ++i) {
    if (i == 3) continue;  // deleted
    const std::string path = path_of(i);
    hsm::FileState want_state = hsm::FileState::kPremigrated;
    if (i == 1 || i == 4 || i == 7) want_state = hsm::FileState::kMigrated;
    if (i == 2) want_state = hsm::FileState::kResident;
    // The copy holds the content at copy time: f2's stale copy the original.
    const std::uint64_t copy_seed = seed_of(i, i == 8);
    const auto expected = pattern(copy_seed, 0, size_of(i));

    auto handle = dm::api::handle_of(path);
    auto text = handle.ok() ? dm::api::get_attr(*session, *handle, hsm::kHsmAttribute)
                            : Result<std::string>(handle.error());
    auto record = text.ok() ? hsm::HsmRecord::decode(*text) : Result<hsm::HsmRecord>(text.error());
    if (!record.ok()) {
      report("{}: no pdm.hsm record: {}", path, record.error().message);
      ok = false;
      continue;
    }
    if (record->state != want_state || record->stale != (i == 2) || !record->location ||
        record->checksum != checksum(expected)) {
      report("{}: record '{}', expected state {}{} and checksum {:016x}", path, *text,
             hsm::name(want_state), i == 2 ? " (stale)" : "", checksum(expected));
      ok = false;
      continue;
    }
    if (record->location->archive_id !=
        (i % 2 == 0 ? (*archives)[0]->id() : (*archives)[1]->id())) {
      report("{}: copy in the wrong archive: {}", path, record->location->encode());
      ok = false;
    }
    if (want_state == hsm::FileState::kMigrated) {
      std::vector<std::byte> back;
      hsm::Archive &archive = *(*archives)[i % 2];
      const Status fetched =
          archive.fetch(*record->location,
                        [&back](std::uint64_t offset, std::span<const std::byte> data) -> Status {
                          back.resize(std::max<std::size_t>(back.size(), offset + data.size()));
                          std::memcpy(back.data() + offset, data.data(), data.size());
                          return ok_status();
                        });
      if (!fetched.ok() || back != expected) {
        report("{}: the copy does not fetch back: {}", path,
               fetched.ok() ? std::string("wrong bytes") : fetched.error().message);
        ok = false;
      }
      auto regions = dm::api::get_regions(*session, *handle);
      if (!regions.ok() || regions->empty()) {
        report("{}: migrated without managed regions", path);
        ok = false;
      }
    }
  }
  (void)session->destroy();
  return all(ok);
}

}  // namespace
}  // namespace pdm::jobs

int main(int argc, char **argv) {
  return pdm::jobs::run_mounted_job(
      argc, argv, "rebuild_catalog_job",
      {{"prepare", pdm::jobs::prepare_job}, {"check", pdm::jobs::check_job}});
}

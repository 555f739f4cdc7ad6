// The two jobs of the dm_regions scenario (tests/jobs/dm_regions.sh): the
// DM data state of a file — its managed regions and its released (punched)
// ranges — outlives the job that made it (DM_CONFIG_PERS_MANAGED_REGIONS).
//
//   dm_regions_job set FS     rank 0 writes /hsm (1 MiB); rank 1, a DM
//                             application, punches [256 KiB, 512 KiB) and
//                             sets two managed regions
//   dm_regions_job check FS   a later job (3 ranks): rank 1's new session
//                             reads the same regions back; every rank reads
//                             /hsm: its bytes outside the punched range, EIO
//                             inside it (never zeros)
#include <fcntl.h>
#include <pdm/dmapi.h>
#include <pdm/pdm.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "tests/jobs/job_util.h"

namespace pdm::jobs {
namespace {

constexpr const char *kPath = "/hsm";
constexpr std::size_t kSize = 1u << 20;
constexpr dm_off_t kHole = 256 * 1024;
constexpr dm_size_t kHoleLength = 256 * 1024;
constexpr std::uint64_t kSeed = 41;

dm_region_t region(dm_off_t offset, dm_size_t size, unsigned int flags) {
  dm_region_t r;
  std::memset(&r, 0, sizeof r);
  r.rg_offset = offset;
  r.rg_size = size;
  r.rg_flags = flags;
  return r;
}

const dm_region_t kRegions[2] = {region(0, 4096, DM_REGION_WRITE),
                                 region(2 * kSize, 0, DM_REGION_TRUNCATE)};

bool set_job() {
  bool ok = true;
  if (rank() == 0) {
    const auto data = pattern(kSeed, 0, kSize);
    const int fd = pdm_open(kPath, O_CREAT | O_TRUNC | O_WRONLY, 0644);
    ok = fd >= 0 && pdm_write_all(fd, data, 0, kPath) && pdm_close(fd) == 0;
    if (!ok) report("cannot write {}: {}", kPath, pdm_last_error());
  }
  if (!all(ok)) return false;
  if (rank() == 1) {
    dm_sessid_t sid = DM_NO_SESSION;
    void *h = nullptr;
    size_t hl = 0;
    dm_boolean_t exact = DM_FALSE;
    dm_region_t regions[2] = {kRegions[0], kRegions[1]};
    char info[] = "hsm-job-1";
    ok = dm_create_session(DM_NO_SESSION, info, &sid) == 0 &&
         dm_path_to_handle(const_cast<char *>(kPath), &h, &hl) == 0 &&
         dm_punch_hole(sid, h, hl, DM_NO_TOKEN, kHole, kHoleLength) == 0 &&
         dm_set_region(sid, h, hl, DM_NO_TOKEN, 2, regions, &exact) == 0 && exact == DM_TRUE;
    if (!ok) report("DM calls failed: {}", pdm_last_error());
    dm_handle_free(h, hl);
    if (sid != DM_NO_SESSION) dm_destroy_session(sid);
  }
  return all(ok);
}

bool check_job() {
  bool ok = true;
  if (rank() == 1) {
    dm_sessid_t sid = DM_NO_SESSION;
    void *h = nullptr;
    size_t hl = 0;
    dm_region_t got[4];
    unsigned int n = 0;
    char info[] = "hsm-job-2";
    ok = dm_create_session(DM_NO_SESSION, info, &sid) == 0 &&
         dm_path_to_handle(const_cast<char *>(kPath), &h, &hl) == 0 &&
         dm_get_region(sid, h, hl, DM_NO_TOKEN, 4, got, &n) == 0;
    if (!ok) report("DM calls failed: {}", pdm_last_error());
    if (ok && (n != 2 || std::memcmp(got, kRegions, sizeof kRegions) != 0)) {
      report("{} has {} regions after the remount, not the 2 set", kPath, n);
      ok = false;
    }
    dm_handle_free(h, hl);
    if (sid != DM_NO_SESSION) dm_destroy_session(sid);
  }
  const int fd = pdm_open(kPath, O_RDONLY, 0);
  if (fd < 0) {
    report("cannot open {}: {}", kPath, pdm_last_error());
    return all(false);
  }
  std::vector<std::byte> buffer(kSize);
  if (pdm_pread(fd, buffer.data(), kHole, 0) != static_cast<ssize_t>(kHole) ||
      !std::equal(buffer.begin(), buffer.begin() + kHole, pattern(kSeed, 0, kHole).begin())) {
    report("the bytes before the hole are not the file's");
    ok = false;
  }
  if (pdm_pread(fd, buffer.data(), 4096, kHole + 4096) != -1 || errno != EIO) {
    report("a read of the released range did not fail with EIO: {}", pdm_last_error());
    ok = false;
  }
  const std::size_t after = kSize - kHole - kHoleLength;
  if (pdm_pread(fd, buffer.data(), after, kHole + kHoleLength) != static_cast<ssize_t>(after) ||
      !std::equal(buffer.begin(), buffer.begin() + after,
                  pattern(kSeed, kHole + kHoleLength, after).begin())) {
    report("the bytes after the hole are not the file's");
    ok = false;
  }
  pdm_close(fd);
  return all(ok);
}

}  // namespace
}  // namespace pdm::jobs

int main(int argc, char **argv) {
  return pdm::jobs::run_mounted_job(argc, argv, "dm_regions_job",
                                    {{"set", pdm::jobs::set_job}, {"check", pdm::jobs::check_job}});
}

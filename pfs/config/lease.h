// MountLease: one job mounts a file system at a time. The lease is the file
// <volume 0>/mount.lease, held with flock(LOCK_EX) for as long as the job has
// the file system mounted, and naming the holder (host, pid, start time) so
// that a second job is told who has it.
//
// Why flock: the kernel drops the lock when the holder's last descriptor
// closes, which includes the process dying, so a SIGKILLed job never leaves a
// lease that blocks the next job. The file's content outlives the holder; a
// free lock over content that still names a holder is therefore the trace of
// a job that died without unmounting, which acquire() reports as recovered.
// The file is never removed, so every job locks the same inode.
//
// flock needs volume 0 on a file system that shares it between nodes: local
// disks and NFS (Linux maps flock to fcntl locks there) do; Lustre needs the
// `flock` mount option. The descriptor is close-on-exec, so a program the
// holder starts does not keep the lease alive after the holder dies. A child
// the holder forks shares the lock: it must leave with _exit, since its
// release() would unlock the parent's lease too.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "runtime/base/result.h"

namespace pdm::pfs {

inline constexpr const char *kMountLeaseName = "mount.lease";

struct LeaseHolder {
  std::string host;
  std::int64_t pid = 0;
  std::int64_t since = 0;  // seconds since the Unix epoch
  std::string fs_id;

  std::string since_text() const;  // "2024-05-01 12:00:00 UTC"
  bool operator==(const LeaseHolder &) const = default;
};

class MountLease {
 public:
  // Takes the lease of the file system fs_id whose volume 0 is volume0_dir.
  // EBUSY while another process holds it: "pdm: file system <id> is already
  // mounted by pid <pid> on host <host> since <time>; unmount it first (or
  // wait for that job to end)". Another open of the file counts as another
  // holder even in the same process.
  static Result<MountLease> acquire(const std::string &volume0_dir, std::string_view fs_id);

  // The holder the lease file names, for status tools; nullopt if the file
  // is absent or names nobody (released). It may name a holder that died:
  // only acquire() can tell, as looking at the lock would disturb it.
  static Result<std::optional<LeaseHolder>> read_holder(const std::string &volume0_dir);

  MountLease(const MountLease &) = delete;
  MountLease &operator=(const MountLease &) = delete;
  MountLease(MountLease &&other) noexcept;
  MountLease &operator=(MountLease &&other) noexcept;
  ~MountLease();  // release(), errors ignored

  bool held() const { return fd_ >= 0; }
  const LeaseHolder &holder() const { return holder_; }  // this process
  // The previous holder, if it died without releasing: report it as
  // "recovered stale lease of pid P on host H".
  const std::optional<LeaseHolder> &recovered() const { return recovered_; }

  // Empties the file, unlocks and closes it. A no-op once released.
  Status release();

 private:
  MountLease() = default;

  int fd_ = -1;
  std::string path_;
  LeaseHolder holder_;
  std::optional<LeaseHolder> recovered_;
};

}  // namespace pdm::pfs

// DeferredExtends: the size and mtime updates (kExtend) of writes that return
// before the metadata server answered them (issue #5, docs/MPIIO.md).
//
// A write sends its kExtend to the metadata server once its data landed.
// Waiting for the answer costs a rank that is not the server about one more
// data copy per write when every core is busy: the server's progress thread
// gets a core only when a main thread's copy ends (docs/PERFORMANCE.md).
// A file opened with a lazy size (FileSystem::set_lazy_size: the MPI-IO
// shim outside atomic mode, pdm put) hands the update in flight to this
// class instead, and the write returns once its data landed.
//
// What stays true:
//   - The write's access guard (pfs/object_access.h) travels with its update
//     and ends only when the server applied it. A DM right drains the guards
//     it excludes, so pdm-hsm, which releases a file only if its size, mtime
//     and generation are those of its archive copy (under an EXCL right),
//     always sees the change of every write that ended before its right.
//   - The updates of one inode are settled (waited for) before any later
//     size-changing or size-reading call of this rank on it (truncate,
//     fstat, a read past the size this rank knows, fsync, close): a late
//     extend never undoes a truncate, and a rank always sees its own writes.
//   - Only other ranks may see the old size, until the writer settles: MPI's
//     non-atomic mode allows exactly that (MPI-3.1 §13.6.1); the shim settles
//     at sync, close, set_size and preallocate, and makes the ranks of a
//     collective write learn each other's sizes (apps/mpiio/shared_size.h).
//   - An update cut by a view change is sent again to the next metadata
//     server (extending twice is extending once) for up to `retry_limit`; an
//     update that fails is reported by the next settle of its inode, as a
//     write-back error is reported by fsync or close.
//
// Answers are collected by the progress thread (reap(), an RpcEngine poller)
// so guards end promptly even when the application makes no further call,
// and by settle() itself. At most kMaxInFlight updates wait at once: add()
// waits for room first.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "pfs/meta/inode.h"
#include "pfs/object_access.h"
#include "runtime/base/result.h"
#include "runtime/mpi/rpc.h"

namespace pdm::pfs {

class DeferredExtends {
 public:
  static constexpr std::size_t kMaxInFlight = 32;
  // Sends (again) the kExtend of `ino` up to `end` to the current metadata server.
  using Send = std::function<mpi::PendingCall(InodeNumber ino, std::uint64_t end)>;

  DeferredExtends(mpi::RpcEngine &engine, Send send, std::chrono::milliseconds retry_limit);
  DeferredExtends(const DeferredExtends &) = delete;
  DeferredExtends &operator=(const DeferredExtends &) = delete;

  // Takes over a write's update in flight and the write's access guard.
  void add(InodeNumber ino, std::uint64_t end, mpi::PendingCall call, AccessGuard guard);
  // The progress thread's poller: collects the answered updates without
  // waiting (nothing if an application thread is collecting); true if any.
  bool reap();
  // Waits until no update of `ino` is in flight; the first failure of one.
  Status settle(InodeNumber ino);
  // Waits until no update at all is in flight; the first failure.
  Status settle_all();
  bool pending(InodeNumber ino) const;

 private:
  struct Update {
    InodeNumber ino = 0;
    std::uint64_t end = 0;
    mpi::PendingCall call;
    AccessGuard guard;
    std::chrono::steady_clock::time_point first_sent;
  };
  // Polls every update once, under mutex_; the finished ones move to `done`
  // (their guards end when the caller drops them, outside the mutex).
  bool collect(std::vector<Update> &done);
  // Waits until `settled()` holds (checked under mutex_).
  Status wait_until(const std::function<bool()> &settled, const std::function<Status()> &failure);

  mpi::RpcEngine &engine_;
  Send send_;
  std::chrono::milliseconds retry_limit_;
  mutable std::mutex mutex_;
  std::vector<Update> updates_;
  std::unordered_map<InodeNumber, Error> failed_;  // reported by the next settle
};

}  // namespace pdm::pfs

// BuildDeadline: a bound on how long a view change may take to build the
// new view's communicators (MPI_Comm_create_group over the agreed members,
// then their dups).
//
// Those are blocking collectives over the new members. A member that dies
// after the coordinator's COMMIT, before or inside them, leaves the others
// waiting there for ever: Open MPI 4.1 without ULFM reports no dead peer and
// offers no way out of a blocking collective, and a second communicator
// cannot be built beside the stuck one (its context-id agreement waits for
// the first; docs/FAILURES.md §1). So when the limit passes this rank logs
// why and stops its process (exit code 72), as the fail-stop model stops a
// rank a view left out: the job ends with a clear message instead of
// hanging until the batch system kills it. The limit is the setting
// cluster.view_build_timeout; a build normally takes milliseconds.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>

namespace pdm::cluster {

class BuildDeadline {
 public:
  // The exit code of a rank whose view change did not finish in time.
  static constexpr int kExitCode = 72;

  // Starts counting the build of view `epoch`.
  BuildDeadline(std::uint64_t epoch, std::chrono::milliseconds limit);
  // The build finished (or failed otherwise): stops counting.
  ~BuildDeadline();
  BuildDeadline(const BuildDeadline &) = delete;
  BuildDeadline &operator=(const BuildDeadline &) = delete;

 private:
  std::mutex mutex_;
  std::condition_variable done_changed_;
  bool done_ = false;
  std::thread watcher_;
};

}  // namespace pdm::cluster

#include "runtime/cluster/build_deadline.h"

#include <cstdlib>

#include <spdlog/spdlog.h>

#include "runtime/base/failpoint.h"

namespace pdm::cluster {

BuildDeadline::BuildDeadline(std::uint64_t epoch, std::chrono::milliseconds limit) {
  watcher_ = std::thread([this, epoch, limit] {
    std::unique_lock lock(mutex_);
    if (done_changed_.wait_for(lock, limit, [this] { return done_; })) return;
    spdlog::critical(
        "view change to epoch {}: building its communicators took longer than "
        "cluster.view_build_timeout ({} ms); a member must have died after the COMMIT, "
        "and MPI (without ULFM) cannot leave the collective it is stuck in; stopping this "
        "process (fail-stop model, exit code {})",
        epoch, limit.count(), kExitCode);
    spdlog::default_logger()->flush();
    failpoint::hit("view_change.build_deadline");  // a test records the expected stop
    std::_Exit(kExitCode);
  });
}

BuildDeadline::~BuildDeadline() {
  {
    std::lock_guard lock(mutex_);
    done_ = true;
  }
  done_changed_.notify_one();
  watcher_.join();
}

}  // namespace pdm::cluster

#include "pfs/client/deferred_extends.h"

#include <algorithm>
#include <utility>

#include "runtime/mpi/backoff.h"

namespace pdm::pfs {

DeferredExtends::DeferredExtends(mpi::RpcEngine &engine, Send send,
                                 std::chrono::milliseconds retry_limit)
    : engine_(engine), send_(std::move(send)), retry_limit_(retry_limit) {}

bool DeferredExtends::collect(std::vector<Update> &done) {
  bool finished = false;
  for (std::size_t i = 0; i < updates_.size();) {
    Update &update = updates_[i];
    auto outcome = engine_.test(update.call);
    if (!outcome) {
      ++i;
      continue;
    }
    if (!outcome->ok()) {
      const Error &error = outcome->error();
      if (error.code == ESTALE &&
          std::chrono::steady_clock::now() - update.first_sent < retry_limit_) {
        // Cut by a view change: to whichever rank serves the metadata now.
        // Not counted as progress, so the progress thread's backoff paces
        // the repeats while the next view is being installed.
        update.call = send_(update.ino, update.end);
        ++i;
        continue;
      }
      failed_.try_emplace(update.ino, make_error(error.code,
                                                 "inode {}: the size and mtime of a write were not "
                                                 "published: {}",
                                                 update.ino, error.message));
    }
    done.push_back(std::move(update));
    updates_.erase(updates_.begin() + static_cast<std::ptrdiff_t>(i));
    finished = true;
  }
  return finished;
}

void DeferredExtends::add(InodeNumber ino, std::uint64_t end, mpi::PendingCall call,
                          AccessGuard guard) {
  Update update{ino, end, std::move(call), std::move(guard), std::chrono::steady_clock::now()};
  mpi::Backoff backoff;
  for (;;) {
    std::vector<Update> done;  // declared first: its guards end after the unlock
    std::unique_lock lock(mutex_);
    collect(done);
    if (updates_.size() < kMaxInFlight) {
      updates_.push_back(std::move(update));
      return;
    }
    lock.unlock();
    backoff.pause();
  }
}

bool DeferredExtends::reap() {
  std::vector<Update> done;
  std::unique_lock lock(mutex_, std::try_to_lock);
  if (!lock.owns_lock() || updates_.empty()) return false;
  const bool finished = collect(done);
  lock.unlock();
  return finished;
}

Status DeferredExtends::wait_until(const std::function<bool()> &settled,
                                   const std::function<Status()> &failure) {
  mpi::Backoff backoff;
  for (;;) {
    std::vector<Update> done;
    std::unique_lock lock(mutex_);
    if (!updates_.empty()) collect(done);
    if (settled()) return failure();
    lock.unlock();
    done.clear();
    backoff.pause();
  }
}

Status DeferredExtends::settle(InodeNumber ino) {
  return wait_until(
      [&] {
        return std::none_of(updates_.begin(), updates_.end(),
                            [&](const Update &u) { return u.ino == ino; });
      },
      [&]() -> Status {
        auto it = failed_.find(ino);
        if (it == failed_.end()) return {};
        Error error = std::move(it->second);
        failed_.erase(it);
        return error;
      });
}

Status DeferredExtends::settle_all() {
  return wait_until([&] { return updates_.empty(); },
                    [&]() -> Status {
                      if (failed_.empty()) return {};
                      Error error = std::move(failed_.begin()->second);
                      failed_.clear();
                      return error;
                    });
}

bool DeferredExtends::pending(InodeNumber ino) const {
  std::lock_guard lock(mutex_);
  return std::any_of(updates_.begin(), updates_.end(),
                     [&](const Update &u) { return u.ino == ino; });
}

}  // namespace pdm::pfs

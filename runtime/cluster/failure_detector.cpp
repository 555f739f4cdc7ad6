#include "runtime/cluster/failure_detector.h"

#include <algorithm>
#include <cstdlib>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "runtime/base/failpoint.h"
#include "runtime/cluster/build_deadline.h"

namespace pdm::cluster {
namespace {

// Sends that may never complete (their destination died) keep their buffer
// here until the process exits: MPI may still read it, and waiting on the
// request would hang (docs/FAILURES.md §1).
void abandon_forever(void *buffer) {
  static std::mutex mutex;
  static auto *kept = new std::vector<void *>();  // never freed, on purpose
  std::lock_guard lock(mutex);
  kept->push_back(buffer);
}

std::vector<std::uint64_t> encode_members(std::uint64_t epoch, std::uint64_t attempt,
                                          const std::vector<int> &members) {
  std::vector<std::uint64_t> words{epoch, attempt, members.size()};
  for (int m : members) words.push_back(static_cast<std::uint64_t>(m));
  return words;
}

bool decode_members(const std::vector<std::uint64_t> &words, std::vector<int> &members) {
  if (words.size() < 3 || words.size() != 3 + words[2]) return false;
  members.clear();
  for (std::size_t i = 3; i < words.size(); ++i) members.push_back(static_cast<int>(words[i]));
  return std::is_sorted(members.begin(), members.end()) && !members.empty();
}

}  // namespace

FailureDetector::FailureDetector(Membership &membership, std::chrono::milliseconds interval,
                                 std::chrono::milliseconds timeout,
                                 std::chrono::milliseconds build_timeout)
    : membership_(membership),
      interval_(interval),
      timeout_(timeout),
      build_timeout_(build_timeout) {
  auto view = membership_.current();
  const auto now = Clock::now();
  last_seen_.assign(static_cast<std::size_t>(view->members().back() + 1), now);
}

FailureDetector::~FailureDetector() {
  // Heartbeats still in flight at stop: a peer that died may never take them.
  for (auto *out : sends_) {
    int done = 0;
    MPI_Test(&out->request, &done, MPI_STATUS_IGNORE);
    if (done) {
      delete out;
    } else {
      MPI_Request_free(&out->request);
      abandon_forever(out);
    }
  }
}

std::uint64_t FailureDetector::view_changes() const {
  std::lock_guard lock(stats_mutex_);
  return view_changes_;
}

std::string FailureDetector::last_reason() const {
  std::lock_guard lock(stats_mutex_);
  return last_reason_;
}

void FailureDetector::send(const View &view, int member, Tag tag,
                           std::vector<std::uint64_t> words) {
  const int dest = view.comm_rank_of(member);
  if (dest < 0 || member == view.self()) return;
  auto *out = new Outgoing{MPI_REQUEST_NULL, std::move(words)};
  const int rc = MPI_Isend(out->words.data(), static_cast<int>(out->words.size()), MPI_UINT64_T,
                           dest, tag, view.heartbeat_comm().get(), &out->request);
  if (rc != MPI_SUCCESS) {
    spdlog::error("heartbeat: MPI_Isend to rank {} failed ({})", member, rc);
    delete out;
    return;
  }
  sends_.push_back(out);
}

void FailureDetector::reap_sends() {
  for (std::size_t i = 0; i < sends_.size();) {
    int done = 0;
    MPI_Test(&sends_[i]->request, &done, MPI_STATUS_IGNORE);
    if (done) {
      delete sends_[i];
      sends_[i] = sends_.back();
      sends_.pop_back();
    } else {
      ++i;
    }
  }
}

int FailureDetector::coordinator(const View &view) const {
  for (int m : view.members()) {
    if (!suspects_.contains(m)) return m;
  }
  return view.self();
}

void FailureDetector::receive(const View &view, Clock::time_point now) {
  for (;;) {
    int flag = 0;
    MPI_Message message = MPI_MESSAGE_NULL;
    MPI_Status status;
    if (MPI_Improbe(MPI_ANY_SOURCE, MPI_ANY_TAG, view.heartbeat_comm().get(), &flag, &message,
                    &status) != MPI_SUCCESS ||
        !flag) {
      return;
    }
    int count = 0;
    MPI_Get_count(&status, MPI_UINT64_T, &count);
    std::vector<std::uint64_t> words(static_cast<std::size_t>(std::max(count, 0)));
    MPI_Mrecv(words.data(), count, MPI_UINT64_T, &message, MPI_STATUS_IGNORE);
    const int from = view.member_at(status.MPI_SOURCE);
    spdlog::trace("heartbeat: tag {} from rank {} in epoch {}", status.MPI_TAG, from, view.epoch());
    last_seen_[static_cast<std::size_t>(from)] = now;
    on_message(view, from, static_cast<Tag>(status.MPI_TAG), words, now);
    if (membership_.current().get() != &view) return;  // installed a new view
  }
}

void FailureDetector::on_message(const View &view, int from, Tag tag,
                                 const std::vector<std::uint64_t> &words, Clock::time_point now) {
  const std::uint64_t next_epoch = view.epoch() + 1;
  switch (tag) {
    case kBeat:
      return;  // last_seen_ is all a heartbeat updates
    case kPropose: {
      std::vector<int> members;
      if (!decode_members(words, members) || words[0] != next_epoch) return;  // stale
      if (members.front() != from) return;  // only the lowest proposed member coordinates
      if (!std::binary_search(members.begin(), members.end(), view.self())) {
        spdlog::critical(
            "view change: rank {} proposed view {} without this rank (suspected dead); "
            "stopping this process (fail-stop model)",
            from, next_epoch);
        std::_Exit(70);
      }
      // A lower coordinator wins over one we follow or over our own proposal,
      // unless this proposal leaves it out: its proposer found it silent
      // (it died after its own PROPOSE). Waiting for our own suspicion
      // instead, this rank ignored the proposal until its timer ran out
      // while the proposer waited for its ACK and then removed this rank.
      if (phase_ != Phase::kNormal && proposer_ >= 0 && proposer_ < from &&
          std::binary_search(members.begin(), members.end(), proposer_)) {
        return;
      }
      for (int m : view.members()) {
        if (!std::binary_search(members.begin(), members.end(), m)) suspects_.insert(m);
      }
      phase_ = Phase::kAwaitingCommit;
      proposer_ = from;
      attempt_ = words[1];
      proposal_ = members;
      phase_since_ = now;
      failpoint::hit("view_change.before_ack");
      send(view, from, kAck, {next_epoch, attempt_});
      return;
    }
    case kAck:
      if (phase_ == Phase::kProposing && words.size() == 2 && words[0] == next_epoch &&
          words[1] == attempt_) {
        acks_.insert(from);
      }
      return;
    case kCommit: {
      std::vector<int> members;
      if (!decode_members(words, members) || words[0] != next_epoch) return;
      if (phase_ != Phase::kAwaitingCommit || from != proposer_ || members != proposal_) return;
      install(next_epoch, members, fmt::format("commit from rank {}", from));
      return;
    }
  }
}

void FailureDetector::propose(const View &view, Clock::time_point now) {
  ++attempt_;
  proposal_.clear();
  for (int m : view.members()) {
    if (!suspects_.contains(m)) proposal_.push_back(m);
  }
  acks_ = {view.self()};
  proposer_ = view.self();
  phase_ = Phase::kProposing;
  phase_since_ = now;
  for (int m : proposal_) {
    send(view, m, kPropose, encode_members(view.epoch() + 1, attempt_, proposal_));
  }
}

void FailureDetector::install(std::uint64_t epoch, std::vector<int> members,
                              const std::string &reason) {
  auto previous = membership_.current();
  std::vector<int> removed;
  std::set_difference(previous->members().begin(), previous->members().end(), members.begin(),
                      members.end(), std::back_inserter(removed));
  failpoint::hit("view_change.after_commit");  // a test kills a member here
  auto next = [&] {
    BuildDeadline deadline(epoch, build_timeout_);
    return View::next(*previous, epoch, members);
  }();
  if (!next.ok()) {
    spdlog::critical("view change to epoch {} failed: {}; stopping this process", epoch,
                     next.error().message);
    std::_Exit(71);
  }
  // Abandon first: a caller that sees the new epoch must also see that the
  // old communicators may no longer be waited on.
  previous->abandon();
  // Counted before it is installed: whoever sees the new epoch (pdm_get_view,
  // pdm status) also sees it counted, with its reason.
  const std::string why = fmt::format("ranks [{}] removed ({})", fmt::join(removed, ","), reason);
  {
    std::lock_guard lock(stats_mutex_);
    ++view_changes_;
    last_reason_ = why;
  }
  membership_.install(*next);
  // Heartbeats to the removed ranks will never complete.
  for (auto *out : sends_) {
    MPI_Request_free(&out->request);
    abandon_forever(out);
  }
  sends_.clear();
  const auto now = Clock::now();
  std::fill(last_seen_.begin(), last_seen_.end(), now);
  suspects_.clear();
  phase_ = Phase::kNormal;
  proposer_ = -1;
  attempt_ = 0;
  acks_.clear();
  spdlog::warn("view change: epoch {} -> {}, members [{}], manager {}: {}", previous->epoch(),
               epoch, fmt::join(members, ","), (*next)->manager(), why);
  for (auto &listener : listeners_) listener(*previous, **next);
}

bool FailureDetector::poll() {
  if (quiesced_.load(std::memory_order_relaxed)) return false;
  auto view = membership_.current();
  const auto now = Clock::now();
  bool worked = false;
  reap_sends();
  receive(*view, now);
  if (membership_.current() != view) return true;

  // Suspicion: silence longer than the timeout.
  for (int m : view->members()) {
    if (m == view->self() || suspects_.contains(m)) continue;
    const auto silent = now - last_seen_[static_cast<std::size_t>(m)];
    if (silent > timeout_) {
      suspects_.insert(m);
      spdlog::info("heartbeat: suspect rank {} (silent for {} ms)", m,
                   std::chrono::duration_cast<std::chrono::milliseconds>(silent).count());
      worked = true;
    }
  }

  if (now - last_beat_ >= interval_) {
    last_beat_ = now;
    spdlog::trace("heartbeat: beat in epoch {} to {} members ({} sends pending)", view->epoch(),
                  view->size() - 1, sends_.size());
    for (int m : view->members()) {
      if (!suspects_.contains(m)) send(*view, m, kBeat, {view->epoch()});
    }
    worked = true;
  }

  switch (phase_) {
    case Phase::kNormal:
      if (!suspects_.empty() && coordinator(*view) == view->self()) {
        propose(*view, now);
        worked = true;
      }
      break;
    case Phase::kProposing: {
      // A new suspicion changes the member set: propose again.
      const bool stale = std::any_of(proposal_.begin(), proposal_.end(),
                                     [&](int m) { return suspects_.contains(m); });
      if (stale) {
        propose(*view, now);
        return true;
      }
      if (acks_.size() == proposal_.size()) {
        failpoint::hit("view_change.before_commit");
        const auto words = encode_members(view->epoch() + 1, attempt_, proposal_);
        for (int m : proposal_) send(*view, m, kCommit, words);
        std::vector<int> suspected(suspects_.begin(), suspects_.end());
        install(view->epoch() + 1, proposal_,
                fmt::format("silent for more than {} ms: [{}]; proposed by rank {}",
                            timeout_.count(), fmt::join(suspected, ","), view->self()));
        return true;
      }
      if (now - phase_since_ > timeout_) {
        for (int m : proposal_) {
          if (!acks_.contains(m)) suspects_.insert(m);
        }
        propose(*view, now);
        return true;
      }
      break;
    }
    case Phase::kAwaitingCommit:
      if (now - phase_since_ > 2 * timeout_) {
        // The coordinator went silent before committing: the next one proposes.
        suspects_.insert(proposer_);
        phase_ = Phase::kNormal;
        proposer_ = -1;
        worked = true;
      }
      break;
  }
  return worked;
}

}  // namespace pdm::cluster

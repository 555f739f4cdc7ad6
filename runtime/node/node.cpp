#include "runtime/node/node.h"

#include "runtime/node/finalize_guard.h"

#include <signal.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <sstream>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "pfs/config/volume.h"
#include "runtime/base/log.h"
#include "runtime/base/settings.h"
#include "runtime/dmapi/handle.h"
#include "runtime/mpi/backoff.h"
#include "runtime/mpi/collective.h"
#include "runtime/node/finalize_guard.h"

namespace pdm::node {
namespace {

Status check_thread_level() {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized) return make_error(EINVAL, "pdm_start: MPI is not initialised");
  int provided = 0;
  MPI_Query_thread(&provided);
  if (provided < MPI_THREAD_MULTIPLE) {
    return make_error(ENOTSUP,
                      "pdm_start: MPI provides thread level {}, pdm needs MPI_THREAD_MULTIPLE "
                      "(initialise MPI with MPI_Init_thread)",
                      provided);
  }
  return {};
}

// A write to a dead peer's TCP socket raises SIGPIPE inside Open MPI's TCP
// BTL (writev, no MSG_NOSIGNAL), and SIGPIPE's default action ends the
// survivor without a word: caught in failure_manager_busy, where a rank
// sending to the killed manager died with it (docs/FAILURES.md §1). Ignored,
// the write fails with EPIPE, the BTL closes the connection and the failure
// detector handles the peer. An application's own handler is left alone.
void ignore_sigpipe() {
  struct sigaction current {};
  if (::sigaction(SIGPIPE, nullptr, &current) != 0 || current.sa_handler != SIG_DFL) return;
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  sigemptyset(&ignore.sa_mask);
  ::sigaction(SIGPIPE, &ignore, nullptr);
}

// A barrier over the live members: restarted on the new view's sync
// communicator when a view change happens while waiting (the old one holds a
// dead member, so its barrier would never complete).
Status live_barrier(cluster::Membership &membership) {
  mpi::Backoff backoff;
  for (;;) {
    auto view = membership.current();
    MPI_Request request = MPI_REQUEST_NULL;
    PDM_TRY(mpi::check(MPI_Ibarrier(view->sync_comm().get(), &request), "MPI_Ibarrier"));
    for (;;) {
      int done = 0;
      PDM_TRY(mpi::check(MPI_Test(&request, &done, MPI_STATUS_IGNORE), "MPI_Ibarrier"));
      if (done) return {};
      if (membership.current() != view) break;  // abandoned with its communicator
      backoff.pause();
    }
  }
}

}  // namespace

Result<std::unique_ptr<Node>> Node::start(
    MPI_Comm comm, const std::string &fs_config,
    const boost::program_options::variables_map *command_line) {
  PDM_TRY(check_thread_level());
  ignore_sigpipe();
  std::unique_ptr<Node> node(new Node());
  PDM_ASSIGN_OR_RETURN(auto view, cluster::View::initial(comm));
  node->rank_ = view->self();
  node->size_ = static_cast<int>(view->size());
  const mpi::Comm &sync = view->sync_comm();
  node->membership_ = std::make_unique<cluster::Membership>(view);

  auto config = pfs::FsConfig::load(fs_config);
  Settings settings;
  Status loaded = config.ok() ? Status{} : Status(config.error());
  if (loaded.ok()) {
    SettingSources sources;
    sources.command_line = command_line;
    sources.config_file = &config->settings;
    sources.config_file_name = fs_config;
    auto resolved = resolve(sources);
    if (resolved.ok()) {
      settings = std::move(resolved).value();
    } else {
      loaded = std::move(resolved).error();
    }
  }
  PDM_TRY(mpi::agree(sync, std::move(loaded)));
  configure_logging(settings.log_level, node->rank_);

  Status mounted;
  if (node->rank_ == 0) {
    mounted = pfs::check_volumes(*config);
    if (mounted.ok()) {
      auto lease = pfs::MountLease::acquire(config->volumes.front(), config->fs_id);
      if (lease.ok()) {
        if (auto stale = lease->recovered()) {
          spdlog::warn("recovered the stale mount lease of pid {} on host {}", stale->pid,
                       stale->host);
        }
        node->lease_.emplace(std::move(lease).value());
      } else {
        mounted = std::move(lease).error();
      }
    }
  }
  PDM_TRY(mpi::agree(sync, std::move(mounted)));

  node->engine_ = std::make_unique<mpi::RpcEngine>(*node->membership_);
  node->detector_ = std::make_unique<cluster::FailureDetector>(
      *node->membership_, settings.heartbeat_interval, settings.heartbeat_timeout,
      settings.view_build_timeout);
  pfs::FileSystemOptions fs_options;
  fs_options.max_request = settings.io_max_request;
  fs_options.direct = settings.io_direct;
  fs_options.fault_nospace_writes = settings.fault_nospace_writes;
  fs_options.meta_map_size = settings.meta_map_size;
  auto fs = pfs::FileSystem::create(*config, *node->engine_, fs_options);
  Status built = fs.ok() ? Status{} : Status(fs.error());
  PDM_TRY(mpi::agree(sync, std::move(built)));
  node->fs_ = std::move(fs).value();
  node->control_ = std::make_unique<dm::ControlPlane>(*node->engine_);
  node->control_->attach();
  PDM_ASSIGN_OR_RETURN(auto fsid, dmapi::parse_fs_id(config->fs_id));
  node->events_ = std::make_unique<dm::EventService>(*node->engine_, *node->control_, fsid);
  node->events_->attach();
  node->events_->set_tap(&node->tap_);
  node->events_->set_orphan_timeout(settings.orphan_timeout);
  node->fs_->set_event_gate(node->events_.get());
  node->shrink_notices_ = std::make_unique<dm::ShrinkNotices>(*node->control_);
  node->fs_->set_size_notices(node->shrink_notices_.get());
  node->rights_ = std::make_unique<dm::RightsService>(*node->engine_, *node->control_);
  node->rights_->attach();
  node->fs_->set_object_access(node->rights_.get());
  node->events_->set_on_answered(
      [rights = node->rights_.get()](dm::Token token) { return rights->release_token(token); });

  node->detector_->add_listener(
      [control = node->control_.get()](const cluster::View &, const cluster::View &next) {
        control->on_view_change(next);
      });
  node->detector_->add_listener(
      [fs = node->fs_.get()](const cluster::View &, const cluster::View &next) {
        const bool served = fs->metadata_service() != nullptr;
        if (auto taken = fs->take_over_metadata(); !taken.ok()) {
          spdlog::critical("view {}: cannot take over the metadata store: {}", next.epoch(),
                           taken.error().message);
        } else if (!served && fs->metadata_service() != nullptr) {
          spdlog::warn("view {}: this rank took over the metadata store", next.epoch());
        }
      });
  node->detector_->add_listener([timeout = settings.finalize_timeout](const cluster::View &previous,
                                                                      const cluster::View &next) {
    if (next.members().size() < previous.members().size()) note_ranks_lost(timeout);
  });
  node->engine_->add_poller([detector = node->detector_.get()] { return detector->poll(); });
  PDM_TRY(node->engine_->start());
  PDM_TRY(mpi::barrier(sync));
  // The per-file event lists, from the metadata store into every replica of
  // the session table before anyone can submit an update.
  Status loaded_lists = [&]() -> Status {
    PDM_ASSIGN_OR_RETURN(auto stored, node->fs_->eventlists());
    std::vector<dm::ObjectEventList> lists;
    for (const auto &l : stored) lists.push_back({fsid, l.ino, l.generation, l.events});
    return node->control_->preload_object_eventlists(lists);
  }();
  PDM_TRY(mpi::agree(sync, std::move(loaded_lists)));
  if (node->rank_ == 0) {
    if (auto recovered = node->fs_->recover_orphans(); !recovered.ok()) {
      spdlog::warn("mount: could not destroy the files an earlier job left unlinked: {}",
                   recovered.error().message);
    }
  }
  PDM_TRY(mpi::barrier(sync));
  PDM_ASSIGN_OR_RETURN(auto job, node->job_identity(sync));
  node->status_ = std::make_unique<StatusPublisher>(
      config->volumes.front() + "/run", std::move(job), *node->membership_, *node->detector_,
      static_cast<std::uint32_t>(config->volumes.size()), *node->control_, *node->events_,
      node->tap_);
  spdlog::debug("mounted {} on {} ranks", fs_config, node->size_);
  return node;
}

Status Node::stop() {
  if (stopped_) return {};
  stopped_ = true;
  auto view = membership_->current();
  // The sizes of lazy-size writes still in flight reach the metadata server
  // while it serves (pfs/client/deferred_extends.h).
  Status published = fs_->publish_all_sizes();
  // Everyone keeps serving until all ranks are done with the file system.
  Status status = live_barrier(*membership_);
  view = membership_->current();
  // XDSM unmount events, from the manager while every session still exists:
  // PREUNMOUNT waits for its answer, UNMOUNT is taken by its session before
  // any rank goes on (a DM application handles them in a thread of its own,
  // as its main thread is here, in pdm_stop).
  if (status.ok() && view->manager() == view->self()) {
    auto root = fs_->stat("/");
    if (root.ok()) {
      if (auto answered = events_->unmount({root->ino, root->generation}); !answered.ok()) {
        spdlog::warn("PREUNMOUNT: {} (the job's file system is unmounted anyway)",
                     answered.error().message);
      }
    }
  }
  if (status.ok()) status = live_barrier(*membership_);
  if (status.ok()) events_->wait_unmount_taken();
  events_->shutdown();
  if (status_) status_->remove();
  // Completes the broadcast every rank keeps posted for session-table updates.
  if (auto closed = control_->shutdown(); !closed.ok() && status.ok()) status = std::move(closed);
  detector_->quiesce();
  engine_->stop();
  detector_.reset();
  if (auto flushed = fs_->flush(); !flushed.ok() && status.ok()) status = std::move(flushed);
  status_.reset();
  fs_.reset();
  shrink_notices_.reset();
  events_.reset();
  rights_.reset();
  control_.reset();
  lease_.reset();
  engine_.reset();
  // Reported last: a failure here is this rank's alone, and must not make it
  // skip the steps above that every rank takes together.
  if (status.ok() && !published.ok()) status = std::move(published);
  return status;
}

Result<JobIdentity> Node::job_identity(const mpi::Comm &sync) const {
  // Rank 0 holds the lease; every rank's status file names the same job.
  std::string text;
  if (rank_ == 0 && lease_) {
    const pfs::LeaseHolder &holder = lease_->holder();
    text = fmt::format("{}\n{}\n{}", holder.host, holder.pid, holder.since);
  }
  std::array<char, 512> buffer{};
  std::copy_n(text.begin(), std::min(text.size(), buffer.size() - 1), buffer.begin());
  if (int rc = MPI_Bcast(buffer.data(), static_cast<int>(buffer.size()), MPI_CHAR, 0, sync.get());
      rc != MPI_SUCCESS) {
    return make_error(EIO, "mount: broadcasting the job identity failed (MPI error {})", rc);
  }
  JobIdentity job;
  std::istringstream lines(std::string(buffer.data()));
  std::string pid, since;
  std::getline(lines, job.host);
  std::getline(lines, pid);
  std::getline(lines, since);
  std::from_chars(pid.data(), pid.data() + pid.size(), job.pid);
  std::from_chars(since.data(), since.data() + since.size(), job.since);
  return job;
}

Node::~Node() {
  // A node destroyed without stop() (an error path) still must not leave
  // the progress thread running.
  if (engine_) engine_->stop();
}

}  // namespace pdm::node

// Node: the pdm runtime of one process — the view, the RPC engine with its
// progress thread, and this rank's part of the mounted file system. pdm_start
// builds one per process (collectively); pdm_stop tears it down.
//
// Start, on every rank of the communicator:
//   1. check MPI_THREAD_MULTIPLE; build the first view (dups of the comm);
//   2. load the file system config; rank 0 checks the volume headers and
//      takes the mount lease;
//   3. build the file system (the metadata owner opens the store) and the
//      DM control plane, register their handlers, then start the progress
//      thread;
//   4. once every rank serves, rank 0 destroys orphans an earlier job left.
// Any rank's failure in a step fails the start on every rank with that
// rank's error (mpi::agree), so no rank is left half-mounted.
#pragma once

#include <mpi.h>

#include <memory>
#include <optional>
#include <string>

#include "pfs/client/file_system.h"
#include "pfs/config/fs_config.h"
#include "pfs/config/lease.h"
#include "runtime/base/result.h"
#include "runtime/base/settings.h"
#include "runtime/cluster/failure_detector.h"
#include "runtime/cluster/view.h"
#include "runtime/dm/control_plane.h"
#include "runtime/dm/event_service.h"
#include "runtime/dm/rights_service.h"
#include "runtime/dm/shrink_notices.h"
#include "runtime/mpi/rpc.h"
#include "runtime/node/status_publisher.h"

namespace pdm::node {

class Node {
 public:
  // Collective over comm. Settings come from the command line (a
  // variables_map filled through add_setting_flags; may be null), the PDM_*
  // environment and the [settings] of the fs config, in that order.
  static Result<std::unique_ptr<Node>> start(
      MPI_Comm comm, const std::string &fs_config,
      const boost::program_options::variables_map *command_line = nullptr);
  ~Node();
  // Collective: waits (serving peers) until every rank stopped using the
  // file system, then stops the progress thread, flushes and unmounts.
  // Collective over the live members: a rank that dies before or during it
  // is removed by a view change and the survivors finish without it.
  Status stop();

  pfs::FileSystem &fs() { return *fs_; }
  dm::ControlPlane &control() { return *control_; }
  dm::EventService &events() { return *events_; }
  dm::RightsService &rights() { return *rights_; }
  cluster::Membership &membership() { return *membership_; }
  cluster::FailureDetector &detector() { return *detector_; }
  mpi::RpcEngine &engine() { return *engine_; }
  int rank() const { return rank_; }
  int size() const { return size_; }

 private:
  Node() = default;
  // Collective: the lease holder's identity, from rank 0 to every rank.
  Result<JobIdentity> job_identity(const mpi::Comm &sync) const;

  int rank_ = 0;
  int size_ = 0;
  std::unique_ptr<cluster::Membership> membership_;
  std::unique_ptr<cluster::FailureDetector> detector_;
  std::unique_ptr<mpi::RpcEngine> engine_;
  std::unique_ptr<pfs::FileSystem> fs_;
  std::unique_ptr<dm::ControlPlane> control_;
  dm::EventTap tap_;  // before events_: the service records into it
  std::unique_ptr<dm::EventService> events_;
  std::unique_ptr<dm::ShrinkNotices> shrink_notices_;
  std::unique_ptr<dm::RightsService> rights_;
  std::optional<pfs::MountLease> lease_;
  std::unique_ptr<StatusPublisher> status_;
  bool stopped_ = false;
};

}  // namespace pdm::node

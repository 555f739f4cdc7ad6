// StatusPublisher: what a running job shows to tools outside it.
//
// A file system is mounted by one job at a time (the mount lease), so a tool
// such as `pdm sessions` cannot join the job to ask it. Instead every rank
// publishes, in the metadata volume's run/ directory (shared by all ranks,
// like the volumes), small JSON files that any process can read while the
// job runs:
//
//   run/status.json        the session manager of the current view: the
//                          job (the lease holder), the view (epoch, live
//                          and dead ranks, manager, metadata server, the
//                          owner of every volume, the view changes so
//                          far and the last one's reason) and its replica
//                          of the session table (sessions with their
//                          state, groups, dispositions, event lists)
//   run/queues-<m>.json    member m: the events its sessions have waiting
//   run/events-<m>.log     member m: every event its sessions received, one
//                          JSON object a line, after a first line naming the
//                          job (`pdm events` prints and follows these)
//
// A thread per rank looks every kInterval for a change (the table's
// version, the queue counts) and rewrites its file then, atomically
// (write + rename), so a reader never sees half a file and the progress
// thread never does file I/O; the event log is appended to. What a tool
// reads is therefore at most about kInterval old. Each file names the job,
// so a tool can tell a live job's files from those a killed job left
// behind. A clean stop removes the status files and keeps the event logs
// (the next mount starts them anew), so the events of the last job can be
// read after it ended. An event log over kMaxLogBytes is moved to
// events-<m>.log.1 and started anew.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "runtime/cluster/failure_detector.h"
#include "runtime/cluster/view.h"
#include "runtime/dm/control_plane.h"
#include "runtime/dm/event_service.h"
#include "runtime/dm/event_tap.h"

namespace pdm::node {

// The job a status file belongs to: the holder named by the mount lease.
struct JobIdentity {
  std::string host;
  std::int64_t pid = 0;
  std::int64_t since = 0;    // seconds since the Unix epoch
  std::string text() const;  // "host:pid:since", what every file carries
};

class StatusPublisher {
 public:
  static constexpr std::chrono::milliseconds kInterval{200};
  static constexpr std::uint64_t kMaxLogBytes = 8ull << 20;

  // Starts the thread. Whichever member is the manager of the current view
  // also publishes status.json (after a failover the new manager takes over).
  StatusPublisher(std::string run_dir, JobIdentity job, const cluster::Membership &membership,
                  const cluster::FailureDetector &detector, std::uint32_t volumes,
                  dm::ControlPlane &control, dm::EventService &events, dm::EventTap &tap);
  ~StatusPublisher();  // stops the thread; leaves the files (see remove())
  StatusPublisher(const StatusPublisher &) = delete;
  StatusPublisher &operator=(const StatusPublisher &) = delete;

  // Stops the thread, writes the last events to the log and removes this
  // rank's status files (a clean unmount).
  void remove();

  // The documents as they would be written now (for tests).
  nlohmann::ordered_json status_document() const;
  nlohmann::ordered_json queues_document() const;

  static std::string status_path(const std::string &run_dir);
  static std::string queues_path(const std::string &run_dir, int member);
  static std::string events_path(const std::string &run_dir, int member);
  // One event as its log line says it.
  static nlohmann::ordered_json event_json(const dm::EventTap::Entry &entry);

 private:
  void loop();
  void stop_thread();
  void publish(bool force);
  void start_log();
  void append_events();

  std::string run_dir_;
  JobIdentity job_;
  const cluster::Membership &membership_;
  const cluster::FailureDetector &detector_;
  std::uint32_t volumes_;
  int member_;
  int job_ranks_;  // members of the job's first view
  dm::ControlPlane &control_;
  dm::EventService &events_;
  dm::EventTap &tap_;
  std::uint64_t log_bytes_ = 0;

  std::uint64_t published_version_ = UINT64_MAX;
  std::uint64_t published_epoch_ = 0;
  std::string published_queues_;

  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace pdm::node

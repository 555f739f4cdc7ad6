// RecallAgent: the part of pdm-hsm that makes migrated files readable again,
// as a library object that any in-process pdm program starts (pdm-hsm on
// every rank; pdm get and the MPI-IO shim can, to recall transparently).
//
// start() creates a session on this rank, joins the session group
// (options.group, "pdm-hsm") and gives the group the disposition of READ,
// WRITE and TRUNCATE on the mounted file system. Those events come from the
// managed regions a release puts over a migrated file; a group disposition
// sends each to the member on its source rank (B18), so the rank that reads
// a file recalls it. One event thread waits in get_events and hands data
// events to at most max_recalls worker threads (the bound on concurrent
// recalls of this rank, a setting: recall_settings.h; more events wait in
// the queue).
//
// A worker takes DM_RIGHT_EXCL on the file with the event's token, recalls
// (hsm_file.h: recall_locked), and for WRITE/TRUNCATE marks the file
// resident with a stale copy; then answers CONTINUE. Many ranks reading one
// released file raise one event each, but the EXCL right orders them: the
// first recalls, the others find the record premigrated and just answer
// CONTINUE (one recall per file). A failure answers ABORT(EIO), so the
// reader's call fails rather than returning unverified data, and logs an
// error naming the file and the cause.
//
// Archive tidiness: the group also holds REMOVE, and start() enables it in
// the file system's event list. A REMOVE (synchronous, before the unlink,
// so the file's record is still there) of a file with an archive copy puts
// the copy into the root's pdm.gone list (gone_list.h) with the removal
// time, so that `pdm-hsm remove` drops it once the grace period has passed
// since the removal; the removal always goes on (CONTINUE). DESTROY would
// come too late (the attributes go with the inode) and needs
// dm_set_return_on_destroy, which pdm does not have.
//
// stop() (also the destructor) ends the event thread with a USER message to
// its own session, leaves the group (no new events come here), answers what
// is still queued, joins the workers and destroys the session. The group's
// disposition goes with its last member (session_table.cpp), so when every
// rank's agent stopped, reads of migrated files fail with EIO again; the
// last member to leave also takes REMOVE out of the fs event list (else
// every unlink would fail with EIO).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "apps/hsm/agent/archive_set.h"
#include "apps/hsm/agent/hsm_file.h"
#include "runtime/base/result.h"
#include "runtime/dm/api/event.h"
#include "runtime/dm/api/session.h"

namespace pdm::hsm {

inline constexpr const char *kDefaultGroup = "pdm-hsm";

struct RecallAgentOptions {
  std::string group = kDefaultGroup;
  // Concurrent recalls on this rank, 1..kMaxMaxRecalls. Unset: the setting
  // (recall_settings.h: PDM_HSM_MAX_RECALLS, else [hsm] max_recalls of the
  // mounted file system's config, else 4), so that agents started without
  // pdm-hsm's command line obey it too.
  std::optional<unsigned> max_recalls;
};

// What this rank's agent did since it started.
struct RecallStats {
  std::uint64_t events = 0;    // READ/WRITE/TRUNCATE events answered
  std::uint64_t recalls = 0;   // files whose data was fetched from an archive
  std::uint64_t failed = 0;    // events answered ABORT(EIO)
  std::uint64_t stale = 0;     // files made resident by a write or truncate
  std::uint64_t peak = 0;      // most events handled at once (<= max_recalls)
  std::uint64_t removals = 0;  // archived files removed: their copies noted in pdm.gone
};

class RecallAgent {
 public:
  static Result<std::unique_ptr<RecallAgent>> start(std::shared_ptr<ArchiveSet> archives,
                                                    RecallAgentOptions options = {});
  RecallAgent(const RecallAgent &) = delete;
  RecallAgent &operator=(const RecallAgent &) = delete;
  ~RecallAgent();

  // Idempotent; reports the first failure of leaving (the session could not
  // be destroyed, for instance).
  Status stop();

  // Recalls one file now, from the calling thread (pdm-hsm recall): a token
  // of the agent's own session takes DM_RIGHT_EXCL.
  Result<StepOutcome> recall(const api::Handle &file);

  RecallStats stats() const;
  unsigned max_recalls() const { return max_recalls_; }
  const api::Session &session() const { return session_; }
  ArchiveSet &archives() { return *archives_; }

 private:
  RecallAgent(api::Session session, std::shared_ptr<ArchiveSet> archives,
              RecallAgentOptions options, unsigned max_recalls);
  void event_loop();
  void worker_loop();
  void handle(const api::Event &event);
  // REMOVE of a file with an archive copy: the copy goes into the root's
  // pdm.gone (gone_list.h) before the removal proceeds; always CONTINUE.
  void handle_removal(const api::Event &event);
  Status note_removal(const api::Event &event);
  // Counts and logs a failed recall of `file`.
  void report_failure(const api::Handle &file, const Error &error);

  api::Session session_;
  std::shared_ptr<ArchiveSet> archives_;
  RecallAgentOptions options_;
  unsigned max_recalls_;

  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<api::Event> queue_;
  bool closing_ = false;
  std::atomic<bool> stopping_{false};
  bool stopped_ = false;

  std::thread event_thread_;
  std::vector<std::thread> workers_;

  std::atomic<std::uint64_t> events_{0};
  std::atomic<std::uint64_t> recalls_{0};
  std::atomic<std::uint64_t> failed_{0};
  std::atomic<std::uint64_t> stale_{0};
  std::atomic<std::uint64_t> active_{0};
  std::atomic<std::uint64_t> peak_{0};
  std::atomic<std::uint64_t> removals_{0};
};

}  // namespace pdm::hsm

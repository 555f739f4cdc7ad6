// What `pdm sessions` and `pdm status` share: finding the job that has the
// file system mounted and reading the status it publishes
// (runtime/node/status_publisher.h), without mounting anything.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "apps/pdm/commands.h"
#include "pfs/config/fs_config.h"
#include "pfs/config/lease.h"
#include "runtime/base/result.h"

namespace pdm::cli {

// The running job and its status.json, merged with every member's
// queues-<m>.json (each session gets "undelivered" and "outstanding").
struct RunningJob {
  pfs::LeaseHolder holder;
  nlohmann::ordered_json status;
};

// The job's status; nullopt with *why_not when no job is running (no lease
// holder, or one that ended without unmounting); an error when a job holds
// the lease but its status cannot be read (EAGAIN: not published yet).
Result<std::optional<RunningJob>> read_running_job(const pfs::FsConfig &config,
                                                   std::string *why_not);

// What a command that shows the running job prints: `json` turns its
// status into the document printed with --json ("mounted": true is added),
// `human` prints it as text. With no job running both forms say why;
// `none_suffix` ends the text line (e.g. "; no sessions").
struct JobShow {
  std::function<nlohmann::ordered_json(const nlohmann::ordered_json &status)> json;
  std::function<void(const pfs::LeaseHolder &, const nlohmann::ordered_json &status)> human;
  std::string none_suffix;
};

// The whole command: rank 0 reads and prints, every rank returns its code.
int run_job_show(Invocation &invocation, const JobShow &show);

// Prints rows as left-aligned columns two spaces apart (the last column
// unpadded); the first row is the header.
void print_table(const std::vector<std::vector<std::string>> &rows);

}  // namespace pdm::cli

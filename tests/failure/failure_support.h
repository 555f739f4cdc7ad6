// Support for the failure tests (tests/failure): real SIGKILLs under
// `mpirun --enable-recovery` (DESIGN.md §7, docs/FAILURES.md).
//
// A failure test cannot use tests/mpi's main and fixture: they end with
// collectives over MPI_COMM_WORLD, which never complete once a rank died.
// Here every rank makes the file system with the others while all live,
// the test kills a rank, and the survivors synchronise only on a
// communicator of their own (survivors()). Each rank's exit code is its own
// verdict; mpirun fails the test when a survivor exits non-zero.
//
// Every wait is bounded by a deadline in the program (and the ctest
// TIMEOUT): a test that would hang fails instead.
#pragma once

#include <mpi.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "runtime/dm/api/session.h"
#include "runtime/dm/control_plane.h"

namespace pdm::failure_test {

int world_rank();
int world_size();
// Rank 0 makes a fresh file system in a temporary directory; every rank
// mounts it with pdm_start. Collective over MPI_COMM_WORLD (before any kill).
std::string make_and_mount();
// Records this rank's verdict ("ok", "failed", "killed") for run.sh: under
// --enable-recovery mpirun exits 0 whatever its ranks return, so the exit
// codes cannot carry it (docs/FAILURES.md §1). A file per rank in the
// directory PDM_FAILURE_VERDICTS names (nothing without it).
void write_verdict(const char *verdict);
// SIGKILL of the calling process (fail-stop: no cleanup, no goodbye), after
// recording the verdict "killed".
[[noreturn]] void die();
// A communicator of the world ranks not in `dead`; collective over them only.
MPI_Comm survivors(const std::vector<int> &dead);
// Polls `done` (with short sleeps) until it holds or `limit` passes.
bool eventually(const std::function<bool()> &done,
                std::chrono::milliseconds limit = std::chrono::seconds(30));
// The file system's directory (failure_main.cpp makes and mounts it).
extern std::string g_root;
// This rank's ControlPlane (the session table's replica and submits).
dm::ControlPlane &control();
// A session made through the manager (dm_create_session's update), with
// `info`; 0 (and a test failure) if the submit failed.
dm::SessionId create_session(const std::string &info);
// This rank's replica of session `id`, if it has one.
std::optional<dm::Session> session(dm::SessionId id);
// Writes `size` bytes of `fill` to a new file `path`, reads them back and
// checks them (gtest expectations): the file system works in this view.
void expect_write_and_read_back(const std::string &path, std::size_t size, char fill);
// Collective over MPI_COMM_WORLD: on rank `node`, a session "doomed-hsm"
// with the disposition and event list of `type` (into `session`); every rank
// returns its id (0 if it could not be made, with a test failure).
dm::SessionId make_create_session(int node, std::optional<dm::api::Session> &session,
                                  dm::api::EventType type = dm::api::EventType::kCreate);
// Collective over MPI_COMM_WORLD: on rank `node`, a session "standby-hsm"
// that joins `group` as a standby (into `session`); every rank returns its
// id (0 if it could not be made, with a test failure).
dm::SessionId make_standby(int node, const std::string &group,
                           std::optional<dm::api::Session> &session);
// Waits until session `id` is orphaned, then assumes it on this rank
// (dm_create_session(oldsid)) into `session` (gtest failures if not).
void assume_orphan(dm::SessionId id, std::optional<dm::api::Session> &session);
// `session` has no event to hand out: dm_get_events without waiting fails
// with EAGAIN (`after` says after what, for the failure message).
void expect_no_events(const dm::api::Session &session, const std::string &after);
// Takes events from `session` (without waiting, again and again) until
// `count` came or the deadline passed (a test failure naming `what`).
std::vector<dm::api::Event> take_events(const dm::api::Session &session, std::size_t count,
                                        const std::string &what);
// At the end of a test: takes the events of `session` out of the file
// system's event list, drops its dispositions and destroys it.
void end_session(std::optional<dm::api::Session> &session);
// Before a kill, every rank: creates `prefix` + its rank (gtest assertions).
void make_file_of_this_rank(const std::string &prefix);
// After: the file of every world rank, the dead ones' too, is there.
void expect_file_of_every_rank(const std::string &prefix);
// The sessions of the dead ranks (ids indexed by world rank) become orphaned.
void expect_orphaned(const std::vector<dm::SessionId> &ids, const std::vector<int> &dead);
// Removes the file system's directory (one survivor calls it at the end).
void remove_file_system(const std::string &root);

}  // namespace pdm::failure_test

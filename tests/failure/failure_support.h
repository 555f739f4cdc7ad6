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
#include <string>
#include <vector>

namespace pdm::failure_test {

int world_rank();
int world_size();
// Rank 0 makes a fresh file system in a temporary directory; every rank
// mounts it with pdm_start. Collective over MPI_COMM_WORLD (before any kill).
std::string make_and_mount();
// SIGKILL of the calling process (fail-stop: no cleanup, no goodbye).
[[noreturn]] void die();
// A communicator of the world ranks not in `dead`; collective over them only.
MPI_Comm survivors(const std::vector<int> &dead);
// Polls `done` (with short sleeps) until it holds or `limit` passes.
bool eventually(const std::function<bool()> &done,
                std::chrono::milliseconds limit = std::chrono::seconds(30));
// The file system's directory (failure_main.cpp makes and mounts it).
extern std::string g_root;
// Removes the file system's directory (one survivor calls it at the end).
void remove_file_system(const std::string &root);

}  // namespace pdm::failure_test

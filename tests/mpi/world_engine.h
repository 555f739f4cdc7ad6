// An RpcEngine of its own over MPI_COMM_WORLD, for MPI tests of the RPC
// layer and what is built directly on it (no file system, no DM layer).
#pragma once

#include <gtest/gtest.h>
#include <mpi.h>

#include <memory>
#include <thread>

#include "runtime/cluster/view.h"
#include "runtime/mpi/rpc.h"

namespace pdm::test {

struct WorldEngine {
  cluster::ViewPtr view;
  std::unique_ptr<cluster::Membership> membership;
  std::unique_ptr<mpi::RpcEngine> engine;

  // The first view of MPI_COMM_WORLD and an engine over it, not started
  // (handlers are registered first); gtest failures if the view fails.
  void make() {
    auto first = cluster::View::initial(MPI_COMM_WORLD);
    ASSERT_TRUE(first.ok()) << first.error().message;
    view = *first;
    membership = std::make_unique<cluster::Membership>(view);
    engine = std::make_unique<mpi::RpcEngine>(*membership);
  }
};

// A barrier that leaves the progress threads running: every rank keeps
// serving until all are done calling.
inline void serving_barrier() {
  MPI_Request request;
  MPI_Ibarrier(MPI_COMM_WORLD, &request);
  int done = 0;
  while (!done) {
    MPI_Test(&request, &done, MPI_STATUS_IGNORE);
    std::this_thread::yield();
  }
}

}  // namespace pdm::test

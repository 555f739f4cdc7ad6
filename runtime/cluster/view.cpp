#include "runtime/cluster/view.h"

#include <algorithm>
#include <numeric>

namespace pdm::cluster {

Result<ViewPtr> View::initial(MPI_Comm app_comm) {
  auto view = std::make_shared<View>();
  PDM_TRY(mpi::check(MPI_Comm_dup(app_comm, &view->base_), "MPI_Comm_dup"));
  PDM_TRY(mpi::check(MPI_Comm_set_errhandler(view->base_, MPI_ERRORS_RETURN),
                     "MPI_Comm_set_errhandler"));
  PDM_ASSIGN_OR_RETURN(view->heartbeat_, mpi::Comm::dup(app_comm));
  PDM_ASSIGN_OR_RETURN(view->rpc_, mpi::Comm::dup(app_comm));
  PDM_ASSIGN_OR_RETURN(view->control_, mpi::Comm::dup(app_comm));
  PDM_ASSIGN_OR_RETURN(view->sync_, mpi::Comm::dup(app_comm));
  view->epoch_ = 1;
  view->self_ = view->rpc_.rank();
  view->members_.resize(static_cast<std::size_t>(view->rpc_.size()));
  for (std::size_t i = 0; i < view->members_.size(); ++i) view->members_[i] = static_cast<int>(i);
  return ViewPtr(std::move(view));
}

Result<ViewPtr> View::next(const View &previous, std::uint64_t epoch, std::vector<int> members) {
  auto view = std::make_shared<View>();
  view->base_ = previous.base_;
  MPI_Group all = MPI_GROUP_NULL;
  MPI_Group live = MPI_GROUP_NULL;
  PDM_TRY(mpi::check(MPI_Comm_group(view->base_, &all), "MPI_Comm_group"));
  int rc = MPI_Group_incl(all, static_cast<int>(members.size()), members.data(), &live);
  MPI_Group_free(&all);
  PDM_TRY(mpi::check(rc, "MPI_Group_incl"));
  // The tag tells apart the create_group calls of successive view changes.
  MPI_Comm created = MPI_COMM_NULL;
  rc = MPI_Comm_create_group(view->base_, live, static_cast<int>(epoch % 30000), &created);
  MPI_Group_free(&live);
  PDM_TRY(mpi::check(rc, "MPI_Comm_create_group"));
  PDM_ASSIGN_OR_RETURN(view->heartbeat_, mpi::Comm::adopt(created));
  PDM_ASSIGN_OR_RETURN(view->rpc_, mpi::Comm::dup(created));
  PDM_ASSIGN_OR_RETURN(view->control_, mpi::Comm::dup(created));
  PDM_ASSIGN_OR_RETURN(view->sync_, mpi::Comm::dup(created));
  view->epoch_ = epoch;
  view->members_ = std::move(members);
  int base_rank = -1;
  MPI_Comm_rank(view->base_, &base_rank);
  view->self_ = base_rank;
  return ViewPtr(std::move(view));
}

View::~View() {
  if (abandoned_) {
    rpc_.release();
    control_.release();
    sync_.release();
    heartbeat_.release();
  }
}

Result<std::vector<int>> View::member_ids_of(MPI_Comm comm) const {
  MPI_Group group = MPI_GROUP_NULL;
  MPI_Group job = MPI_GROUP_NULL;
  PDM_TRY(mpi::check(MPI_Comm_group(comm, &group), "MPI_Comm_group"));
  Status got = mpi::check(MPI_Comm_group(base_, &job), "MPI_Comm_group");
  int size = 0;
  if (got.ok()) got = mpi::check(MPI_Group_size(group, &size), "MPI_Group_size");
  std::vector<int> ranks(static_cast<std::size_t>(size));
  std::iota(ranks.begin(), ranks.end(), 0);
  std::vector<int> ids(ranks.size(), MPI_UNDEFINED);
  if (got.ok()) {
    got = mpi::check(MPI_Group_translate_ranks(group, size, ranks.data(), job, ids.data()),
                     "MPI_Group_translate_ranks");
  }
  MPI_Group_free(&group);
  if (job != MPI_GROUP_NULL) MPI_Group_free(&job);
  PDM_TRY(got);
  for (std::size_t rank = 0; rank < ids.size(); ++rank) {
    if (ids[rank] == MPI_UNDEFINED) {
      return make_error(EINVAL, "rank {} of the communicator is not a process of pdm's job", rank);
    }
  }
  return ids;
}

bool View::is_live(int member) const {
  return comm_rank_of(member) >= 0;
}

int View::comm_rank_of(int member) const {
  auto it = std::lower_bound(members_.begin(), members_.end(), member);
  if (it == members_.end() || *it != member) return -1;
  return static_cast<int>(it - members_.begin());
}

}  // namespace pdm::cluster

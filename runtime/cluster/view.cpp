#include "runtime/cluster/view.h"

#include <algorithm>

namespace pdm::cluster {

Result<ViewPtr> View::initial(MPI_Comm app_comm) {
  auto view = std::make_shared<View>();
  PDM_ASSIGN_OR_RETURN(view->rpc_, mpi::Comm::dup(app_comm));
  PDM_ASSIGN_OR_RETURN(view->control_, mpi::Comm::dup(app_comm));
  PDM_ASSIGN_OR_RETURN(view->sync_, mpi::Comm::dup(app_comm));
  view->epoch_ = 1;
  view->self_ = view->rpc_.rank();
  view->members_.resize(static_cast<std::size_t>(view->rpc_.size()));
  for (std::size_t i = 0; i < view->members_.size(); ++i) view->members_[i] = static_cast<int>(i);
  return ViewPtr(std::move(view));
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

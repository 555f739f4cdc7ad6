#include "pfs/meta/group_holders.h"

#include <set>

namespace pdm::pfs {

Status check_holders(const std::vector<std::int32_t> &holders, int source,
                     const cluster::View &view) {
  std::set<std::int32_t> seen;
  for (const std::int32_t holder : holders) {
    if (!view.is_live(holder)) {
      return make_error(EINVAL, "a group open or close for rank {}, not a live member", holder);
    }
    if (!seen.insert(holder).second) {
      return make_error(EINVAL, "a group open or close names rank {} twice", holder);
    }
  }
  if (!seen.contains(source)) {
    return make_error(EINVAL, "a group open or close from rank {} is not for it", source);
  }
  return {};
}

}  // namespace pdm::pfs

#include "apps/hsm/agent/archive_set.h"

namespace pdm::hsm {

Result<Archive *> ArchiveSet::get(const std::string &id) {
  std::lock_guard lock(mutex_);
  if (auto it = open_archives_.find(id); it != open_archives_.end()) return it->second.get();
  PDM_ASSIGN_OR_RETURN(auto archive, open_(id));
  Archive *raw = archive.get();
  open_archives_.emplace(id, std::move(archive));
  return raw;
}

}  // namespace pdm::hsm

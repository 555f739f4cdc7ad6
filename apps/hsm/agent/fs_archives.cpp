#include "apps/hsm/agent/fs_archives.h"

#include "apps/hsm/archive/archive_registry.h"

namespace pdm::hsm {

Result<std::shared_ptr<ArchiveSet>> archives_of(const std::string &fs_config) {
  PDM_ASSIGN_OR_RETURN(auto registry, ArchiveRegistry::load(fs_config));
  auto shared = std::make_shared<ArchiveRegistry>(std::move(registry));
  std::string default_id;
  if (auto chosen = shared->select(); chosen.ok()) default_id = (*chosen)->id;
  return std::make_shared<ArchiveSet>(
      [shared](const std::string &id) -> Result<std::unique_ptr<Archive>> {
        const ArchiveSpec *spec = shared->find(id);
        if (spec == nullptr) {
          return make_error(ENOENT, "archive '{}' is not in the file system's config", id);
        }
        return open_archive(*spec);
      },
      default_id);
}

Result<std::unique_ptr<RecallAgent>> start_recall_agent(const std::string &fs_config,
                                                        RecallAgentOptions options) {
  PDM_ASSIGN_OR_RETURN(auto archives, archives_of(fs_config));
  if (archives->default_id().empty()) return std::unique_ptr<RecallAgent>();
  return RecallAgent::start(std::move(archives), std::move(options));
}

}  // namespace pdm::hsm

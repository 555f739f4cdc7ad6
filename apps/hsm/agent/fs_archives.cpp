#include "apps/hsm/agent/fs_archives.h"

#include <algorithm>
#include <filesystem>

#include "apps/hsm/agent/fetch_helper.h"
#include "apps/hsm/archive/archive_registry.h"

namespace pdm::hsm {

Result<std::shared_ptr<ArchiveSet>> archives_of(const std::string &fs_config, FetchPath fetch) {
  PDM_ASSIGN_OR_RETURN(auto registry, ArchiveRegistry::load(fs_config));
  auto shared = std::make_shared<ArchiveRegistry>(std::move(registry));
  std::string default_id;
  if (auto chosen = shared->select(); chosen.ok()) default_id = (*chosen)->id;
  std::string helper;  // set: HDF5 archives are fetched by this executable
  if (fetch == FetchPath::kHdf5InHelper &&
      std::any_of(shared->archives().begin(), shared->archives().end(),
                  [](const ArchiveSpec &spec) { return spec.type == ArchiveType::kHdf5; })) {
    PDM_ASSIGN_OR_RETURN(helper, fetch_helper_path());
  }
  // The helper may run after the host changed its directory.
  const std::string config =
      helper.empty() ? fs_config : std::filesystem::absolute(fs_config).string();
  return std::make_shared<ArchiveSet>(
      [shared, helper, config](const std::string &id) -> Result<std::unique_ptr<Archive>> {
        const ArchiveSpec *spec = shared->find(id);
        if (spec == nullptr) {
          return make_error(ENOENT, "archive '{}' is not in the file system's config", id);
        }
        if (spec->type == ArchiveType::kHdf5 && !helper.empty()) {
          return make_helper_archive(spec->id, helper, config);
        }
        return open_archive(*spec);
      },
      default_id);
}

Result<std::unique_ptr<RecallAgent>> start_recall_agent(const std::string &fs_config,
                                                        RecallAgentOptions options,
                                                        FetchPath fetch) {
  PDM_ASSIGN_OR_RETURN(auto archives, archives_of(fs_config, fetch));
  if (archives->default_id().empty()) return std::unique_ptr<RecallAgent>();
  return RecallAgent::start(std::move(archives), std::move(options));
}

}  // namespace pdm::hsm

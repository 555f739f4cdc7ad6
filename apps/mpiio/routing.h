// Routing (docs/MPIIO.md): a file name goes to pdm when it starts with
// "pdm:" or lies under the mount prefix (PDM_MOUNT, default /pdm); the prefix
// is stripped and the rest is the path inside the file system. Every other
// name goes to the real MPI-IO untouched.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace pdm::mpiio {

// The pdm path of `name` under mount prefix `mount`, or nothing.
std::optional<std::string> route(std::string_view name, std::string_view mount);
// The same with the mount prefix of the environment.
std::optional<std::string> route(const char *name);

}  // namespace pdm::mpiio

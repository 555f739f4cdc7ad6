// pdm truncate: sets the size of a file (rank 0).
#include "apps/pdm/commands.h"
#include "runtime/base/size.h"

namespace pdm::cli {
namespace {

int run(Invocation &invocation) {
  const std::string &path = invocation.args()[0];
  const std::string &text = invocation.args()[1];
  auto size = parse_size(text);
  if (!size.ok() || *size > static_cast<std::uint64_t>(INT64_MAX)) {
    if (invocation.is_root()) {
      fmt::print(stderr, "pdm: truncate: '{}' is not a size (write 4096, 64K, 1M, 2G...)\n", text);
    }
    return kExitUsage;
  }
  return invocation.with_mounted([&](node::Node &node) {
    if (!invocation.is_root()) return kExitOk;
    if (auto done = node.fs().truncate(path, static_cast<std::int64_t>(*size)); !done.ok()) {
      return invocation.fail(done.error(), path);
    }
    return kExitOk;
  });
}

}  // namespace

Command truncate_command() {
  Command command;
  command.name = "truncate";
  command.summary = "shrink or extend a file to a size";
  command.arguments = "PATH SIZE";
  command.description =
      "Sets the size of the existing file PATH to SIZE bytes (units K, M, G, T are binary:\n"
      "1K = 1024). Shrinking frees the data beyond SIZE; extending adds a hole that reads\n"
      "as zeros.";
  command.min_args = 2;
  command.max_args = 2;
  command.run = run;
  return command;
}

}  // namespace pdm::cli

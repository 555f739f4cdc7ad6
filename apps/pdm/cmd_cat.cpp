// pdm cat: writes files of the file system to standard output (rank 0).
#include <fcntl.h>

#include <cstdio>
#include <cstring>
#include <vector>

#include "apps/pdm/commands.h"
#include "apps/pdm/recall_mount.h"

namespace pdm::cli {
namespace {

constexpr std::size_t kBlock = 8u << 20;

Status cat_one(pfs::FileSystem &fs, const std::string &path, std::vector<std::byte> &buffer) {
  PDM_ASSIGN_OR_RETURN(PdmFile file, PdmFile::open(fs, path, O_RDONLY));
  std::int64_t offset = 0;
  for (;;) {
    PDM_ASSIGN_OR_RETURN(const std::size_t n,
                         fs.pread(file.fd(), std::span(buffer.data(), buffer.size()), offset));
    if (n == 0) break;
    if (std::fwrite(buffer.data(), 1, n, stdout) != n) {
      return make_error(errno == 0 ? EIO : errno, "standard output: {}", std::strerror(errno));
    }
    offset += static_cast<std::int64_t>(n);
  }
  return file.close();
}

int run(Invocation &invocation) {
  return with_mounted_recalling(invocation, [&](node::Node &node) {
    if (!invocation.is_root()) return kExitOk;
    std::vector<std::byte> buffer(kBlock);
    int code = kExitOk;
    for (const std::string &path : invocation.args()) {
      if (auto done = cat_one(node.fs(), path, buffer); !done.ok()) {
        std::fflush(stdout);
        code = invocation.fail(done.error(), path);
      }
    }
    if (std::fflush(stdout) != 0) {
      code = invocation.fail(make_error(errno, "standard output: {}", std::strerror(errno)));
    }
    return code;
  });
}

}  // namespace

Command cat_command() {
  Command command;
  command.name = "cat";
  command.summary = "write files of the file system to standard output";
  command.arguments = "PATH...";
  command.description =
      "Writes each file PATH, in order, to standard output. A file that cannot be read is\n"
      "reported on stderr and skipped; the exit status is then 1.\n"
      "If the file system has a pdm-hsm archive, every rank runs pdm-hsm's recall agent:\n"
      "a migrated file is recalled from the archive as it is read; at most\n"
      "PDM_HSM_MAX_RECALLS (else max_recalls in the [hsm] section of the fs config, else\n"
      "4) at once per rank.";
  command.min_args = 1;
  command.max_args = kAnyNumber;
  command.run = run;
  return command;
}

}  // namespace pdm::cli

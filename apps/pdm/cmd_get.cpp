// pdm get: copies a file of the file system to a local file, in chunks
// spread over the ranks (see run_transfer in command.h).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "apps/pdm/commands.h"
#include "apps/pdm/recall_mount.h"

namespace pdm::cli {
namespace {

// Rank 0: the local destination is created (or emptied) with the size of
// the source, so that every rank can write its chunks into it.
Result<Transfer> prepare(pfs::FileSystem &fs, const std::string &path, const std::string &local,
                         std::uint64_t wanted_chunk) {
  PDM_ASSIGN_OR_RETURN(const pfs::Inode inode, fs.stat(path));
  if (inode.is_dir()) return make_error(EISDIR, "{}: is a directory", path);
  std::string destination = local;
  // Like cp: a directory as the destination receives the file under its own name.
  struct stat st {};
  if (::stat(local.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    destination = join(local, base_name(path));
  }
  PDM_ASSIGN_OR_RETURN(LocalFile file,
                       LocalFile::open(destination, O_WRONLY | O_CREAT | O_TRUNC, 0666));
  if (::ftruncate(file.fd(), static_cast<off_t>(inode.size)) != 0) {
    return system_error(errno, "cannot set the size of", destination);
  }
  PDM_TRY(file.close());
  return Transfer{path, destination,
                  ChunkPlan{inode.size, chunk_size_for(wanted_chunk, inode.stripe_size)}};
}

Result<TransferEnds> open_ends(pfs::FileSystem &fs, const Transfer &transfer) {
  PDM_ASSIGN_OR_RETURN(PdmFile source, PdmFile::open(fs, transfer.from, O_RDONLY));
  // No O_CREAT: a rank that cannot see rank 0's file must fail, not write elsewhere.
  PDM_ASSIGN_OR_RETURN(LocalFile destination, LocalFile::open(transfer.to, O_WRONLY));
  return transfer_ends(std::move(source), std::move(destination));
}

int run(Invocation &invocation) {
  auto wanted = wanted_chunk_size(invocation);
  if (!wanted.ok()) {
    invocation.fail(wanted.error());
    return kExitUsage;
  }
  const std::string &path = invocation.args()[0];
  const std::string &local = invocation.args()[1];
  return with_mounted_recalling(invocation, [&](node::Node &node) {
    pfs::FileSystem &fs = node.fs();
    return run_transfer(
        invocation, "get", [&] { return prepare(fs, path, local, *wanted); },
        [&](const Transfer &transfer) { return open_ends(fs, transfer); });
  });
}

}  // namespace

Command get_command() {
  Command command;
  command.name = "get";
  command.summary = "copy a file of the file system to a local file";
  command.arguments = "PATH LOCAL";
  command.description =
      "Copies the file PATH of the file system to the local file LOCAL, creating it or\n"
      "replacing its content; if LOCAL is a directory, the file goes into it under the name\n"
      "of PATH. Under mpiexec the ranks share the work: rank 0 creates LOCAL with the size\n"
      "of PATH, then rank r writes chunks r, r+N, r+2N, ... (N ranks) into it, so LOCAL must\n"
      "be at the same path on every rank (a shared file system).\n"
      "Quiet on success; -v prints 'get PATH -> LOCAL: N bytes in T s (X MiB/s)' on stderr.\n"
      "On a terminal, progress is shown on stderr.\n"
      "If the file system has a pdm-hsm archive, every rank runs pdm-hsm's recall agent:\n"
      "a migrated file is recalled from the archive (once, by one rank) as it is read;\n"
      "at most PDM_HSM_MAX_RECALLS (else max_recalls in the [hsm] section of the fs\n"
      "config, else 4) at once per rank.";
  command.min_args = 2;
  command.max_args = 2;
  command.add_options = add_transfer_options;
  command.run = run;
  return command;
}

}  // namespace pdm::cli

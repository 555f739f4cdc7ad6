// pdm put: copies a local file into the file system, in chunks spread over
// the ranks (see run_transfer in command.h).
#include <fcntl.h>
#include <sys/stat.h>

#include <cstring>

#include "apps/pdm/commands.h"

namespace pdm::cli {
namespace {

// Rank 0: the destination is created (or emptied) with the size of the
// source, so that every rank can write its chunks into it.
Result<Transfer> prepare(pfs::FileSystem &fs, const std::string &local, const std::string &path,
                         std::uint64_t wanted_chunk) {
  struct stat st {};
  if (::stat(local.c_str(), &st) != 0) return system_error(errno, "cannot stat", local);
  if (S_ISDIR(st.st_mode)) return make_error(EISDIR, "{}: is a directory", local);
  if (!S_ISREG(st.st_mode)) {
    return make_error(EINVAL, "{}: not a regular file (put copies regular files only)", local);
  }
  std::string destination = path;
  // Like cp: a directory as the destination receives the file under its own name.
  if (auto existing = fs.stat(path); existing.ok() && existing->is_dir()) {
    destination = join(path, base_name(local));
  }
  PDM_ASSIGN_OR_RETURN(
      PdmFile file, PdmFile::open(fs, destination, O_WRONLY | O_CREAT | O_TRUNC, with_umask(0666)));
  const auto size = static_cast<std::uint64_t>(st.st_size);
  PDM_TRY(fs.ftruncate(file.fd(), static_cast<std::int64_t>(size)));
  PDM_ASSIGN_OR_RETURN(const pfs::Inode inode, fs.fstat(file.fd()));
  PDM_TRY(file.close());
  return Transfer{local, destination,
                  ChunkPlan{size, chunk_size_for(wanted_chunk, inode.stripe_size)}};
}

Result<TransferEnds> open_ends(pfs::FileSystem &fs, const Transfer &transfer) {
  PDM_ASSIGN_OR_RETURN(LocalFile source, LocalFile::open(transfer.from, O_RDONLY));
  PDM_ASSIGN_OR_RETURN(PdmFile destination, PdmFile::open(fs, transfer.to, O_WRONLY));
  // The chunks' writes do not wait for their mtime updates; the close
  // publishes them (pfs/client/deferred_extends.h). The file already has
  // its final size (prepare), so no rank ever sees it short.
  PDM_TRY(fs.set_lazy_size(destination.fd(), true));
  return transfer_ends(std::move(source), std::move(destination));
}

int run(Invocation &invocation) {
  auto wanted = wanted_chunk_size(invocation);
  if (!wanted.ok()) {
    invocation.fail(wanted.error());
    return kExitUsage;
  }
  const std::string &local = invocation.args()[0];
  const std::string &path = invocation.args()[1];
  return invocation.with_mounted([&](node::Node &node) {
    pfs::FileSystem &fs = node.fs();
    return run_transfer(
        invocation, "put", [&] { return prepare(fs, local, path, *wanted); },
        [&](const Transfer &transfer) { return open_ends(fs, transfer); });
  });
}

}  // namespace

Command put_command() {
  Command command;
  command.name = "put";
  command.summary = "copy a local file into the file system";
  command.arguments = "LOCAL PATH";
  command.description =
      "Copies the local regular file LOCAL to PATH in the file system, creating PATH or\n"
      "replacing its content; if PATH is a directory, the file goes into it under the name\n"
      "of LOCAL. Under mpiexec the ranks share the work: rank 0 creates PATH with the size\n"
      "of LOCAL, then rank r copies chunks r, r+N, r+2N, ... (N ranks), so LOCAL must be\n"
      "readable at the same path on every rank (a shared file system). If the copy fails,\n"
      "PATH is left with the size of LOCAL and only part of its data.\n"
      "Quiet on success; -v prints 'put LOCAL -> PATH: N bytes in T s (X MiB/s)' on stderr.\n"
      "On a terminal, progress is shown on stderr.";
  command.min_args = 2;
  command.max_args = 2;
  command.add_options = add_transfer_options;
  command.run = run;
  return command;
}

}  // namespace pdm::cli

// Fetching an archive copy in a helper process, pdm-hsm-fetch
// (apps/hsm/fetch/main.cpp), instead of in the calling process: the fetch
// strategy of a recall agent hosted by a process whose application may
// itself be using HDF5 — the MPI-IO shim (docs/MPIIO.md, Recall).
//
// Why a process: the openmpi flavour of libhdf5 (1.10) is not thread-safe,
// and the application's HDF5 calls do not take pdm's hdf5_mutex(). Even a
// thread-safe HDF5 would not do: an application thread inside H5Dread holds
// HDF5's global lock while its MPI_File_read_at waits for the recall, and a
// recall reading the HDF5 archive in this process would need that same lock
// (deadlock). A helper process has its own HDF5. POSIX archives need no
// helper (fs_archives.h picks per archive type).
//
// The helper is started with posix_spawn (glibc: a vfork-like clone, no
// copy of the address space and no atfork handlers, so it is safe in an MPI
// process with registered memory and many threads), with no descriptor of
// the host but its pipes. It streams the copy's bytes in order on a pipe
// and exits 0 only after the archive verified the copy's checksum; the
// caller hands the bytes to its sink as they come (so, as with
// Archive::fetch, bytes handed before a failure must not be trusted:
// recall_locked checks size and checksum against the file's record itself
// before anyone may read them).
#pragma once

#include <memory>
#include <string>

#include "apps/hsm/archive/archive.h"
#include "runtime/base/result.h"

namespace pdm::hsm {

// The pdm-hsm-fetch executable: $PDM_HSM_FETCH if set, else the one
// installed with libpdm-hsm (<libdir>/../bin) or built next to it (build
// tree). ENOENT naming the places looked at when there is none.
Result<std::string> fetch_helper_path();

// Runs `helper --fs fs_config LOCATION` and streams its standard output into
// write, in order, in pieces of up to 1 MiB. EIO with the helper's message
// when it fails (no such copy, a corrupt copy, an unreadable archive) or
// dies; the sink's own error (the helper is then killed).
Status fetch_through_helper(const std::string &helper, const std::string &fs_config,
                            const ArchiveLocation &location, const SinkWriter &write);

// An Archive `id` whose fetch() is fetch_through_helper; describe, store,
// remove and list are ENOTSUP (a recall agent only fetches).
std::unique_ptr<Archive> make_helper_archive(std::string id, std::string helper,
                                             std::string fs_config);

}  // namespace pdm::hsm

// PdmFile: an MPI file opened on pdm — its descriptor, the communicator it was
// opened on (a dup, for the shim's own collectives), its view and individual
// file pointer. Every method is the logic of one MPI_File_* call; the glue
// (glue_file.cpp) finds the PdmFile of a handle and turns errors into MPI
// error classes.
//
// Consistency (docs/MPIIO.md): pdm writes reach the volumes before pwrite
// returns and nothing is cached. Outside atomic mode a write's new size and
// mtime are published lazily (pfs/client/deferred_extends.h): the shim
// publishes them at sync, close, set_size and preallocate, and ends every
// collective write by sharing the sizes the ranks know (shared_size.h), so
// after those every rank sees every rank's data without the
// sync-barrier-sync of MPI-3.1 §13.6.1. In atomic mode every write
// publishes its size before it returns.
#pragma once

#include <mpi.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "apps/mpiio/collective_buffering.h"
#include "apps/mpiio/transfer.h"
#include "apps/mpiio/view.h"
#include "pfs/client/file_system.h"
#include "runtime/base/result.h"
#include "runtime/mpi/comm.h"

namespace pdm::mpiio {

// Which position a data access starts from (MPI-3.1 §13.4.1).
enum class Position { explicit_offset, individual };

class PdmFile {
 public:
  // Collective over comm: opens (and creates, per amode) the pdm path, for
  // every rank with one metadata request of rank 0's (FileSystem::
  // open_for_group). `holders`: the pdm ranks of comm's ranks (read on rank
  // 0). A rank whose `ready` failed (it could not make its handle) makes the
  // open fail on every rank.
  static Result<std::shared_ptr<PdmFile>> open(pfs::FileSystem &fs, MPI_Comm comm,
                                               const std::string &path, int amode, MPI_Info info,
                                               const Status &ready, std::span<const int> holders);
  ~PdmFile();
  PdmFile(const PdmFile &) = delete;
  PdmFile &operator=(const PdmFile &) = delete;

  // Collective: closes (for every rank with one metadata request of rank
  // 0's, FileSystem::finish_close), and with MPI_MODE_DELETE_ON_CLOSE
  // deletes the file.
  Status close();

  // Data access; `offset` is in etypes (explicit_offset), ignored otherwise.
  // Returns the bytes transferred. `collective`: every rank of the file's
  // communicator calls it; pieces that interleave are then aggregated
  // (collective_buffering.h), and writes end once every rank's are visible.
  Result<std::int64_t> read(Position from, std::int64_t offset, const Request &request,
                            bool collective);
  Result<std::int64_t> write(Position from, std::int64_t offset, const Request &request,
                             bool collective);

  Result<std::int64_t> size();
  Status set_size(std::int64_t size);     // collective
  Status preallocate(std::int64_t size);  // collective
  Status sync();                          // collective

  Status set_view(std::int64_t disp, MPI_Datatype etype, MPI_Datatype filetype, const char *datarep,
                  MPI_Info info);
  // The handles of MPI_File_get_view: derived types are returned as new dups.
  void get_view(MPI_Offset *disp, MPI_Datatype *etype, MPI_Datatype *filetype, char *datarep);

  Status seek(std::int64_t offset, int whence);
  std::int64_t position();
  std::int64_t byte_offset(std::int64_t offset);

  Status set_atomicity(bool atomic);  // collective
  bool atomicity() const { return atomic_; }
  int amode() const { return amode_; }
  MPI_Comm comm() const { return comm_.get(); }
  // MPI_File_get_info returns a new info object; set_info replaces the hints.
  Result<MPI_Info> info();
  Status set_info(MPI_Info info);

 private:
  PdmFile(pfs::FileSystem &fs, int fd, mpi::Comm comm, std::string path, int amode);
  // Collective: the error of the lowest failing rank, on every rank. The
  // shim's collectives wait with backoff (mpi/collective.h), not spinning:
  // a spinning rank takes the CPU from the progress threads serving the I/O.
  Status agree(Status local) const;
  // Collective: EINVAL on every rank unless every rank passed this size.
  Status same_size_everywhere(std::int64_t size) const;
  // Checks a data access and maps it on the view (moving the individual
  // pointer when it starts there).
  Result<MappedRequest> prepare(bool writing, Position from, std::int64_t offset,
                                const Request &request);
  CbHints cb_hints();

  pfs::FileSystem &fs_;
  int fd_ = -1;
  mpi::Comm comm_;
  std::vector<int> holders_;  // the pdm ranks of comm_'s ranks (rank 0's group close)
  std::string path_;
  int amode_ = 0;
  bool atomic_ = false;
  bool lazy_wanted_ = true;  // lazy size outside atomic mode (hint pdm_lazy_size)

  std::mutex mutex_;  // the view, its types, the pointer, the info
  View view_;
  MPI_Datatype etype_ = MPI_BYTE;
  MPI_Datatype filetype_ = MPI_BYTE;
  std::int64_t pointer_ = 0;  // individual file pointer, in etypes of the view
  MPI_Info info_ = MPI_INFO_NULL;
  CbHints cb_;  // collective buffering (romio_cb_write/read)
  // Collective calls never run concurrently on one file (MPI-3.1 §13.6.1
  // makes that erroneous); the mutex keeps an erroneous program safe.
  std::mutex scratch_mutex_;
  CbScratch scratch_;
};

}  // namespace pdm::mpiio

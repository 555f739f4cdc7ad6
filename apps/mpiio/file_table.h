// The side table: which real MPI_File handles are pdm files. A pdm file has a
// real handle too (a placeholder opened read-only on /dev/null on
// MPI_COMM_SELF), so that a call the shim does not wrap acts on a valid,
// empty, read-only file — it reads nothing and its writes fail with
// MPI_ERR_READ_ONLY — instead of crashing on a fake pointer; and so that
// MPI_File_c2f/f2c, errhandlers and MPI_File_call_errhandler work unchanged.
#pragma once

#include <mpi.h>

#include <memory>
#include <mutex>
#include <unordered_map>

#include "apps/mpiio/pdm_file.h"

namespace pdm::mpiio {

class FileTable {
 public:
  void add(MPI_File handle, std::shared_ptr<PdmFile> file);
  // The pdm file of a handle, or null for a handle of the real MPI-IO.
  std::shared_ptr<PdmFile> find(MPI_File handle) const;
  void remove(MPI_File handle);

 private:
  mutable std::mutex mutex_;
  std::unordered_map<MPI_File, std::shared_ptr<PdmFile>> files_;
};

FileTable &file_table();

}  // namespace pdm::mpiio

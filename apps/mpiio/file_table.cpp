#include "apps/mpiio/file_table.h"

namespace pdm::mpiio {

void FileTable::add(MPI_File handle, std::shared_ptr<PdmFile> file) {
  std::lock_guard lock(mutex_);
  files_[handle] = std::move(file);
}

std::shared_ptr<PdmFile> FileTable::find(MPI_File handle) const {
  if (handle == MPI_FILE_NULL) return nullptr;
  std::lock_guard lock(mutex_);
  auto it = files_.find(handle);
  return it == files_.end() ? nullptr : it->second;
}

void FileTable::remove(MPI_File handle) {
  std::lock_guard lock(mutex_);
  files_.erase(handle);
}

FileTable &file_table() {
  // Never destroyed: wrappers may run from other libraries' destructors.
  static auto *table = new FileTable;
  return *table;
}

}  // namespace pdm::mpiio

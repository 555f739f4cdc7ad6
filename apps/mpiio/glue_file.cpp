// Glue: the MPI_File_* wrappers for opening, closing, sizes, views, hints and
// file pointers. A handle in the side table is a pdm file and goes to its
// PdmFile; any other handle, and any name that does not route to pdm, goes
// to the real MPI-IO unchanged. Data access is in glue_data.cpp.
#include <mpi.h>

#include <cstring>
#include <optional>
#include <string>

#include "apps/mpiio/glue.h"
#include "apps/mpiio/placeholders.h"
#include "apps/mpiio/routing.h"
#include "apps/mpiio/runtime.h"

using pdm::Error;
using pdm::Status;
using pdm::mpiio::on_handle;
using pdm::mpiio::pdm_file;

namespace {

// The pdm path of a name when the shim is active (else the name is the real MPI-IO's).
std::optional<std::string> pdm_target(const char *name) {
  if (pdm::mpiio::mounted_fs() == nullptr && !pdm::mpiio::start_failed()) return std::nullopt;
  return pdm::mpiio::route(name);
}

// MPI-3.1 §13.2.1: exactly one access mode; no CREATE or EXCL with RDONLY,
// no SEQUENTIAL with RDWR. SEQUENTIAL needs a shared file pointer, which
// the shim has not.
int check_amode(int amode) {
  const int modes = ((amode & MPI_MODE_RDONLY) != 0) + ((amode & MPI_MODE_WRONLY) != 0) +
                    ((amode & MPI_MODE_RDWR) != 0);
  if (modes != 1) return MPI_ERR_AMODE;
  if ((amode & MPI_MODE_RDONLY) != 0 && (amode & (MPI_MODE_CREATE | MPI_MODE_EXCL)) != 0) {
    return MPI_ERR_AMODE;
  }
  if ((amode & MPI_MODE_SEQUENTIAL) != 0) {
    return (amode & MPI_MODE_RDWR) != 0 ? MPI_ERR_AMODE : MPI_ERR_UNSUPPORTED_OPERATION;
  }
  return MPI_SUCCESS;
}

int open_pdm(MPI_Comm comm, const std::string &path, int amode, MPI_Info info, MPI_File *fh) {
  if (fh == nullptr) return MPI_ERR_ARG;
  if (comm == MPI_COMM_NULL) return MPI_ERR_COMM;
  if (const int bad = check_amode(amode); bad != MPI_SUCCESS) {
    return pdm::mpiio::raise_error(MPI_FILE_NULL, bad);
  }
  MPI_File handle = MPI_FILE_NULL;
  const int code = on_handle(MPI_FILE_NULL, [&]() -> Status {
    pdm::pfs::FileSystem *fs = pdm::mpiio::mounted_fs();
    if (fs == nullptr) {
      return pdm::make_error(EIO, "{}: pdm is not mounted (PDM_FS could not be mounted)", path);
    }
    Status ready;
    if (const int rc = pdm::mpiio::take_placeholder(&handle); rc != MPI_SUCCESS) {
      char text[MPI_MAX_ERROR_STRING];
      int length = 0;
      if (PMPI_Error_string(rc, text, &length) != MPI_SUCCESS) length = 0;
      ready = pdm::make_error(EIO, "cannot open /dev/null as the MPI handle of {}: {}", path,
                              std::string_view(text, static_cast<std::size_t>(length)));
    }
    auto holders = pdm::mpiio::pdm_ranks_of(comm);
    if (!holders.ok() && ready.ok()) ready = holders.error();
    auto file = pdm::mpiio::PdmFile::open(*fs, comm, path, amode, info, ready,
                                          holders.ok() ? *holders : std::vector<int>{});
    if (!file.ok()) {
      pdm::mpiio::give_back_placeholder(&handle);
      return file.error();
    }
    pdm::mpiio::file_table().add(handle, *file);
    return {};
  });
  *fh = code == MPI_SUCCESS ? handle : MPI_FILE_NULL;
  return code;
}

}  // namespace

extern "C" int MPI_File_open(MPI_Comm comm, const char *filename, int amode, MPI_Info info,
                             MPI_File *fh) {
  const auto path = pdm_target(filename);
  if (!path) return PDM_REAL(MPI_File_open)(comm, filename, amode, info, fh);
  return open_pdm(comm, *path, amode, info, fh);
}
PDM_PMPI_ALIAS(MPI_File_open)

extern "C" int MPI_File_close(MPI_File *fh) {
  auto file = fh == nullptr ? nullptr : pdm_file(*fh);
  if (!file) return PDM_REAL(MPI_File_close)(fh);
  const int code = on_handle(*fh, [&] { return file->close(); });
  pdm::mpiio::file_table().remove(*fh);
  pdm::mpiio::give_back_placeholder(fh);  // sets *fh to MPI_FILE_NULL
  return code;
}
PDM_PMPI_ALIAS(MPI_File_close)

extern "C" int MPI_File_delete(const char *filename, MPI_Info info) {
  const auto path = pdm_target(filename);
  if (!path) return PDM_REAL(MPI_File_delete)(filename, info);
  return on_handle(MPI_FILE_NULL, [&]() -> Status {
    pdm::pfs::FileSystem *fs = pdm::mpiio::mounted_fs();
    if (fs == nullptr) return pdm::make_error(EIO, "{}: pdm is not mounted", *path);
    return fs->unlink(*path);
  });
}
PDM_PMPI_ALIAS(MPI_File_delete)

extern "C" int MPI_File_get_size(MPI_File fh, MPI_Offset *size) {
  auto file = pdm_file(fh);
  if (!file) return PDM_REAL(MPI_File_get_size)(fh, size);
  return on_handle(fh, [&]() -> Status {
    PDM_ASSIGN_OR_RETURN(*size, file->size());
    return {};
  });
}
PDM_PMPI_ALIAS(MPI_File_get_size)

extern "C" int MPI_File_set_size(MPI_File fh, MPI_Offset size) {
  auto file = pdm_file(fh);
  if (!file) return PDM_REAL(MPI_File_set_size)(fh, size);
  return on_handle(fh, [&] { return file->set_size(size); });
}
PDM_PMPI_ALIAS(MPI_File_set_size)

extern "C" int MPI_File_preallocate(MPI_File fh, MPI_Offset size) {
  auto file = pdm_file(fh);
  if (!file) return PDM_REAL(MPI_File_preallocate)(fh, size);
  return on_handle(fh, [&] { return file->preallocate(size); });
}
PDM_PMPI_ALIAS(MPI_File_preallocate)

extern "C" int MPI_File_sync(MPI_File fh) {
  auto file = pdm_file(fh);
  if (!file) return PDM_REAL(MPI_File_sync)(fh);
  return on_handle(fh, [&] { return file->sync(); });
}
PDM_PMPI_ALIAS(MPI_File_sync)

extern "C" int MPI_File_set_atomicity(MPI_File fh, int flag) {
  auto file = pdm_file(fh);
  if (!file) return PDM_REAL(MPI_File_set_atomicity)(fh, flag);
  return on_handle(fh, [&] { return file->set_atomicity(flag != 0); });
}
PDM_PMPI_ALIAS(MPI_File_set_atomicity)

extern "C" int MPI_File_get_atomicity(MPI_File fh, int *flag) {
  auto file = pdm_file(fh);
  if (!file) return PDM_REAL(MPI_File_get_atomicity)(fh, flag);
  *flag = file->atomicity() ? 1 : 0;
  return MPI_SUCCESS;
}
PDM_PMPI_ALIAS(MPI_File_get_atomicity)

extern "C" int MPI_File_get_amode(MPI_File fh, int *amode) {
  auto file = pdm_file(fh);
  if (!file) return PDM_REAL(MPI_File_get_amode)(fh, amode);
  *amode = file->amode();
  return MPI_SUCCESS;
}
PDM_PMPI_ALIAS(MPI_File_get_amode)

extern "C" int MPI_File_get_group(MPI_File fh, MPI_Group *group) {
  auto file = pdm_file(fh);
  if (!file) return PDM_REAL(MPI_File_get_group)(fh, group);
  return MPI_Comm_group(file->comm(), group);
}
PDM_PMPI_ALIAS(MPI_File_get_group)

extern "C" int MPI_File_get_info(MPI_File fh, MPI_Info *info) {
  auto file = pdm_file(fh);
  if (!file) return PDM_REAL(MPI_File_get_info)(fh, info);
  return on_handle(fh, [&]() -> Status {
    PDM_ASSIGN_OR_RETURN(*info, file->info());
    return {};
  });
}
PDM_PMPI_ALIAS(MPI_File_get_info)

extern "C" int MPI_File_set_info(MPI_File fh, MPI_Info info) {
  auto file = pdm_file(fh);
  if (!file) return PDM_REAL(MPI_File_set_info)(fh, info);
  return on_handle(fh, [&] { return file->set_info(info); });
}
PDM_PMPI_ALIAS(MPI_File_set_info)

extern "C" int MPI_File_set_view(MPI_File fh, MPI_Offset disp, MPI_Datatype etype,
                                 MPI_Datatype filetype, const char *datarep, MPI_Info info) {
  auto file = pdm_file(fh);
  if (!file) return PDM_REAL(MPI_File_set_view)(fh, disp, etype, filetype, datarep, info);
  if (datarep == nullptr || std::strcmp(datarep, "native") != 0) {
    return pdm::mpiio::raise_error(fh, MPI_ERR_UNSUPPORTED_DATAREP);
  }
  if (etype == MPI_DATATYPE_NULL || filetype == MPI_DATATYPE_NULL) {
    return pdm::mpiio::raise_error(fh, MPI_ERR_TYPE);
  }
  return on_handle(fh, [&] { return file->set_view(disp, etype, filetype, datarep, info); });
}
PDM_PMPI_ALIAS(MPI_File_set_view)

extern "C" int MPI_File_get_view(MPI_File fh, MPI_Offset *disp, MPI_Datatype *etype,
                                 MPI_Datatype *filetype, char *datarep) {
  auto file = pdm_file(fh);
  if (!file) return PDM_REAL(MPI_File_get_view)(fh, disp, etype, filetype, datarep);
  file->get_view(disp, etype, filetype, datarep);
  return MPI_SUCCESS;
}
PDM_PMPI_ALIAS(MPI_File_get_view)

extern "C" int MPI_File_seek(MPI_File fh, MPI_Offset offset, int whence) {
  auto file = pdm_file(fh);
  if (!file) return PDM_REAL(MPI_File_seek)(fh, offset, whence);
  return on_handle(fh, [&] { return file->seek(offset, whence); });
}
PDM_PMPI_ALIAS(MPI_File_seek)

extern "C" int MPI_File_get_position(MPI_File fh, MPI_Offset *offset) {
  auto file = pdm_file(fh);
  if (!file) return PDM_REAL(MPI_File_get_position)(fh, offset);
  *offset = file->position();
  return MPI_SUCCESS;
}
PDM_PMPI_ALIAS(MPI_File_get_position)

extern "C" int MPI_File_get_byte_offset(MPI_File fh, MPI_Offset offset, MPI_Offset *disp) {
  auto file = pdm_file(fh);
  if (!file) return PDM_REAL(MPI_File_get_byte_offset)(fh, offset, disp);
  *disp = file->byte_offset(offset);
  return MPI_SUCCESS;
}
PDM_PMPI_ALIAS(MPI_File_get_byte_offset)

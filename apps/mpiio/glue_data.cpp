// Glue: the data access wrappers (MPI-3.1 §13.4): explicit offsets and the
// individual file pointer, blocking, collective, and nonblocking. The
// nonblocking calls do the transfer at once and return a generalized request
// (MPI_Grequest_start) that is already complete, so MPI_Wait/MPI_Test finish
// it with the right status. Shared file pointers and split collectives are
// not supported on pdm files: they fail with MPI_ERR_UNSUPPORTED_OPERATION.
#include <mpi.h>

#include <cstdint>
#include <new>

#include "apps/mpiio/glue.h"

using pdm::Status;
using pdm::mpiio::on_handle;
using pdm::mpiio::pdm_file;
using pdm::mpiio::Position;
using pdm::mpiio::Request;

namespace {

enum class Access { read, write };

int access(MPI_File fh, pdm::mpiio::PdmFile &file, Access what, Position from, MPI_Offset offset,
           const void *buf, int count, MPI_Datatype type, bool collective, MPI_Status *status,
           std::int64_t *moved = nullptr) {
  if (type == MPI_DATATYPE_NULL) {
    return pdm::mpiio::raise_error(fh, MPI_ERR_TYPE);
  }
  if (count < 0) {
    return pdm::mpiio::raise_error(fh, MPI_ERR_COUNT);
  }
  const Request request{const_cast<void *>(buf), count, type};
  return on_handle(fh, [&]() -> Status {
    auto bytes = what == Access::read ? file.read(from, offset, request, collective)
                                      : file.write(from, offset, request, collective);
    if (!bytes.ok()) return bytes.error();
    pdm::mpiio::set_status(status, *bytes);
    if (moved != nullptr) *moved = *bytes;
    return {};
  });
}

// A generalized request that is complete from the start (see the top).
struct Completed {
  std::int64_t bytes = 0;
};

int query_completed(void *extra, MPI_Status *status) {
  pdm::mpiio::set_status(status, static_cast<Completed *>(extra)->bytes);
  return MPI_SUCCESS;
}

int free_completed(void *extra) {
  delete static_cast<Completed *>(extra);
  return MPI_SUCCESS;
}

int cancel_completed(void *, int) {
  return MPI_SUCCESS;  // already complete: nothing to cancel
}

int nonblocking(MPI_File fh, pdm::mpiio::PdmFile &file, Access what, Position from,
                MPI_Offset offset, const void *buf, int count, MPI_Datatype type, bool collective,
                MPI_Request *request) {
  std::int64_t bytes = 0;
  const int code =
      access(fh, file, what, from, offset, buf, count, type, collective, MPI_STATUS_IGNORE, &bytes);
  if (code != MPI_SUCCESS) {
    *request = MPI_REQUEST_NULL;
    return code;
  }
  auto *done = new (std::nothrow) Completed{bytes};
  if (done == nullptr) return MPI_ERR_NO_MEM;
  const int started =
      MPI_Grequest_start(query_completed, free_completed, cancel_completed, done, request);
  if (started != MPI_SUCCESS) {
    delete done;
    return started;
  }
  return MPI_Grequest_complete(*request);
}

int unsupported(MPI_File fh) {
  return pdm::mpiio::raise_error(fh, MPI_ERR_UNSUPPORTED_OPERATION);
}

}  // namespace

// A blocking data access wrapper: NAME(fh, [offset,] buf, count, type, status).
#define PDM_BLOCKING(name, what, from, collective, offset_param, offset_arg, buf_const)    \
  extern "C" int name(MPI_File fh, offset_param buf_const void *buf, int count,            \
                      MPI_Datatype datatype, MPI_Status *status) {                         \
    auto file = pdm_file(fh);                                                              \
    if (!file) return PDM_REAL(name)(fh, offset_arg buf, count, datatype, status);         \
    return access(fh, *file, what, from, offset_value(offset_arg 0), buf, count, datatype, \
                  collective, status);                                                     \
  }                                                                                        \
  PDM_PMPI_ALIAS(name)

#define PDM_NONBLOCKING(name, what, from, collective, offset_param, offset_arg, buf_const)      \
  extern "C" int name(MPI_File fh, offset_param buf_const void *buf, int count,                 \
                      MPI_Datatype datatype, MPI_Request *request) {                            \
    auto file = pdm_file(fh);                                                                   \
    if (!file) return PDM_REAL(name)(fh, offset_arg buf, count, datatype, request);             \
    return nonblocking(fh, *file, what, from, offset_value(offset_arg 0), buf, count, datatype, \
                       collective, request);                                                    \
  }                                                                                             \
  PDM_PMPI_ALIAS(name)

namespace {
// offset_value(offset, 0) is the explicit offset; offset_value(0) is unused.
constexpr MPI_Offset offset_value(MPI_Offset offset, int) {
  return offset;
}
constexpr MPI_Offset offset_value(int) {
  return 0;
}
}  // namespace

#define PDM_AT MPI_Offset offset,
#define PDM_AT_ARG offset,
#define PDM_NONE
#define PDM_CONST const

PDM_BLOCKING(MPI_File_read_at, Access::read, Position::explicit_offset, false, PDM_AT, PDM_AT_ARG,
             PDM_NONE)
PDM_BLOCKING(MPI_File_read_at_all, Access::read, Position::explicit_offset, true, PDM_AT,
             PDM_AT_ARG, PDM_NONE)
PDM_BLOCKING(MPI_File_write_at, Access::write, Position::explicit_offset, false, PDM_AT, PDM_AT_ARG,
             PDM_CONST)
PDM_BLOCKING(MPI_File_write_at_all, Access::write, Position::explicit_offset, true, PDM_AT,
             PDM_AT_ARG, PDM_CONST)
PDM_BLOCKING(MPI_File_read, Access::read, Position::individual, false, PDM_NONE, PDM_NONE, PDM_NONE)
PDM_BLOCKING(MPI_File_read_all, Access::read, Position::individual, true, PDM_NONE, PDM_NONE,
             PDM_NONE)
PDM_BLOCKING(MPI_File_write, Access::write, Position::individual, false, PDM_NONE, PDM_NONE,
             PDM_CONST)
PDM_BLOCKING(MPI_File_write_all, Access::write, Position::individual, true, PDM_NONE, PDM_NONE,
             PDM_CONST)

PDM_NONBLOCKING(MPI_File_iread_at, Access::read, Position::explicit_offset, false, PDM_AT,
                PDM_AT_ARG, PDM_NONE)
PDM_NONBLOCKING(MPI_File_iread_at_all, Access::read, Position::explicit_offset, true, PDM_AT,
                PDM_AT_ARG, PDM_NONE)
PDM_NONBLOCKING(MPI_File_iwrite_at, Access::write, Position::explicit_offset, false, PDM_AT,
                PDM_AT_ARG, PDM_CONST)
PDM_NONBLOCKING(MPI_File_iwrite_at_all, Access::write, Position::explicit_offset, true, PDM_AT,
                PDM_AT_ARG, PDM_CONST)
PDM_NONBLOCKING(MPI_File_iread, Access::read, Position::individual, false, PDM_NONE, PDM_NONE,
                PDM_NONE)
PDM_NONBLOCKING(MPI_File_iread_all, Access::read, Position::individual, true, PDM_NONE, PDM_NONE,
                PDM_NONE)
PDM_NONBLOCKING(MPI_File_iwrite, Access::write, Position::individual, false, PDM_NONE, PDM_NONE,
                PDM_CONST)
PDM_NONBLOCKING(MPI_File_iwrite_all, Access::write, Position::individual, true, PDM_NONE, PDM_NONE,
                PDM_CONST)

// Not supported on pdm files (no shared file pointer, no split collectives).
#define PDM_UNSUPPORTED(name, params, args)   \
  extern "C" int name params {                \
    if (pdm_file(fh)) return unsupported(fh); \
    return PDM_REAL(name) args;               \
  }                                           \
  PDM_PMPI_ALIAS(name)

PDM_UNSUPPORTED(MPI_File_read_shared, (MPI_File fh, void *b, int c, MPI_Datatype t, MPI_Status *s),
                (fh, b, c, t, s))
PDM_UNSUPPORTED(MPI_File_write_shared,
                (MPI_File fh, const void *b, int c, MPI_Datatype t, MPI_Status *s),
                (fh, b, c, t, s))
PDM_UNSUPPORTED(MPI_File_read_ordered, (MPI_File fh, void *b, int c, MPI_Datatype t, MPI_Status *s),
                (fh, b, c, t, s))
PDM_UNSUPPORTED(MPI_File_write_ordered,
                (MPI_File fh, const void *b, int c, MPI_Datatype t, MPI_Status *s),
                (fh, b, c, t, s))
PDM_UNSUPPORTED(MPI_File_iread_shared,
                (MPI_File fh, void *b, int c, MPI_Datatype t, MPI_Request *r), (fh, b, c, t, r))
PDM_UNSUPPORTED(MPI_File_iwrite_shared,
                (MPI_File fh, const void *b, int c, MPI_Datatype t, MPI_Request *r),
                (fh, b, c, t, r))
PDM_UNSUPPORTED(MPI_File_seek_shared, (MPI_File fh, MPI_Offset o, int w), (fh, o, w))
PDM_UNSUPPORTED(MPI_File_get_position_shared, (MPI_File fh, MPI_Offset *o), (fh, o))
PDM_UNSUPPORTED(MPI_File_read_at_all_begin,
                (MPI_File fh, MPI_Offset o, void *b, int c, MPI_Datatype t), (fh, o, b, c, t))
PDM_UNSUPPORTED(MPI_File_read_at_all_end, (MPI_File fh, void *b, MPI_Status *s), (fh, b, s))
PDM_UNSUPPORTED(MPI_File_write_at_all_begin,
                (MPI_File fh, MPI_Offset o, const void *b, int c, MPI_Datatype t), (fh, o, b, c, t))
PDM_UNSUPPORTED(MPI_File_write_at_all_end, (MPI_File fh, const void *b, MPI_Status *s), (fh, b, s))
PDM_UNSUPPORTED(MPI_File_read_all_begin, (MPI_File fh, void *b, int c, MPI_Datatype t),
                (fh, b, c, t))
PDM_UNSUPPORTED(MPI_File_read_all_end, (MPI_File fh, void *b, MPI_Status *s), (fh, b, s))
PDM_UNSUPPORTED(MPI_File_write_all_begin, (MPI_File fh, const void *b, int c, MPI_Datatype t),
                (fh, b, c, t))
PDM_UNSUPPORTED(MPI_File_write_all_end, (MPI_File fh, const void *b, MPI_Status *s), (fh, b, s))
PDM_UNSUPPORTED(MPI_File_read_ordered_begin, (MPI_File fh, void *b, int c, MPI_Datatype t),
                (fh, b, c, t))
PDM_UNSUPPORTED(MPI_File_read_ordered_end, (MPI_File fh, void *b, MPI_Status *s), (fh, b, s))
PDM_UNSUPPORTED(MPI_File_write_ordered_begin, (MPI_File fh, const void *b, int c, MPI_Datatype t),
                (fh, b, c, t))
PDM_UNSUPPORTED(MPI_File_write_ordered_end, (MPI_File fh, const void *b, MPI_Status *s), (fh, b, s))

#include "apps/mpiio/pdm_file.h"

#include <fcntl.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "apps/mpiio/shared_size.h"
#include "runtime/base/failpoint.h"
#include "runtime/mpi/collective.h"

namespace pdm::mpiio {
namespace {

constexpr mode_t kCreateMode = 0644;

bool is_named(MPI_Datatype type) {
  int ni = 0, na = 0, nt = 0, combiner = 0;
  MPI_Type_get_envelope(type, &ni, &na, &nt, &combiner);
  return combiner == MPI_COMBINER_NAMED;
}

// A copy of a datatype the file may keep after the caller frees its own.
MPI_Datatype keep_type(MPI_Datatype type) {
  if (is_named(type)) return type;
  MPI_Datatype dup = MPI_DATATYPE_NULL;
  MPI_Type_dup(type, &dup);
  return dup;
}

void drop_type(MPI_Datatype &type) {
  if (type != MPI_DATATYPE_NULL && !is_named(type)) MPI_Type_free(&type);
  type = MPI_BYTE;
}

int open_flags(int amode) {
  if ((amode & MPI_MODE_RDWR) != 0) return O_RDWR;
  if ((amode & MPI_MODE_WRONLY) != 0) return O_WRONLY;
  return O_RDONLY;
}

// Whether writes outside atomic mode publish their size lazily: the info
// hint pdm_lazy_size ("true"/"false"), else PDM_MPIIO_LAZY_SIZE (0: no),
// else yes. Off suits codes that read other ranks' independent writes after
// a plain MPI_Barrier, which MPI leaves undefined (docs/MPIIO.md).
bool lazy_size_wanted(MPI_Info info) {
  if (info != MPI_INFO_NULL) {
    char value[16] = {};
    int found = 0;
    MPI_Info_get(info, "pdm_lazy_size", sizeof value - 1, value, &found);
    if (found) return std::strcmp(value, "false") != 0 && std::strcmp(value, "0") != 0;
  }
  const char *env = std::getenv("PDM_MPIIO_LAZY_SIZE");
  return env == nullptr || std::strcmp(env, "0") != 0;
}

template <typename T>
Status status_of(const Result<T> &result) {
  if (result.ok()) return {};
  return result.error();
}

}  // namespace

PdmFile::PdmFile(pfs::FileSystem &fs, int fd, mpi::Comm comm, std::string path, int amode)
    : fs_(fs), fd_(fd), comm_(std::move(comm)), path_(std::move(path)), amode_(amode) {}

PdmFile::~PdmFile() {
  drop_type(etype_);
  drop_type(filetype_);
  if (info_ != MPI_INFO_NULL) MPI_Info_free(&info_);
}

Status PdmFile::agree(Status local) const {
  return mpi::agree(comm_, std::move(local));
}

Result<std::shared_ptr<PdmFile>> PdmFile::open(pfs::FileSystem &fs, MPI_Comm comm,
                                               const std::string &path, int amode, MPI_Info info,
                                               const Status &ready, std::span<const int> holders) {
  // The file's own communicator is made while the file is opened: its
  // context-id agreement overlaps the metadata request.
  PDM_ASSIGN_OR_RETURN(mpi::PendingDup pending, mpi::PendingDup::start(comm));
  int rank = 0;
  int size = 1;
  MPI_Comm_rank(comm, &rank);  // the duplicate's rank and size too
  MPI_Comm_size(comm, &size);
  int flags = open_flags(amode);
  if ((amode & MPI_MODE_CREATE) != 0) flags |= O_CREAT;
  if ((amode & MPI_MODE_CREATE) != 0 && (amode & MPI_MODE_EXCL) != 0) flags |= O_EXCL;
  // Rank 0 opens (or creates) the file for every rank of the group with one
  // metadata request: the server sees one request however many ranks open,
  // a CREATE event is raised once, and MPI_MODE_EXCL fails on every rank or
  // on none. The others install the opens it made for them.
  int fd = -1;
  Status local = ready;
  Result<std::vector<std::byte>> shared = make_error(EIO, "not opened");
  if (rank == 0 && local.ok() && holders.size() != static_cast<std::size_t>(size)) {
    local = make_error(EINVAL, "{}: {} holders for {} ranks", path, holders.size(), size);
  }
  if (rank == 0 && local.ok()) {
    if (size == 1) {
      auto opened = fs.open(path, flags, kCreateMode);
      if (opened.ok()) fd = *opened;
      local = status_of(opened);
    } else {
      auto opened = fs.open_for_group(path, flags, kCreateMode, holders);
      if (opened.ok()) {
        fd = opened->first;
        shared = std::move(opened->second);
      }
      local = status_of(opened);
    }
  }
  if (rank == 0 && !local.ok()) shared = local.error();
  auto dup = pending.finish();
  if (!dup.ok()) {
    if (fd >= 0) (void)fs.close(fd);
    return dup.error();
  }
  if (size > 1) {
    shared = mpi::broadcast_from_root(*dup, std::move(shared));
    if (rank != 0) {
      // Adopted even when this rank is not ready, so that the open counted
      // for it is closed below with the others.
      auto opened = shared.ok() ? fs.adopt_open(*shared) : Result<int>(shared.error());
      if (opened.ok()) fd = *opened;
      if (local.ok()) local = status_of(opened);
    }
  }
  auto file = std::shared_ptr<PdmFile>(new PdmFile(fs, fd, std::move(*dup), path, amode));
  if (rank == 0) file->holders_.assign(holders.begin(), holders.end());
  // Outside atomic mode (the default) writes publish their size lazily.
  file->lazy_wanted_ = lazy_size_wanted(info);
  if (fd >= 0 && file->lazy_wanted_) (void)fs.set_lazy_size(fd, true);
  Status agreed = file->agree(local);
  if (!agreed.ok()) {
    if (fd >= 0) (void)fs.close(fd);
    file->fd_ = -1;
    return agreed.error();
  }
  if (info != MPI_INFO_NULL) MPI_Info_dup(info, &file->info_);
  file->cb_ = cb_hints_of(info);
  if ((amode & MPI_MODE_APPEND) != 0) {
    PDM_ASSIGN_OR_RETURN(file->pointer_, file->size());
  }
  return file;
}

Status PdmFile::close() {
  // Every rank takes its descriptor out and settles its writes' sizes; then
  // rank 0 ends every rank's open with one metadata request (a group close)
  // and, with MPI_MODE_DELETE_ON_CLOSE, deletes the file; every rank learns
  // the outcome. So when any rank returns, every rank's writes are visible
  // and no rank holds the file open.
  // A test takes this rank's descriptor away first, so that its begin_close
  // fails as for a descriptor it does not have.
  if (failpoint::hit("mpiio.close_descriptor_gone")) (void)fs_.close(fd_);
  auto closing = fs_.begin_close(fd_);
  fd_ = -1;
  // Whether any rank read (the file's atime), and whether any could not
  // begin (then each rank closes its own open).
  int any[2] = {closing.ok() && closing->was_read ? 1 : 0, closing.ok() ? 0 : 1};
  MPI_Request request = MPI_REQUEST_NULL;
  PDM_TRY(mpi::check(MPI_Iallreduce(MPI_IN_PLACE, any, 2, MPI_INT, MPI_MAX, comm_.get(), &request),
                     "MPI_Iallreduce"));
  PDM_TRY(mpi::wait_request(request, "the close"));
  const bool deleting = (amode_ & MPI_MODE_DELETE_ON_CLOSE) != 0;
  Status outcome;
  if (any[1] == 0 && comm_.size() > 1) {
    Result<std::vector<std::byte>> mine = std::vector<std::byte>{};
    if (comm_.rank() == 0) {
      Status closed = fs_.finish_close(*closing, any[0] != 0, holders_);
      if (closed.ok() && deleting) closed = fs_.unlink(path_);
      if (!closed.ok()) mine = closed.error();
    }
    auto shared = mpi::broadcast_from_root(comm_, std::move(mine));
    if (comm_.rank() != 0 && shared.ok()) fs_.raise_close_event(*closing);
    outcome = status_of(shared);
  } else {
    outcome =
        closing.ok() ? fs_.finish_close(*closing, closing->was_read, {}) : Status(closing.error());
    PDM_TRY(mpi::barrier(comm_));
    if (deleting && comm_.rank() == 0 && outcome.ok()) outcome = fs_.unlink(path_);
  }
  if (!outcome.ok()) return outcome;
  return closing->published;
}

Result<MappedRequest> PdmFile::prepare(bool writing, Position from, std::int64_t offset,
                                       const Request &request) {
  if (writing && (amode_ & MPI_MODE_RDONLY) != 0) {
    return make_error(EROFS, "{}: opened MPI_MODE_RDONLY", path_);
  }
  if (!writing && (amode_ & MPI_MODE_WRONLY) != 0) {
    return make_error(EACCES, "{}: opened MPI_MODE_WRONLY", path_);
  }
  PDM_ASSIGN_OR_RETURN(const std::int64_t bytes, request_bytes(request));
  View view;
  std::int64_t start = offset;
  {
    std::lock_guard lock(mutex_);
    view = view_;
    if (from == Position::individual) start = pointer_;
    if (bytes % view.etype_size() != 0) {
      return make_error(EINVAL, "{}: {} bytes are not a whole number of etypes", path_, bytes);
    }
    // The pointer moves by what the call asks for (MPI-3.1 §13.4.3), even if
    // fewer bytes are read at the end of the file.
    if (from == Position::individual) pointer_ += bytes / view.etype_size();
  }
  if (start < 0) return make_error(EINVAL, "{}: negative offset {}", path_, start);
  return MappedRequest::make(view, start * view.etype_size(), request, writing);
}

CbHints PdmFile::cb_hints() {
  std::lock_guard lock(mutex_);
  return cb_;
}

Result<std::int64_t> PdmFile::read(Position from, std::int64_t offset, const Request &request,
                                   bool collective) {
  auto mapped = prepare(false, from, offset, request);
  if (collective && comm_.size() > 1) {
    const CollectiveAccess access{status_of(mapped), mapped.ok() ? &*mapped : nullptr};
    std::lock_guard lock(scratch_mutex_);
    auto aggregated = read_aggregated(fs_, fd_, comm_, access, cb_hints().read, scratch_);
    scratch_.trim();
    if (aggregated) return std::move(*aggregated);
  }
  if (!mapped.ok()) return mapped.error();
  return read_mapped(fs_, fd_, *mapped);
}

Result<std::int64_t> PdmFile::write(Position from, std::int64_t offset, const Request &request,
                                    bool collective) {
  auto mapped = prepare(true, from, offset, request);
  if (!collective || comm_.size() == 1) {
    // A file of one rank (MPI_COMM_SELF) has no one to show its writes to
    // before a sync or close: they keep overlapping their size updates.
    if (!mapped.ok()) return mapped.error();
    return write_mapped(fs_, fd_, *mapped);
  }
  const CollectiveAccess access{status_of(mapped), mapped.ok() ? &*mapped : nullptr};
  {
    std::lock_guard lock(scratch_mutex_);
    auto aggregated = write_aggregated(fs_, fd_, comm_, access, cb_hints().write, scratch_);
    scratch_.trim();
    if (aggregated) return std::move(*aggregated);
  }
  Result<std::int64_t> written =
      mapped.ok() ? write_mapped(fs_, fd_, *mapped) : Result<std::int64_t>(mapped.error());
  // Visible to the other ranks of the file's group when the call returns.
  Status shared = share_known_sizes(fs_, fd_, comm_);
  if (written.ok() && !shared.ok()) return shared.error();
  return written;
}

Result<std::int64_t> PdmFile::size() {
  PDM_ASSIGN_OR_RETURN(const pfs::Inode inode, fs_.fstat(fd_));
  return static_cast<std::int64_t>(inode.size);
}

Status PdmFile::same_size_everywhere(std::int64_t size) const {
  // As ROMIO does, this also orders the call after every rank's earlier
  // calls: no rank resizes while another still looks at the old size.
  std::int64_t bounds[2] = {size, -size};
  MPI_Request request = MPI_REQUEST_NULL;
  MPI_Iallreduce(MPI_IN_PLACE, bounds, 2, MPI_INT64_T, MPI_MAX, comm_.get(), &request);
  PDM_TRY(mpi::wait_request(request, "the size check"));
  if (bounds[0] != size || -bounds[1] != size) {
    return make_error(EINVAL, "{}: the ranks passed different sizes", path_);
  }
  if (size < 0) return make_error(EINVAL, "{}: negative size {}", path_, size);
  return {};
}

Status PdmFile::set_size(std::int64_t size) {
  // Every rank's writes publish their sizes before the cut: a late one
  // would grow the file again.
  PDM_TRY(agree(fs_.publish_size(fd_)));
  PDM_TRY(same_size_everywhere(size));
  return agree(comm_.rank() == 0 ? fs_.ftruncate(fd_, size) : Status{});
}

Status PdmFile::preallocate(std::int64_t size) {
  PDM_TRY(agree(fs_.publish_size(fd_)));
  PDM_TRY(same_size_everywhere(size));
  Status grown;
  if (comm_.rank() == 0) {
    // pdm allocates on write; preallocating only makes the file that long.
    auto current = this->size();
    if (!current.ok()) {
      grown = current.error();
    } else if (*current < size) {
      grown = fs_.ftruncate(fd_, size);
    }
  }
  return agree(grown);
}

Status PdmFile::set_atomicity(bool atomic) {
  // Atomic mode: each write's size is published before the write returns.
  // The mode changes on every rank even when one reports an earlier write's
  // failed size update (the error every rank returns, as sync's would be).
  Status changed = fs_.set_lazy_size(fd_, !atomic && lazy_wanted_);
  atomic_ = atomic;
  return agree(std::move(changed));
}

Status PdmFile::sync() {
  Status synced = fs_.fsync(fd_);
  return agree(synced);
}

Status PdmFile::set_view(std::int64_t disp, MPI_Datatype etype, MPI_Datatype filetype,
                         const char *datarep, MPI_Info info) {
  if (datarep == nullptr || std::strcmp(datarep, "native") != 0) {
    return make_error(ENOTSUP, "{}: data representation '{}' (only \"native\")", path_,
                      datarep == nullptr ? "" : datarep);
  }
  if (etype == MPI_DATATYPE_NULL || filetype == MPI_DATATYPE_NULL) {
    return make_error(EINVAL, "{}: MPI_DATATYPE_NULL in the view", path_);
  }
  PDM_ASSIGN_OR_RETURN(View view, View::make(disp, etype, filetype));
  std::lock_guard lock(mutex_);
  view_ = std::move(view);
  drop_type(etype_);
  drop_type(filetype_);
  etype_ = keep_type(etype);
  filetype_ = keep_type(filetype);
  pointer_ = 0;
  if (info != MPI_INFO_NULL) {
    if (info_ != MPI_INFO_NULL) MPI_Info_free(&info_);
    MPI_Info_dup(info, &info_);
    cb_ = cb_hints_of(info);
  }
  return {};
}

void PdmFile::get_view(MPI_Offset *disp, MPI_Datatype *etype, MPI_Datatype *filetype,
                       char *datarep) {
  std::lock_guard lock(mutex_);
  if (disp != nullptr) *disp = view_.disp();
  if (etype != nullptr) *etype = keep_type(etype_);
  if (filetype != nullptr) *filetype = keep_type(filetype_);
  if (datarep != nullptr) std::strcpy(datarep, "native");
}

Status PdmFile::seek(std::int64_t offset, int whence) {
  std::int64_t base = 0;
  if (whence == MPI_SEEK_END) {
    PDM_ASSIGN_OR_RETURN(const std::int64_t end, size());
    std::lock_guard lock(mutex_);
    base = view_.stream_bytes_before(end) / view_.etype_size();
  }
  std::lock_guard lock(mutex_);
  if (whence == MPI_SEEK_CUR) base = pointer_;
  if (whence != MPI_SEEK_SET && whence != MPI_SEEK_CUR && whence != MPI_SEEK_END) {
    return make_error(EINVAL, "{}: whence {} is none of MPI_SEEK_SET/CUR/END", path_, whence);
  }
  if (base + offset < 0) return make_error(EINVAL, "{}: seek before the start", path_);
  pointer_ = base + offset;
  return {};
}

std::int64_t PdmFile::position() {
  std::lock_guard lock(mutex_);
  return pointer_;
}

std::int64_t PdmFile::byte_offset(std::int64_t offset) {
  std::lock_guard lock(mutex_);
  return view_.byte_offset(offset * view_.etype_size());
}

Result<MPI_Info> PdmFile::info() {
  std::lock_guard lock(mutex_);
  MPI_Info out = MPI_INFO_NULL;
  if (info_ == MPI_INFO_NULL) {
    MPI_Info_create(&out);
  } else {
    MPI_Info_dup(info_, &out);
  }
  return out;
}

Status PdmFile::set_info(MPI_Info info) {
  std::lock_guard lock(mutex_);
  if (info_ != MPI_INFO_NULL) MPI_Info_free(&info_);
  if (info != MPI_INFO_NULL) MPI_Info_dup(info, &info_);
  cb_ = cb_hints_of(info);
  return {};
}

}  // namespace pdm::mpiio

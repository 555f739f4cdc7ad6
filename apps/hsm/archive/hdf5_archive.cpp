#include "apps/hsm/archive/hdf5_archive.h"

#include <dirent.h>
#include <fcntl.h>
#include <hdf5.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <filesystem>
#include <vector>

#include <spdlog/spdlog.h>

#include "apps/hsm/archive/file_io.h"
#include "pfs/config/fs_config.h"

namespace pdm::hsm {
namespace {

constexpr const char *kMarker = "pdm-hsm-hdf5";
constexpr const char *kFormat = "pdm-hsm-hdf5-1";
constexpr std::uint64_t kIoPiece = std::uint64_t{4} << 20;

// ---- the HDF5 lock and handles ---------------------------------------------

using Lock = std::lock_guard<std::recursive_mutex>;

void quiet_hdf5_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    Lock lock(hdf5_mutex());
    H5open();
    // Errors come back as values with our messages; HDF5's own stack dump
    // on stderr would only confuse users.
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  });
}

// An HDF5 id closed (under the lock) when it goes out of scope.
class H5Handle {
 public:
  H5Handle() = default;
  H5Handle(hid_t id, herr_t (*close)(hid_t)) : id_(id), close_(close) {}
  H5Handle(H5Handle &&other) noexcept : id_(other.id_), close_(other.close_) { other.id_ = -1; }
  H5Handle &operator=(H5Handle &&other) noexcept {
    if (this != &other) {
      reset();
      id_ = other.id_;
      close_ = other.close_;
      other.id_ = -1;
    }
    return *this;
  }
  H5Handle(const H5Handle &) = delete;
  H5Handle &operator=(const H5Handle &) = delete;
  ~H5Handle() { reset(); }

  hid_t get() const { return id_; }
  bool valid() const { return id_ >= 0; }
  // Closes now and reports failure (H5Fclose writes what is still cached).
  herr_t close() {
    if (id_ < 0) return 0;
    Lock lock(hdf5_mutex());
    const herr_t status = close_(id_);
    id_ = -1;
    return status;
  }

 private:
  void reset() {
    if (id_ >= 0) {
      Lock lock(hdf5_mutex());
      close_(id_);
      id_ = -1;
    }
  }
  hid_t id_ = -1;
  herr_t (*close_)(hid_t) = nullptr;
};

// ---- names -------------------------------------------------------------------

std::string sanitize_writer(std::string_view writer) {
  std::string out;
  for (const char c : writer) {
    out +=
        std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' ? c : '_';
  }
  return out.empty() ? std::string("w") : out;
}

std::string container_name(const std::string &writer, std::uint64_t seq) {
  return fmt::format("c-{}-{:06}.h5", writer, seq);
}

bool valid_container(std::string_view name) {
  if (name.size() < 6 || name.substr(0, 2) != "c-" || name.substr(name.size() - 3) != ".h5") {
    return false;
  }
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
  });
}

bool valid_dataset(std::string_view name) {
  if (name.size() < 3 || name.substr(0, 2) != "/f") return false;
  return std::all_of(name.begin() + 2, name.end(), [](char c) {
    return std::isdigit(static_cast<unsigned char>(c)) || c == '.';
  });
}

// ---- a container opened under its flock ---------------------------------------

// Holds the flock (on our own descriptor of the file) and the HDF5 file.
struct OpenContainer {
  io::Fd fd;
  H5Handle file;
};

Error h5_error(const std::string &archive, const std::string &what, const std::string &where) {
  return make_error(EIO, "archive {}: {}: HDF5 {} failed", archive, where, what);
}

H5Handle file_access() {
  Lock lock(hdf5_mutex());
  H5Handle fapl(H5Pcreate(H5P_FILE_ACCESS), H5Pclose);
  // Our flock replaces HDF5's non-blocking lock, which would make a
  // concurrent reader fail instead of waiting.
  H5Pset_file_locking(fapl.get(), false, true);
  return fapl;
}

Status lock_fd(int fd, int how, const std::string &path) {
  while (::flock(fd, how) != 0) {
    const int err = errno;
    if (err != EINTR) return make_error(err, "cannot lock {}: {}", path, std::strerror(err));
  }
  return ok_status();
}

// Opens path under flock (LOCK_SH for readers, LOCK_EX for writers). ENOENT
// if it does not exist, or was deleted (remove of its last copy) while we
// waited for the lock.
Result<OpenContainer> open_container(const std::string &archive, const std::string &path,
                                     bool write) {
  quiet_hdf5_once();
  OpenContainer open;
  auto fd = io::open_file(path, write ? O_RDWR : O_RDONLY);
  if (!fd.ok()) {
    if (fd.error().code == ENOENT)
      return make_error(ENOENT, "archive {}: no container {}", archive, path);
    return fd.error();
  }
  open.fd = std::move(*fd);
  PDM_TRY(lock_fd(open.fd.get(), write ? LOCK_EX : LOCK_SH, path));
  struct stat held {
  }, named{};
  if (::fstat(open.fd.get(), &held) != 0 || ::stat(path.c_str(), &named) != 0 ||
      held.st_ino != named.st_ino || held.st_dev != named.st_dev) {
    return make_error(ENOENT, "archive {}: container {} was removed", archive, path);
  }
  const H5Handle fapl = file_access();
  Lock lock(hdf5_mutex());
  open.file =
      H5Handle(H5Fopen(path.c_str(), write ? H5F_ACC_RDWR : H5F_ACC_RDONLY, fapl.get()), H5Fclose);
  if (!open.file.valid()) return h5_error(archive, "open", path);
  return open;
}

// Closes the HDF5 file (writing its metadata) and, for a writer, fsyncs it
// before the flock is released with the descriptor.
Status close_container(const std::string &archive, OpenContainer &open, const std::string &path,
                       bool write) {
  if (write) {
    Lock lock(hdf5_mutex());
    if (H5Fflush(open.file.get(), H5F_SCOPE_GLOBAL) < 0) return h5_error(archive, "flush", path);
  }
  if (open.file.close() < 0) return h5_error(archive, "close", path);
  if (write) PDM_TRY(io::fsync_fd(open.fd.get(), path));
  return open.fd.close(path);
}

// ---- attributes ------------------------------------------------------------------

Status write_u64(hid_t object, const char *name, std::uint64_t value, hid_t file_type,
                 hid_t mem_type) {
  Lock lock(hdf5_mutex());
  H5Handle scalar(H5Screate(H5S_SCALAR), H5Sclose);
  H5Handle attr(H5Acreate2(object, name, file_type, scalar.get(), H5P_DEFAULT, H5P_DEFAULT),
                H5Aclose);
  if (!attr.valid() || H5Awrite(attr.get(), mem_type, &value) < 0) {
    return make_error(EIO, "HDF5 attribute {}", name);
  }
  return ok_status();
}

Status write_string(hid_t object, const char *name, const std::string &value) {
  Lock lock(hdf5_mutex());
  H5Handle type(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(type.get(), value.size() + 1);
  H5Tset_strpad(type.get(), H5T_STR_NULLTERM);
  H5Handle scalar(H5Screate(H5S_SCALAR), H5Sclose);
  H5Handle attr(H5Acreate2(object, name, type.get(), scalar.get(), H5P_DEFAULT, H5P_DEFAULT),
                H5Aclose);
  if (!attr.valid() || H5Awrite(attr.get(), type.get(), value.c_str()) < 0) {
    return make_error(EIO, "HDF5 attribute {}", name);
  }
  return ok_status();
}

std::optional<std::uint64_t> read_u64(hid_t object, const char *name, hid_t mem_type) {
  Lock lock(hdf5_mutex());
  if (H5Aexists(object, name) <= 0) return std::nullopt;
  H5Handle attr(H5Aopen(object, name, H5P_DEFAULT), H5Aclose);
  std::uint64_t value = 0;
  if (!attr.valid() || H5Aread(attr.get(), mem_type, &value) < 0) return std::nullopt;
  return value;
}

std::optional<std::string> read_string(hid_t object, const char *name) {
  Lock lock(hdf5_mutex());
  if (H5Aexists(object, name) <= 0) return std::nullopt;
  H5Handle attr(H5Aopen(object, name, H5P_DEFAULT), H5Aclose);
  if (!attr.valid()) return std::nullopt;
  H5Handle type(H5Aget_type(attr.get()), H5Tclose);
  if (H5Tget_class(type.get()) != H5T_STRING || H5Tis_variable_str(type.get()) > 0) {
    return std::nullopt;
  }
  std::string value(H5Tget_size(type.get()), '\0');
  if (H5Aread(attr.get(), type.get(), value.data()) < 0) return std::nullopt;
  value.resize(std::strlen(value.c_str()));
  return value;
}

// The ArchivedFile a dataset describes; ENOENT if it is not a complete copy
// (no xxhash64: a store that did not finish).
Result<ArchivedFile> read_facts(hid_t dataset, const std::string &where) {
  ArchivedFile file;
  const auto path = read_string(dataset, "path");
  const auto ino = read_u64(dataset, "ino", H5T_NATIVE_UINT64);
  const auto gen = read_u64(dataset, "generation", H5T_NATIVE_UINT64);
  const auto size = read_u64(dataset, "size", H5T_NATIVE_UINT64);
  const auto mtime = read_u64(dataset, "mtime_ns", H5T_NATIVE_INT64);
  const auto sum = read_u64(dataset, "xxhash64", H5T_NATIVE_UINT64);
  if (!sum) return make_error(ENOENT, "{}: not a complete copy (no xxhash64)", where);
  if (!path || !ino || !gen || !size || !mtime) {
    return make_error(EIO, "{}: attributes missing (path, ino, generation, size, mtime_ns)", where);
  }
  file.path = *path;
  file.ino = *ino;
  file.generation = *gen;
  file.size = *size;
  file.mtime_ns = static_cast<std::int64_t>(*mtime);
  file.checksum = *sum;
  return file;
}

// Writes [offset, offset + data.size()) of the 1-D dataset.
bool write_slab(hid_t dataset, std::uint64_t offset, std::span<const std::byte> data) {
  Lock lock(hdf5_mutex());
  H5Handle file_space(H5Dget_space(dataset), H5Sclose);
  const hsize_t start = offset, count = data.size();
  H5Handle memory(H5Screate_simple(1, &count, nullptr), H5Sclose);
  return H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, &start, nullptr, &count, nullptr) >=
             0 &&
         H5Dwrite(dataset, H5T_NATIVE_UCHAR, memory.get(), file_space.get(), H5P_DEFAULT,
                  data.data()) >= 0;
}

bool read_slab(hid_t dataset, std::uint64_t offset, std::span<std::byte> out) {
  Lock lock(hdf5_mutex());
  H5Handle file_space(H5Dget_space(dataset), H5Sclose);
  const hsize_t start = offset, count = out.size();
  H5Handle memory(H5Screate_simple(1, &count, nullptr), H5Sclose);
  return H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, &start, nullptr, &count, nullptr) >=
             0 &&
         H5Dread(dataset, H5T_NATIVE_UCHAR, memory.get(), file_space.get(), H5P_DEFAULT,
                 out.data()) >= 0;
}

}  // namespace

std::recursive_mutex &hdf5_mutex() {
  static std::recursive_mutex mutex;
  return mutex;
}

Result<std::unique_ptr<Hdf5Archive>> Hdf5Archive::open(std::string id, std::string dir,
                                                       Hdf5Options options, bool create) {
  options.writer = sanitize_writer(options.writer);
  if (options.deflate < 0 || options.deflate > 9) {
    return make_error(EINVAL, "archive {}: deflate level {} (0..9)", id, options.deflate);
  }
  options.chunk_bytes = std::max<std::uint64_t>(options.chunk_bytes, 1);
  options.container_files = std::max<std::uint64_t>(options.container_files, 1);
  PDM_TRY(io::claim_archive_dir(
      id, dir, "hdf5", kMarker,
      "pdm-hsm hdf5 archive: containers c-<writer>-<seq>.h5, see docs/HSM.md\n", create));
  return std::unique_ptr<Hdf5Archive>(
      new Hdf5Archive(std::move(id), std::move(dir), std::move(options)));
}

Result<Hdf5Archive::Parsed> Hdf5Archive::parse(const ArchiveLocation &location) const {
  if (location.archive_id != id_) {
    return make_error(EINVAL, "archive location {} does not belong to archive {}",
                      location.encode(), id_);
  }
  const auto colon = location.locator.find(':');
  Parsed parsed;
  if (colon != std::string::npos) {
    parsed.container = location.locator.substr(0, colon);
    parsed.dataset = location.locator.substr(colon + 1);
  }
  if (!valid_container(parsed.container) || !valid_dataset(parsed.dataset)) {
    return make_error(ENOENT, "archive {}: '{}' is not a copy of an hdf5 archive", id_,
                      location.locator);
  }
  return parsed;
}

Result<std::string> Hdf5Archive::container_path(const ArchiveLocation &location) const {
  PDM_ASSIGN_OR_RETURN(const Parsed parsed, parse(location));
  return dir_ + "/" + parsed.container;
}

Status Hdf5Archive::pick_container() {
  const bool full = seq_ != 0 && (files_in_container_ >= options_.container_files ||
                                  bytes_in_container_ >= options_.container_bytes);
  struct stat st {};
  const bool gone =
      seq_ != 0 && ::stat((dir_ + "/" + container_name(options_.writer, seq_)).c_str(), &st) != 0;
  if (seq_ != 0 && !full && !gone) return ok_status();
  if (seq_ == 0) {
    // Start after every container this writer name already has.
    const std::string prefix = "c-" + options_.writer + "-";
    std::error_code ec;
    for (const auto &entry : std::filesystem::directory_iterator(dir_, ec)) {
      const std::string name = entry.path().filename().string();
      if (name.size() == prefix.size() + 9 && name.compare(0, prefix.size(), prefix) == 0 &&
          valid_container(name)) {
        seq_ =
            std::max<std::uint64_t>(seq_, std::strtoull(name.c_str() + prefix.size(), nullptr, 10));
      }
    }
    if (ec)
      return make_error(ec.value(), "archive {}: cannot list {}: {}", id_, dir_, ec.message());
  }
  ++seq_;
  files_in_container_ = 0;
  bytes_in_container_ = 0;
  // Created complete under a temporary name, then renamed: a container name
  // never holds a half-made file.
  const std::string path = dir_ + "/" + container_name(options_.writer, seq_);
  const std::string temp = path + ".new";
  quiet_hdf5_once();
  {
    const H5Handle fapl = file_access();
    Lock lock(hdf5_mutex());
    H5Handle file(H5Fcreate(temp.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl.get()), H5Fclose);
    if (!file.valid()) return h5_error(id_, "create", temp);
    if (!write_string(file.get(), "format", kFormat).ok() ||
        !write_string(file.get(), "archive", id_).ok() ||
        !write_string(file.get(), "writer", options_.writer).ok()) {
      ::unlink(temp.c_str());
      return h5_error(id_, "attribute", temp);
    }
    if (file.close() < 0) {
      ::unlink(temp.c_str());
      return h5_error(id_, "close", temp);
    }
  }
  {
    auto fd = io::open_file(temp, O_RDONLY);
    if (!fd.ok() || !io::fsync_fd(fd->get(), temp).ok()) {
      ::unlink(temp.c_str());
      return make_error(EIO, "archive {}: cannot fsync {}", id_, temp);
    }
  }
  // link: never replace a container (another process with the same writer
  // name would be a configuration error; fail loudly rather than clobber).
  if (::link(temp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(temp.c_str());
    return make_error(err, "archive {}: cannot create container {}: {}", id_, path,
                      std::strerror(err));
  }
  ::unlink(temp.c_str());
  return pfs::fsync_directory(dir_);
}

Result<StoredCopy> Hdf5Archive::store(const ArchivedFile &file, const SourceReader &read) {
  std::lock_guard<std::mutex> serial(store_mutex_);
  PDM_TRY(pick_container());
  auto open = open_container(id_, dir_ + "/" + container_name(options_.writer, seq_), true);
  if (!open.ok() && open.error().code == ENOENT) {
    // `remove` deleted our container (its copies were all removed) between
    // pick_container and here: start a new one.
    PDM_TRY(pick_container());
    open = open_container(id_, dir_ + "/" + container_name(options_.writer, seq_), true);
  }
  if (!open.ok()) return open.error();
  const std::string container = container_name(options_.writer, seq_);
  const std::string path = dir_ + "/" + container;
  const std::string dataset_name =
      fmt::format("/f{}.{}.{}", file.ino, file.generation, files_in_container_);
  // files_in_container_ counts datasets created, so names never repeat even
  // after a failed store.
  ++files_in_container_;
  H5Handle dataset;
  {
    Lock lock(hdf5_mutex());
    const hsize_t dims = file.size;
    H5Handle space(H5Screate_simple(1, &dims, nullptr), H5Sclose);
    H5Handle dcpl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
    if (file.size > 0) {
      const hsize_t chunk = std::min<std::uint64_t>(options_.chunk_bytes, file.size);
      H5Pset_chunk(dcpl.get(), 1, &chunk);
      if (options_.deflate > 0) H5Pset_deflate(dcpl.get(), static_cast<unsigned>(options_.deflate));
      H5Pset_fill_time(dcpl.get(), H5D_FILL_TIME_NEVER);
    }
    dataset = H5Handle(H5Dcreate2(open->file.get(), dataset_name.c_str(), H5T_STD_U8LE, space.get(),
                                  H5P_DEFAULT, dcpl.get(), H5P_DEFAULT),
                       H5Dclose);
    if (!dataset.valid()) return h5_error(id_, "dataset create", path + ":" + dataset_name);
  }

  // On failure the half-written dataset is unlinked, so no copy appears.
  auto abandon = [&](Error error) -> Error {
    dataset.close();
    {
      Lock lock(hdf5_mutex());
      H5Ldelete(open->file.get(), dataset_name.c_str(), H5P_DEFAULT);
    }
    (void)close_container(id_, *open, path, /*write=*/true);
    return error;
  };

  io::Xxh64 sum;
  const std::uint64_t piece_size = std::max<std::uint64_t>(
      options_.chunk_bytes, kIoPiece / options_.chunk_bytes * options_.chunk_bytes);
  std::vector<std::byte> buffer(static_cast<std::size_t>(
      std::min<std::uint64_t>(piece_size, std::max<std::uint64_t>(file.size, 1))));
  std::uint64_t offset = 0;
  while (offset < file.size) {
    // Fill a whole piece (whole chunks) before writing it.
    const std::size_t want =
        static_cast<std::size_t>(std::min<std::uint64_t>(buffer.size(), file.size - offset));
    std::size_t have = 0;
    while (have < want) {
      auto got = read(offset + have, std::span(buffer.data() + have, want - have));
      if (!got.ok()) return abandon(std::move(got).error());
      if (*got == 0) {
        return abandon(make_error(EIO, "archive {}: {} ended at {} bytes, expected {} (it changed)",
                                  id_, file.path, offset + have, file.size));
      }
      have += *got;
    }
    sum.update(std::span(buffer.data(), have));
    if (!write_slab(dataset.get(), offset, std::span(buffer.data(), have))) {
      return abandon(h5_error(id_, "write", path + ":" + dataset_name));
    }
    offset += have;
  }

  StoredCopy copy;
  copy.file = file;
  copy.file.checksum = sum.digest();
  copy.location = ArchiveLocation{id_, container + ":" + dataset_name};
  Status attrs = write_string(dataset.get(), "path", file.path);
  if (attrs.ok())
    attrs = write_u64(dataset.get(), "ino", file.ino, H5T_STD_U64LE, H5T_NATIVE_UINT64);
  if (attrs.ok()) {
    attrs =
        write_u64(dataset.get(), "generation", file.generation, H5T_STD_U64LE, H5T_NATIVE_UINT64);
  }
  if (attrs.ok())
    attrs = write_u64(dataset.get(), "size", file.size, H5T_STD_U64LE, H5T_NATIVE_UINT64);
  if (attrs.ok()) {
    attrs = write_u64(dataset.get(), "mtime_ns", static_cast<std::uint64_t>(file.mtime_ns),
                      H5T_STD_I64LE, H5T_NATIVE_INT64);
  }
  // Last: its presence marks a complete copy (read_facts).
  if (attrs.ok()) {
    attrs =
        write_u64(dataset.get(), "xxhash64", copy.file.checksum, H5T_STD_U64LE, H5T_NATIVE_UINT64);
  }
  if (!attrs.ok()) return abandon(h5_error(id_, attrs.error().message, path + ":" + dataset_name));
  if (dataset.close() < 0)
    return abandon(h5_error(id_, "dataset close", path + ":" + dataset_name));
  PDM_TRY(close_container(id_, *open, path, /*write=*/true));
  bytes_in_container_ += file.size;
  return copy;
}

Result<ArchivedFile> Hdf5Archive::describe(const ArchiveLocation &location) {
  PDM_ASSIGN_OR_RETURN(const Parsed parsed, parse(location));
  const std::string path = dir_ + "/" + parsed.container;
  PDM_ASSIGN_OR_RETURN(OpenContainer open, open_container(id_, path, /*write=*/false));
  Result<ArchivedFile> facts = make_error(ENOENT, "archive {}: no copy {}", id_, location.locator);
  {
    Lock lock(hdf5_mutex());
    if (H5Lexists(open.file.get(), parsed.dataset.c_str(), H5P_DEFAULT) > 0) {
      H5Handle dataset(H5Dopen2(open.file.get(), parsed.dataset.c_str(), H5P_DEFAULT), H5Dclose);
      if (!dataset.valid()) return h5_error(id_, "dataset open", path + ":" + parsed.dataset);
      facts = read_facts(dataset.get(), id_ + ":" + location.locator);
    }
  }
  PDM_TRY(close_container(id_, open, path, /*write=*/false));
  return facts;
}

Status Hdf5Archive::fetch(const ArchiveLocation &location, const SinkWriter &write) {
  PDM_ASSIGN_OR_RETURN(const Parsed parsed, parse(location));
  const std::string path = dir_ + "/" + parsed.container;
  const std::string where = path + ":" + parsed.dataset;
  PDM_ASSIGN_OR_RETURN(OpenContainer open, open_container(id_, path, /*write=*/false));
  H5Handle dataset;
  ArchivedFile file;
  hsize_t extent = 0;
  {
    Lock lock(hdf5_mutex());
    if (H5Lexists(open.file.get(), parsed.dataset.c_str(), H5P_DEFAULT) <= 0) {
      return make_error(ENOENT, "archive {}: no copy {}", id_, location.locator);
    }
    dataset = H5Handle(H5Dopen2(open.file.get(), parsed.dataset.c_str(), H5P_DEFAULT), H5Dclose);
    if (!dataset.valid()) return h5_error(id_, "dataset open", where);
    PDM_ASSIGN_OR_RETURN(file, read_facts(dataset.get(), id_ + ":" + location.locator));
    H5Handle space(H5Dget_space(dataset.get()), H5Sclose);
    if (H5Sget_simple_extent_ndims(space.get()) != 1 ||
        H5Sget_simple_extent_dims(space.get(), &extent, nullptr) < 0) {
      return h5_error(id_, "extent", where);
    }
  }
  if (extent != file.size) {
    return make_error(EIO, "archive {}: copy {} of {} has {} bytes, recorded {}", id_,
                      location.locator, file.path, extent, file.size);
  }
  io::Xxh64 sum;
  std::vector<std::byte> buffer(static_cast<std::size_t>(
      std::min<std::uint64_t>(kIoPiece, std::max<std::uint64_t>(file.size, 1))));
  for (std::uint64_t offset = 0; offset < file.size;) {
    const std::size_t n =
        static_cast<std::size_t>(std::min<std::uint64_t>(buffer.size(), file.size - offset));
    if (!read_slab(dataset.get(), offset, std::span(buffer.data(), n))) {
      // A corrupt compressed chunk fails here rather than at the checksum.
      return make_error(EIO, "archive {}: copy {} of {} is unreadable at offset {}", id_,
                        location.locator, file.path, offset);
    }
    sum.update(std::span(buffer.data(), n));
    // The sink runs without the HDF5 lock (it may be slow: a write to pdm).
    PDM_TRY(write(offset, std::span<const std::byte>(buffer.data(), n)));
    offset += n;
  }
  dataset.close();
  PDM_TRY(close_container(id_, open, path, /*write=*/false));
  const std::uint64_t digest = sum.digest();
  if (digest != file.checksum) {
    return make_error(EIO,
                      "archive {}: copy {} of {} is corrupt: xxHash64 {:016x}, recorded {:016x}",
                      id_, location.locator, file.path, digest, file.checksum);
  }
  return ok_status();
}

Status Hdf5Archive::remove(const ArchiveLocation &location) {
  PDM_ASSIGN_OR_RETURN(const Parsed parsed, parse(location));
  const std::string path = dir_ + "/" + parsed.container;
  PDM_ASSIGN_OR_RETURN(OpenContainer open, open_container(id_, path, /*write=*/true));
  hsize_t left = 0;
  {
    Lock lock(hdf5_mutex());
    if (H5Lexists(open.file.get(), parsed.dataset.c_str(), H5P_DEFAULT) <= 0) {
      return make_error(ENOENT, "archive {}: no copy {}", id_, location.locator);
    }
    if (H5Ldelete(open.file.get(), parsed.dataset.c_str(), H5P_DEFAULT) < 0) {
      return h5_error(id_, "delete", path + ":" + parsed.dataset);
    }
    H5G_info_t info{};
    if (H5Gget_info(open.file.get(), &info) < 0) return h5_error(id_, "group info", path);
    left = info.nlinks;
  }
  if (left == 0) {
    // No copy left: delete the container while still holding its lock;
    // writers and readers waiting for it see it gone (open_container).
    if (open.file.close() < 0) return h5_error(id_, "close", path);
    PDM_TRY(io::unlink_file(path));
    PDM_TRY(open.fd.close(path));
    return pfs::fsync_directory(dir_);
  }
  return close_container(id_, open, path, /*write=*/true);
}

Result<std::vector<ArchiveRecord>> Hdf5Archive::list() {
  std::vector<std::string> containers;
  std::error_code ec;
  for (const auto &entry : std::filesystem::directory_iterator(dir_, ec)) {
    const std::string name = entry.path().filename().string();
    if (valid_container(name)) containers.push_back(name);
  }
  if (ec) return make_error(ec.value(), "archive {}: cannot list {}: {}", id_, dir_, ec.message());
  std::sort(containers.begin(), containers.end());

  std::vector<ArchiveRecord> records;
  for (const std::string &container : containers) {
    const std::string path = dir_ + "/" + container;
    auto open = open_container(id_, path, /*write=*/false);
    if (!open.ok()) {
      if (open.error().code == ENOENT) continue;  // removed meanwhile
      // One damaged container must not hide the others' copies.
      spdlog::warn("pdm-hsm: archive {}: skipping container {}: {}", id_, path,
                   open.error().message);
      continue;
    }
    std::vector<std::string> names;
    {
      Lock lock(hdf5_mutex());
      H5Literate(
          open->file.get(), H5_INDEX_NAME, H5_ITER_INC, nullptr,
          [](hid_t, const char *name, const H5L_info_t *, void *data) -> herr_t {
            static_cast<std::vector<std::string> *>(data)->push_back(std::string("/") + name);
            return 0;
          },
          &names);
    }
    for (const std::string &name : names) {
      if (!valid_dataset(name)) continue;
      Result<ArchivedFile> facts = make_error(EIO, "unreadable");
      {
        Lock lock(hdf5_mutex());
        H5Handle dataset(H5Dopen2(open->file.get(), name.c_str(), H5P_DEFAULT), H5Dclose);
        if (dataset.valid()) facts = read_facts(dataset.get(), id_ + ":" + container + ":" + name);
      }
      if (!facts.ok()) {
        if (facts.error().code != ENOENT) {
          spdlog::warn("pdm-hsm: archive {}: skipping {}:{}: {}", id_, container, name,
                       facts.error().message);
        }
        continue;
      }
      records.push_back(
          ArchiveRecord{ArchiveLocation{id_, container + ":" + name}, std::move(*facts)});
    }
    PDM_TRY(close_container(id_, *open, path, /*write=*/false));
  }
  return records;
}

}  // namespace pdm::hsm

#include "apps/hsm/archive/posix_archive.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <vector>

#include <nlohmann/json.hpp>

#include "apps/hsm/archive/file_io.h"
#include "pfs/config/fs_config.h"

namespace pdm::hsm {
namespace {

constexpr const char *kMarker = "pdm-hsm-posix";
constexpr const char *kFormat = "pdm-hsm-posix-1";
constexpr std::size_t kCopyBuffer = std::size_t{1} << 20;

std::string fanout_of(std::uint64_t ino) {
  return fmt::format("{:02x}", ino % 256);
}

// A locator is "<2 hex>/<digits>.<digits>.<hex>": anything else (such as
// "../x") is not ours, which keeps fetch/remove inside the directory.
bool valid_locator(std::string_view locator) {
  if (locator.size() < 9 || locator[2] != '/') return false;
  if (!std::isxdigit(static_cast<unsigned char>(locator[0])) ||
      !std::isxdigit(static_cast<unsigned char>(locator[1]))) {
    return false;
  }
  int dots = 0;
  bool digit_before = false;
  for (const char c : locator.substr(3)) {
    if (c == '.') {
      if (!digit_before) return false;
      ++dots;
      digit_before = false;
    } else if (std::isxdigit(static_cast<unsigned char>(c))) {
      digit_before = true;
    } else {
      return false;
    }
  }
  return dots == 2 && digit_before;
}

std::int64_t now_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return std::int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

}  // namespace

std::string encode_description(const ArchivedFile &file) {
  nlohmann::json json = {{"format", kFormat},
                         {"path", file.path},
                         {"ino", file.ino},
                         {"generation", file.generation},
                         {"size", file.size},
                         {"mtime_ns", file.mtime_ns},
                         {"xxh64", io::hex64(file.checksum)}};
  return json.dump(1) + "\n";
}

Result<ArchivedFile> decode_description(const std::string &text, const std::string &where) {
  const nlohmann::json json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.is_object()) {
    return make_error(EIO, "{}: not a JSON object", where);
  }
  if (json.value("format", "") != kFormat) {
    return make_error(EIO, "{}: unknown format (expected \"{}\")", where, kFormat);
  }
  ArchivedFile file;
  try {
    file.path = json.at("path").get<std::string>();
    file.ino = json.at("ino").get<std::uint64_t>();
    file.generation = json.at("generation").get<std::uint64_t>();
    file.size = json.at("size").get<std::uint64_t>();
    file.mtime_ns = json.at("mtime_ns").get<std::int64_t>();
  } catch (const nlohmann::json::exception &e) {
    return make_error(EIO, "{}: {}", where, e.what());
  }
  const auto sum = json.find("xxh64");
  if (sum == json.end() || !sum->is_string()) return make_error(EIO, "{}: no xxh64", where);
  auto checksum = io::parse_hex64(sum->get<std::string>(), "xxh64");
  if (!checksum.ok()) return make_error(EIO, "{}: {}", where, checksum.error().message);
  file.checksum = *checksum;
  return file;
}

Result<std::unique_ptr<PosixArchive>> PosixArchive::open(std::string id, std::string dir,
                                                         bool create) {
  PDM_TRY(io::claim_archive_dir(id, dir, "posix", kMarker,
                                "pdm-hsm posix archive: <2 hex>/<ino>.<gen>.<tag>.{json,data}\n",
                                create));
  return std::unique_ptr<PosixArchive>(new PosixArchive(std::move(id), std::move(dir)));
}

Result<std::string> PosixArchive::base_of(const ArchiveLocation &location) const {
  if (location.archive_id != id_) {
    return make_error(EINVAL, "archive location {} does not belong to archive {}",
                      location.encode(), id_);
  }
  if (!valid_locator(location.locator)) {
    return make_error(ENOENT, "archive {}: '{}' is not a copy of a posix archive", id_,
                      location.locator);
  }
  return dir_ + "/" + location.locator;
}

Result<std::string> PosixArchive::data_path(const ArchiveLocation &location) const {
  PDM_ASSIGN_OR_RETURN(const std::string base, base_of(location));
  return base + ".data";
}

Result<StoredCopy> PosixArchive::store(const ArchivedFile &file, const SourceReader &read) {
  const std::string fanout = fanout_of(file.ino);
  const std::string subdir = dir_ + "/" + fanout;
  PDM_TRY(io::make_dirs_durably(subdir));
  const std::string name =
      fmt::format("{}.{}.{:x}{:x}{:x}", file.ino, file.generation, now_ns(), ::getpid(),
                  counter_.fetch_add(1, std::memory_order_relaxed));
  const std::string base = subdir + "/" + name;
  const std::string data_tmp = base + ".data.tmp";
  const std::string json_tmp = base + ".json.tmp";

  // Whatever fails below leaves no copy: the temp names are removed.
  struct Cleanup {
    std::vector<std::string> paths;
    ~Cleanup() {
      for (const auto &path : paths) ::unlink(path.c_str());
    }
  } cleanup{{data_tmp, json_tmp}};

  PDM_ASSIGN_OR_RETURN(io::Fd fd, io::open_file(data_tmp, O_WRONLY | O_CREAT | O_EXCL));
  io::Xxh64 sum;

  std::vector<std::byte> buffer(static_cast<std::size_t>(
      std::min<std::uint64_t>(kCopyBuffer, std::max<std::uint64_t>(file.size, 1))));
  std::uint64_t offset = 0;
  while (offset < file.size) {
    const std::size_t want =
        static_cast<std::size_t>(std::min<std::uint64_t>(buffer.size(), file.size - offset));
    PDM_ASSIGN_OR_RETURN(const std::size_t got, read(offset, std::span(buffer.data(), want)));
    if (got == 0) {
      return make_error(EIO, "archive {}: {} ended at {} bytes, expected {} (it changed)", id_,
                        file.path, offset, file.size);
    }
    sum.update(std::span(buffer.data(), got));
    PDM_TRY(io::write_all(fd.get(), std::span(buffer.data(), got), offset, data_tmp));
    offset += got;
  }
  PDM_TRY(io::fsync_fd(fd.get(), data_tmp));
  PDM_TRY(fd.close(data_tmp));

  StoredCopy copy;
  copy.file = file;
  copy.file.checksum = sum.digest();
  copy.location = ArchiveLocation{id_, fanout + "/" + name};

  {
    const std::string description = encode_description(copy.file);
    PDM_ASSIGN_OR_RETURN(io::Fd json_fd, io::open_file(json_tmp, O_WRONLY | O_CREAT | O_EXCL));
    PDM_TRY(io::write_all(json_fd.get(), std::as_bytes(std::span(description)), 0, json_tmp));
    PDM_TRY(io::fsync_fd(json_fd.get(), json_tmp));
    PDM_TRY(json_fd.close(json_tmp));
  }
  if (::rename(json_tmp.c_str(), (base + ".json").c_str()) != 0) {
    const int err = errno;
    return make_error(err, "archive {}: cannot rename {}: {}", id_, json_tmp, std::strerror(err));
  }
  // link, not rename: never replace an existing copy (names are unique, so
  // EEXIST would be a bug, not a race to win).
  if (::link(data_tmp.c_str(), (base + ".data").c_str()) != 0) {
    const int err = errno;
    ::unlink((base + ".json").c_str());
    return make_error(err, "archive {}: cannot link {}: {}", id_, base + ".data",
                      std::strerror(err));
  }
  cleanup.paths = {data_tmp};
  ::unlink(data_tmp.c_str());
  cleanup.paths.clear();
  if (auto synced = pfs::fsync_directory(subdir); !synced.ok()) {
    // Not durable: take the copy back rather than report one that may vanish.
    ::unlink((base + ".data").c_str());
    ::unlink((base + ".json").c_str());
    return synced.error();
  }
  return copy;
}

Result<ArchivedFile> PosixArchive::describe(const ArchiveLocation &location) {
  PDM_ASSIGN_OR_RETURN(const std::string base, base_of(location));
  struct stat st {};
  if (::stat((base + ".data").c_str(), &st) != 0) {
    const int err = errno;
    if (err == ENOENT) return make_error(ENOENT, "archive {}: no copy {}", id_, location.locator);
    return make_error(err, "archive {}: {}.data: {}", id_, base, std::strerror(err));
  }
  PDM_ASSIGN_OR_RETURN(const std::string text, io::read_text(base + ".json"));
  return decode_description(text, base + ".json");
}

Status PosixArchive::fetch(const ArchiveLocation &location, const SinkWriter &write) {
  PDM_ASSIGN_OR_RETURN(const ArchivedFile file, describe(location));
  PDM_ASSIGN_OR_RETURN(const std::string data, data_path(location));
  PDM_ASSIGN_OR_RETURN(io::Fd fd, io::open_file(data, O_RDONLY));
  io::Xxh64 sum;

  std::vector<std::byte> buffer(static_cast<std::size_t>(
      std::min<std::uint64_t>(kCopyBuffer, std::max<std::uint64_t>(file.size, 1))));
  std::uint64_t offset = 0;
  while (offset < file.size) {
    PDM_ASSIGN_OR_RETURN(const std::size_t got, io::read_full(fd.get(), buffer, offset, data));
    if (got == 0) break;
    const std::size_t use =
        static_cast<std::size_t>(std::min<std::uint64_t>(got, file.size - offset));
    sum.update(std::span(buffer.data(), use));
    PDM_TRY(write(offset, std::span<const std::byte>(buffer.data(), use)));
    offset += use;
  }
  struct stat st {};
  const bool longer =
      ::fstat(fd.get(), &st) == 0 && static_cast<std::uint64_t>(st.st_size) != file.size;
  if (offset != file.size || longer) {
    return make_error(EIO, "archive {}: copy {} of {} has {} bytes, recorded {}", id_,
                      location.locator, file.path, longer ? st.st_size : offset, file.size);
  }
  const std::uint64_t digest = sum.digest();
  if (digest != file.checksum) {
    return make_error(EIO,
                      "archive {}: copy {} of {} is corrupt: xxHash64 {:016x}, recorded {:016x}",
                      id_, location.locator, file.path, digest, file.checksum);
  }
  return ok_status();
}

Status PosixArchive::remove(const ArchiveLocation &location) {
  PDM_ASSIGN_OR_RETURN(const std::string base, base_of(location));
  if (::unlink((base + ".data").c_str()) != 0) {
    const int err = errno;
    if (err == ENOENT) return make_error(ENOENT, "archive {}: no copy {}", id_, location.locator);
    return make_error(err, "archive {}: cannot remove {}.data: {}", id_, base, std::strerror(err));
  }
  ::unlink((base + ".json").c_str());
  return pfs::fsync_directory(std::filesystem::path(base).parent_path().string());
}

Result<std::vector<ArchiveRecord>> PosixArchive::list() {
  std::vector<ArchiveRecord> records;
  std::error_code ec;
  std::filesystem::directory_iterator top(dir_, ec);
  if (ec) return make_error(ec.value(), "archive {}: cannot list {}: {}", id_, dir_, ec.message());
  for (const auto &sub : top) {
    const std::string fanout = sub.path().filename().string();
    if (fanout.size() != 2 || !sub.is_directory(ec)) continue;
    std::filesystem::directory_iterator entries(sub.path(), ec);
    if (ec) {
      return make_error(ec.value(), "archive {}: cannot list {}: {}", id_, sub.path().string(),
                        ec.message());
    }
    for (const auto &entry : entries) {
      const std::string file_name = entry.path().filename().string();
      constexpr std::string_view kData = ".data";
      if (file_name.size() <= kData.size() ||
          file_name.compare(file_name.size() - kData.size(), kData.size(), kData) != 0) {
        continue;
      }
      ArchiveLocation location{id_, fanout + "/" + file_name.substr(0, file_name.size() - 5)};
      if (!valid_locator(location.locator)) continue;
      auto file = describe(location);
      if (!file.ok()) {
        if (file.error().code == ENOENT) continue;  // removed meanwhile
        return file.error();
      }
      records.push_back(ArchiveRecord{std::move(location), std::move(*file)});
    }
  }
  std::sort(records.begin(), records.end(), [](const ArchiveRecord &a, const ArchiveRecord &b) {
    return a.location.locator < b.location.locator;
  });
  return records;
}

}  // namespace pdm::hsm

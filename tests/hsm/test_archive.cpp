#include "tests/hsm/test_archive.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <vector>

#include <fmt/format.h>

#include "apps/hsm/archive/file_io.h"

namespace pdm::hsm::test {
namespace {

class TestArchive final : public Archive {
 public:
  TestArchive(std::string id, std::string directory)
      : id_(std::move(id)), directory_(std::move(directory)) {}

  const std::string &id() const override { return id_; }

  Result<StoredCopy> store(const ArchivedFile &file, const SourceReader &read) override {
    static std::atomic<unsigned> counter{0};
    const std::string locator =
        fmt::format("{}-{}-{}-{}", file.ino, file.generation, ::getpid(), counter++);
    const std::string data_path = directory_ + "/" + locator;
    const int fd = ::open(data_path.c_str(), O_CREAT | O_EXCL | O_WRONLY, 0644);
    if (fd < 0) return make_error(errno, "{}: cannot create", data_path);
    io::Xxh64 sum;
    std::vector<std::byte> buffer(64 * 1024);
    std::uint64_t offset = 0;
    Status failed;
    while (offset < file.size) {
      auto got = read(
          offset, std::span<std::byte>(buffer.data(),
                                       std::min<std::uint64_t>(buffer.size(), file.size - offset)));
      if (!got.ok()) {
        failed = got.error();
        break;
      }
      if (*got == 0) {
        failed = make_error(EIO, "source ended at {} of {}", offset, file.size);
        break;
      }
      sum.update(std::span(buffer.data(), *got));
      if (::pwrite(fd, buffer.data(), *got, static_cast<off_t>(offset)) !=
          static_cast<ssize_t>(*got)) {
        failed = make_error(errno, "{}: write failed", data_path);
        break;
      }
      offset += *got;
    }
    ::fsync(fd);
    ::close(fd);
    StoredCopy copy{{id_, locator}, file};
    copy.file.checksum = sum.digest();
    if (!failed.ok()) {
      std::filesystem::remove(data_path);
      return failed.error();
    }
    std::ofstream meta(data_path + ".meta");
    meta << copy.file.path << "\n" << copy.file.size << "\n";
    return copy;
  }

  Status fetch(const ArchiveLocation &location, const SinkWriter &write) override {
    const std::string data_path = test_archive_data_path(directory_, location);
    const int fd = ::open(data_path.c_str(), O_RDONLY);
    if (fd < 0) return make_error(ENOENT, "{}: no such copy", data_path);
    std::vector<std::byte> buffer(64 * 1024);
    std::uint64_t offset = 0;
    for (;;) {
      const ssize_t got = ::pread(fd, buffer.data(), buffer.size(), static_cast<off_t>(offset));
      if (got <= 0) break;
      if (auto written = write(
              offset, std::span<const std::byte>(buffer.data(), static_cast<std::size_t>(got)));
          !written.ok()) {
        ::close(fd);
        return written;
      }
      offset += static_cast<std::uint64_t>(got);
    }
    ::close(fd);
    return {};
  }

  Result<ArchivedFile> describe(const ArchiveLocation &location) override {
    std::ifstream meta(test_archive_data_path(directory_, location) + ".meta");
    if (!meta) return make_error(ENOENT, "{}: no such copy", location.encode());
    ArchivedFile file;
    meta >> file.path >> file.size;
    return file;
  }

  Status remove(const ArchiveLocation &location) override {
    const std::string data_path = test_archive_data_path(directory_, location);
    if (!std::filesystem::remove(data_path))
      return make_error(ENOENT, "{}: no such copy", data_path);
    std::filesystem::remove(data_path + ".meta");
    return {};
  }

  Result<std::vector<ArchiveRecord>> list() override { return std::vector<ArchiveRecord>{}; }

 private:
  std::string id_;
  std::string directory_;
};

}  // namespace

std::unique_ptr<Archive> make_test_archive(std::string id, std::string directory) {
  return std::make_unique<TestArchive>(std::move(id), std::move(directory));
}

std::string test_archive_data_path(const std::string &directory, const ArchiveLocation &location) {
  return directory + "/" + location.locator;
}

}  // namespace pdm::hsm::test

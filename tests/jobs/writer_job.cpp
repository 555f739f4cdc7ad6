// The jobs of the writer-kill scenario (tests/jobs/writer_kill.sh): a job
// that writes until it is SIGKILLed, and a later job that checks that every
// write it completed is intact.
//
//   writer_job write FS DIR   every rank writes its pid to DIR/pid.<rank>
//                             (rank 0 then writes DIR/ready) and loops:
//                             it appends a record to its own file (a new
//                             file /w/r<rank>/f<n> every kRecordsPerFile
//                             records) and writes one to its slots of the
//                             shared file /w/shared.dat; after each
//                             pdm_pwrite returns it appends a line to its
//                             journal DIR/journal.<rank> and fsyncs it, so
//                             the journals list only completed writes. Every
//                             few records it also pdm_fsyncs both files.
//                             After kMaxRecords it waits for DIR/go (it is
//                             meant to be killed before).
//   writer_job verify FS DIR  checks every journaled write byte for byte
//                             and that every file is at least as long as
//                             the end of its last journaled write.
//
// A journal line is "RANK SEQ own|shared PATH OFFSET LENGTH"; the record's
// bytes are pattern(record_seed(RANK, SEQ, kind), OFFSET, LENGTH).
#include <fcntl.h>
#include <pdm/pdm.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "tests/jobs/job_util.h"

namespace pdm::jobs {
namespace {

constexpr int kMaxRecords = 100;  // per rank; bounds the disk space a run uses
constexpr int kRecordsPerFile = 8;
constexpr int kFsyncEvery = 3;
constexpr std::uint64_t kMinRecord = 64 * 1024, kMaxRecord = 1024 * 1024;
constexpr std::uint64_t kSharedSlot = kMaxRecord;  // the shared file: one slot per (seq, rank)
constexpr double kGoTimeout = 120;

bool call(int result, std::string_view what) {
  if (result == 0) return true;
  report("{}: {} ({})", what, std::strerror(errno), pdm_last_error());
  return false;
}

std::uint64_t mix(std::uint64_t x) {
  x ^= x >> 33;
  x *= 0xFF51AFD7ED558CCDull;
  x ^= x >> 33;
  return x;
}

std::uint64_t record_seed(int r, int seq, bool shared) {
  return (static_cast<std::uint64_t>(r) << 40) | (static_cast<std::uint64_t>(seq) << 1) |
         (shared ? 1 : 0);
}

// 64 KiB .. 1 MiB, not aligned to anything.
std::uint64_t record_length(std::uint64_t seed) {
  return kMinRecord + mix(seed) % (kMaxRecord - kMinRecord + 1);
}

class Journal {
 public:
  explicit Journal(const std::string &path)
      : path_(path), fd_(::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644)) {
    if (fd_ < 0) report("cannot open journal {}: {}", path, std::strerror(errno));
  }
  ~Journal() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool ok() const { return fd_ >= 0; }
  // One write of the whole line, then fsync: the line is there or absent
  // (the verifier ignores a last line without its newline).
  bool append(const std::string &line) {
    if (::write(fd_, line.data(), line.size()) != static_cast<ssize_t>(line.size()) ||
        ::fsync(fd_) != 0) {
      report("cannot append to journal {}: {}", path_, std::strerror(errno));
      return false;
    }
    return true;
  }

 private:
  std::string path_;
  int fd_;
};

bool write_record(int fd, const std::string &path, bool shared, int seq, std::uint64_t offset,
                  Journal &journal) {
  const std::uint64_t seed = record_seed(rank(), seq, shared);
  const std::uint64_t length = record_length(seed);
  if (!pdm_write_all(fd, pattern(seed, offset, length), offset, path)) return false;
  return journal.append(fmt::format("{} {} {} {} {} {}\n", rank(), seq, shared ? "shared" : "own",
                                    path, offset, length));
}

int write_job(const std::string &fs, const std::string &dir) {
  if (!call(pdm_start(MPI_COMM_WORLD, fs.c_str()), "pdm_start " + fs)) return 1;
  bool ok = rank() != 0 || call(pdm_mkdir("/w", 0755), "pdm_mkdir /w");
  ok = all(ok);
  const std::string own_dir = fmt::format("/w/r{}", rank());
  const std::string shared_path = "/w/shared.dat";
  int shared = -1;
  if (ok) {
    ok = call(pdm_mkdir(own_dir.c_str(), 0755), "pdm_mkdir " + own_dir);
    // Every rank creates the shared file at once: exactly one creates it.
    shared = pdm_open(shared_path.c_str(), O_CREAT | O_RDWR, 0644);
    if (shared < 0) ok = call(-1, "pdm_open(O_CREAT) " + shared_path);
  }
  ok = write_local_file(fmt::format("{}/pid.{}", dir, rank()), fmt::format("{}\n", ::getpid())) &&
       ok;
  Journal journal(fmt::format("{}/journal.{}", dir, rank()));
  ok = all(ok && journal.ok());
  if (ok && rank() == 0) ok = write_local_file(dir + "/ready", "ready\n");

  int own = -1;
  std::string own_path;
  std::uint64_t own_end = 0;
  for (int seq = 0; ok && seq < kMaxRecords; ++seq) {
    if (seq % kRecordsPerFile == 0) {
      if (own >= 0) ok = call(pdm_close(own), "pdm_close " + own_path);
      own_path = fmt::format("{}/f{}", own_dir, seq / kRecordsPerFile);
      own = pdm_open(own_path.c_str(), O_CREAT | O_EXCL | O_RDWR, 0644);
      if (own < 0) ok = call(-1, "pdm_open(O_CREAT|O_EXCL) " + own_path);
      own_end = 0;
    }
    ok = ok && write_record(own, own_path, false, seq, own_end, journal);
    own_end += record_length(record_seed(rank(), seq, false));
    const std::uint64_t slot = (static_cast<std::uint64_t>(seq) * size() + rank()) * kSharedSlot;
    ok = ok && write_record(shared, shared_path, true, seq, slot, journal);
    if (ok && seq % kFsyncEvery == kFsyncEvery - 1) {
      ok = call(pdm_fsync(own), "pdm_fsync " + own_path) &&
           call(pdm_fsync(shared), "pdm_fsync " + shared_path);
    }
  }
  // Not reached when the driver kills the job as it should.
  if (ok && !wait_for_local_file(dir + "/go", kGoTimeout)) {
    report("wrote {} records and was not killed; no go file {}/go after {} s", kMaxRecords, dir,
           kGoTimeout);
    ok = false;
  }
  if (own >= 0) ok = call(pdm_close(own), "pdm_close " + own_path) && ok;
  if (shared >= 0) ok = call(pdm_close(shared), "pdm_close " + shared_path) && ok;
  ok = all(ok);
  if (!call(pdm_stop(), "pdm_stop")) ok = false;
  return all(ok) ? 0 : 1;
}

struct Record {
  int rank = 0;
  int seq = 0;
  bool shared = false;
  std::string path;
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
};

// Every complete line of every journal in dir.
std::optional<std::vector<Record>> read_journals(const std::string &dir) {
  std::vector<Record> records;
  std::vector<std::string> journals;
  for (const auto &entry : std::filesystem::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (name.starts_with("journal.")) journals.push_back(entry.path().string());
  }
  std::sort(journals.begin(), journals.end());
  for (const auto &journal : journals) {
    auto text = read_local_file(journal);
    if (!text) {
      report("cannot read {}", journal);
      return std::nullopt;
    }
    // A line cut by the kill has no newline: that write was not journaled.
    text->erase(text->find_last_of('\n') + 1);
    std::istringstream lines(*text);
    std::string line;
    while (std::getline(lines, line)) {
      std::istringstream fields(line);
      Record record;
      std::string kind;
      fields >> record.rank >> record.seq >> kind >> record.path >> record.offset >> record.length;
      if (!fields || (kind != "own" && kind != "shared")) {
        report("{}: bad line '{}'", journal, line);
        return std::nullopt;
      }
      record.shared = kind == "shared";
      records.push_back(record);
    }
  }
  return records;
}

bool check_record(const Record &record, std::map<std::string, int> &fds) {
  auto [at, added] = fds.try_emplace(record.path, -1);
  if (added) at->second = pdm_open(record.path.c_str(), O_RDONLY, 0);
  if (at->second < 0) return call(-1, "pdm_open " + record.path);
  std::vector<std::byte> content(record.length);
  if (!pdm_read_all(at->second, content, record.offset, record.path)) return false;
  const auto expected =
      pattern(record_seed(record.rank, record.seq, record.shared), record.offset, record.length);
  const auto differ = std::mismatch(content.begin(), content.end(), expected.begin());
  if (differ.first != content.end()) {
    report("{}: record of rank {} seq {} at {}+{} differs from byte {} on", record.path,
           record.rank, record.seq, record.offset, record.length, differ.first - content.begin());
    return false;
  }
  return true;
}

int verify_job(const std::string &fs, const std::string &dir) {
  const auto records = read_journals(dir);
  if (!all(records.has_value())) return 1;
  if (!call(pdm_start(MPI_COMM_WORLD, fs.c_str()), "pdm_start " + fs)) return 1;
  bool ok = true;
  std::map<std::string, int> fds;
  for (std::size_t i = 0; i < records->size(); ++i) {
    if (static_cast<int>(i % size()) == rank()) ok = check_record((*records)[i], fds) && ok;
  }
  for (const auto &[path, fd] : fds) {
    if (fd >= 0) ok = call(pdm_close(fd), "pdm_close " + path) && ok;
  }
  std::map<std::string, std::uint64_t> ends;
  if (rank() == 0) {
    for (const Record &record : *records) {
      auto &end = ends[record.path];
      end = std::max(end, record.offset + record.length);
    }
    for (const auto &[path, end] : ends) {
      const auto file_size = pdm_file_size(path);
      if (!file_size) {
        ok = call(-1, "pdm_stat " + path);
      } else if (*file_size < end) {
        report("{}: size {} is less than {}, the end of its last journaled write", path, *file_size,
               end);
        ok = false;
      }
    }
  }
  if (!call(pdm_stop(), "pdm_stop")) ok = false;
  ok = all(ok);
  if (ok && rank() == 0) {
    std::printf("verified %zu journaled writes in %zu files\n", records->size(), ends.size());
  }
  return ok ? 0 : 1;
}

}  // namespace
}  // namespace pdm::jobs

int main(int argc, char **argv) {
  pdm::jobs::init_mpi(argc, argv);
  int code = 2;
  const std::string mode = argc == 4 ? argv[1] : "";
  if (mode == "write") {
    code = pdm::jobs::write_job(argv[2], argv[3]);
  } else if (mode == "verify") {
    code = pdm::jobs::verify_job(argv[2], argv[3]);
  } else if (pdm::jobs::rank() == 0) {
    std::fprintf(stderr, "usage: writer_job write|verify FS_CONFIG DIR\n");
  }
  MPI_Finalize();
  return code;
}

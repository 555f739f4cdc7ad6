// The jobs of the mount-lease scenario (tests/jobs/mount_lease.sh). One job
// at a time may mount a file system; a second one is refused with EBUSY and
// told who holds it; a job that died holding it does not block the next.
//
//   mount_job hold FS DIR TAG     mounts; every rank writes /TAG/r<rank>,
//                                 fsyncs and closes it and writes its pid to
//                                 DIR/TAG.pid.<rank>; then rank 0 writes
//                                 DIR/TAG.files (the completed files),
//                                 DIR/TAG.holder (its pid) and last
//                                 DIR/TAG.ready; every rank then waits for
//                                 DIR/TAG.go and unmounts.
//   mount_job refused FS DIR TAG  pdm_start must fail on every rank with
//                                 EBUSY and a message naming this host and
//                                 the pid in DIR/TAG.holder.
//   mount_job check FS DIR TAG    mounts, checks every file DIR/TAG.files
//                                 lists, writes and reads back a file of its
//                                 own, and unmounts.
#include <fcntl.h>
#include <pdm/pdm.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <functional>
#include <sstream>
#include <string>

#include "tests/jobs/job_util.h"

namespace pdm::jobs {
namespace {

constexpr double kGoTimeout = 120;  // seconds a holder waits for its go file

bool call(int result, std::string_view what) {
  if (result == 0) return true;
  report("{}: {} ({})", what, std::strerror(errno), pdm_last_error());
  return false;
}

std::uint64_t seed_of(const std::string &tag, int r) {
  return std::hash<std::string>{}(tag) + static_cast<std::uint64_t>(r);
}

bool write_file(const std::string &path, std::uint64_t seed, std::size_t length) {
  const int fd = pdm_open(path.c_str(), O_CREAT | O_EXCL | O_RDWR, 0644);
  if (fd < 0) return call(-1, "pdm_open(O_CREAT|O_EXCL) " + path);
  bool ok = pdm_write_all(fd, pattern(seed, 0, length), 0, path);
  ok = call(pdm_fsync(fd), "pdm_fsync " + path) && ok;
  return call(pdm_close(fd), "pdm_close " + path) && ok;
}

bool check_file(const std::string &path, std::uint64_t seed, std::size_t length) {
  const auto content = pdm_read_file(path);
  if (!content) return false;
  if (*content != pattern(seed, 0, length)) {
    report("{}: {} bytes that differ from the {} bytes written", path, content->size(), length);
    return false;
  }
  return true;
}

std::string hostname() {
  char name[HOST_NAME_MAX + 1] = {};
  ::gethostname(name, sizeof name - 1);
  return name;
}

int hold(const std::string &fs, const std::string &dir, const std::string &tag) {
  if (!call(pdm_start(MPI_COMM_WORLD, fs.c_str()), "pdm_start " + fs)) return 1;
  const std::string top = "/" + tag;
  bool ok = rank() != 0 || call(pdm_mkdir(top.c_str(), 0755), "pdm_mkdir " + top);
  ok = all(ok);
  // Sizes that differ per rank and cross stripes.
  const std::size_t length = 200'000 + 4'099 * static_cast<std::size_t>(rank());
  if (ok) ok = write_file(fmt::format("{}/r{}", top, rank()), seed_of(tag, rank()), length);
  ok = write_local_file(fmt::format("{}/{}.pid.{}", dir, tag, rank()),
                        fmt::format("{}\n", ::getpid())) &&
       ok;
  ok = all(ok);
  if (ok && rank() == 0) {
    std::string files;
    for (int r = 0; r < size(); ++r) {
      files += fmt::format("{}/r{} {} {}\n", top, r, seed_of(tag, r),
                           200'000 + 4'099 * static_cast<std::size_t>(r));
    }
    ok = write_local_file(fmt::format("{}/{}.files", dir, tag), files) &&
         write_local_file(fmt::format("{}/{}.holder", dir, tag), fmt::format("{}\n", ::getpid())) &&
         write_local_file(fmt::format("{}/{}.ready", dir, tag), "ready\n");
  }
  // Holding the mount: the driver lets go (or kills the job) when done.
  if (all(ok) && !wait_for_local_file(fmt::format("{}/{}.go", dir, tag), kGoTimeout)) {
    report("no go file {}/{}.go after {} s", dir, tag, kGoTimeout);
    ok = false;
  }
  if (!call(pdm_stop(), "pdm_stop")) ok = false;
  return all(ok) ? 0 : 1;
}

int refused(const std::string &fs, const std::string &dir, const std::string &tag) {
  const auto holder = read_local_file(fmt::format("{}/{}.holder", dir, tag));
  if (!all(holder.has_value())) {
    report("no holder pid in {}/{}.holder", dir, tag);
    return 1;
  }
  const long holder_pid = std::stol(*holder);
  errno = 0;
  const int started = pdm_start(MPI_COMM_WORLD, fs.c_str());
  const int err = errno;
  const std::string message = pdm_last_error();
  bool ok = true;
  if (started == 0) {
    report("pdm_start succeeded while job {} (pid {}) holds the mount", tag, holder_pid);
    ok = false;
    pdm_stop();
  } else {
    if (err != EBUSY) {
      report("pdm_start failed with {}, expected EBUSY ({})", std::strerror(err), message);
      ok = false;
    }
    // The pid as a whole number: "pid 12" must not match "pid 123".
    const std::string pid_text = fmt::format("pid {}", holder_pid);
    const auto at = message.find(pid_text);
    const bool names_pid =
        at != std::string::npos &&
        (at + pid_text.size() == message.size() ||
         !std::isdigit(static_cast<unsigned char>(message[at + pid_text.size()])));
    if (!names_pid) {
      report("pdm_last_error() '{}' does not name the holder's {}", message, pid_text);
      ok = false;
    }
    if (message.find(hostname()) == std::string::npos) {
      report("pdm_last_error() '{}' does not name the holder's host {}", message, hostname());
      ok = false;
    }
  }
  ok = all(ok);
  if (ok && rank() == 0) std::printf("refused as expected: %s\n", message.c_str());
  return ok ? 0 : 1;
}

int check(const std::string &fs, const std::string &dir, const std::string &tag) {
  const auto files = read_local_file(fmt::format("{}/{}.files", dir, tag));
  if (!all(files.has_value())) {
    report("no file list {}/{}.files", dir, tag);
    return 1;
  }
  if (!call(pdm_start(MPI_COMM_WORLD, fs.c_str()), "pdm_start " + fs)) return 1;
  bool ok = true;
  std::istringstream lines(*files);
  std::string path;
  std::uint64_t seed = 0;
  std::size_t length = 0;
  int count = 0;
  for (int i = 0; lines >> path >> seed >> length; ++i, ++count) {
    if (i % size() == rank()) ok = check_file(path, seed, length) && ok;
  }
  if (count == 0) {
    report("{}/{}.files lists no files", dir, tag);
    ok = false;
  }
  // The mount is usable for new files too.
  const std::string own = fmt::format("/{}.checker.{}.{}", tag, ::getpid(), rank());
  ok = write_file(own, seed_of(own, rank()), 70'000) &&
       check_file(own, seed_of(own, rank()), 70'000) && ok;
  ok = all(ok);
  if (!call(pdm_stop(), "pdm_stop")) ok = false;
  ok = all(ok);
  if (ok && rank() == 0) std::printf("checked %d files of job %s\n", count, tag.c_str());
  return ok ? 0 : 1;
}

}  // namespace
}  // namespace pdm::jobs

int main(int argc, char **argv) {
  pdm::jobs::init_mpi(argc, argv);
  int code = 2;
  const std::string mode = argc == 5 ? argv[1] : "";
  if (mode == "hold") {
    code = pdm::jobs::hold(argv[2], argv[3], argv[4]);
  } else if (mode == "refused") {
    code = pdm::jobs::refused(argv[2], argv[3], argv[4]);
  } else if (mode == "check") {
    code = pdm::jobs::check(argv[2], argv[3], argv[4]);
  } else if (pdm::jobs::rank() == 0) {
    std::fprintf(stderr, "usage: mount_job hold|refused|check FS_CONFIG DIR TAG\n");
  }
  MPI_Finalize();
  return code;
}

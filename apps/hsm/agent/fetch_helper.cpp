#include "apps/hsm/agent/fetch_helper.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <vector>

extern char **environ;

namespace pdm::hsm {
namespace {

constexpr std::size_t kPiece = std::size_t{1} << 20;  // bytes per sink call
constexpr std::size_t kMaxMessage = 4096;             // of the helper's stderr

#ifndef PDM_HSM_LIB_TO_BIN
#define PDM_HSM_LIB_TO_BIN "../bin"
#endif

bool is_executable(const std::string &path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

// The directory of the libpdm-hsm this code was loaded from.
std::string library_dir() {
  Dl_info info{};
  if (::dladdr(reinterpret_cast<void *>(&fetch_helper_path), &info) == 0 ||
      info.dli_fname == nullptr) {
    return {};
  }
  const std::string_view file(info.dli_fname);
  const std::size_t slash = file.rfind('/');
  return slash == std::string_view::npos ? std::string(".") : std::string(file.substr(0, slash));
}

// The pipes of one helper, closed on every path out.
struct Pipe {
  int read = -1;
  int write = -1;
  ~Pipe() {
    if (read >= 0) ::close(read);
    if (write >= 0) ::close(write);
  }
  Status open() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return make_error(errno, "pipe: {}", std::strerror(errno));
    read = fds[0];
    write = fds[1];
    return {};
  }
  void close_write() {
    ::close(write);
    write = -1;
  }
  void close_read() {
    ::close(read);
    read = -1;
  }
};

struct SpawnActions {
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  SpawnActions() {
    posix_spawn_file_actions_init(&actions);
    posix_spawnattr_init(&attr);
  }
  ~SpawnActions() {
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
  }
};

// The environment of the helper: ours, but without the MPI-IO shim in
// LD_PRELOAD (it would load the shim, libmpi and pdm into the helper for
// nothing); other preloads (a sanitizer runtime) stay.
struct HelperEnvironment {
  std::string preload;  // the kept LD_PRELOAD=... entry
  std::vector<char *> env;
};

void make_helper_environment(HelperEnvironment &out) {
  for (char **e = environ; e != nullptr && *e != nullptr; ++e) {
    const std::string_view var(*e);
    if (!var.starts_with("LD_PRELOAD=")) {
      out.env.push_back(*e);
      continue;
    }
    std::string kept;
    std::string_view rest = var.substr(std::strlen("LD_PRELOAD="));
    while (!rest.empty()) {
      const std::size_t end = rest.find_first_of(": ");
      const std::string_view entry = rest.substr(0, end);
      rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
      if (entry.empty() || entry.find("libpdm-mpiio") != std::string_view::npos) continue;
      if (!kept.empty()) kept += ':';
      kept += entry;
    }
    if (!kept.empty()) out.preload = "LD_PRELOAD=" + kept;
  }
  if (!out.preload.empty()) out.env.push_back(out.preload.data());
  out.env.push_back(nullptr);
}

Result<pid_t> spawn(const std::string &helper, const std::vector<std::string> &args,
                    const Pipe &out, const Pipe &err) {
  SpawnActions spawn;
  int rc = posix_spawn_file_actions_addopen(&spawn.actions, 0, "/dev/null", O_RDONLY, 0);
  if (rc == 0) rc = posix_spawn_file_actions_adddup2(&spawn.actions, out.write, 1);
  if (rc == 0) rc = posix_spawn_file_actions_adddup2(&spawn.actions, err.write, 2);
  // Descriptors the host left inheritable (MPI's, the application's) stay out.
  if (rc == 0) rc = posix_spawn_file_actions_addclosefrom_np(&spawn.actions, 3);
  // The calling thread may block signals (pdm's threads do); the helper
  // starts with none blocked and SIGPIPE at its default (it dies if we stop
  // reading).
  sigset_t none;
  sigset_t defaults;
  sigemptyset(&none);
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  if (rc == 0) rc = posix_spawnattr_setsigmask(&spawn.attr, &none);
  if (rc == 0) rc = posix_spawnattr_setsigdefault(&spawn.attr, &defaults);
  if (rc == 0)
    rc = posix_spawnattr_setflags(&spawn.attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  if (rc != 0) return make_error(rc, "preparing {}: {}", helper, std::strerror(rc));
  std::vector<char *> argv;
  for (const std::string &arg : args) argv.push_back(const_cast<char *>(arg.c_str()));
  argv.push_back(nullptr);
  HelperEnvironment env;
  make_helper_environment(env);
  pid_t pid = -1;
  rc =
      ::posix_spawn(&pid, helper.c_str(), &spawn.actions, &spawn.attr, argv.data(), env.env.data());
  if (rc != 0) return make_error(rc, "starting {}: {}", helper, std::strerror(rc));
  return pid;
}

// Waits for the helper: its wait status, or -1 when that cannot be known
// (ECHILD: the host process ignores SIGCHLD, or reaped the helper itself).
int wait_for(pid_t pid) {
  int status = 0;
  for (;;) {
    if (::waitpid(pid, &status, 0) == pid) return status;
    if (errno != EINTR) return -1;
  }
}

std::string trimmed(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

class HelperArchive final : public Archive {
 public:
  HelperArchive(std::string id, std::string helper, std::string fs_config)
      : id_(std::move(id)), helper_(std::move(helper)), fs_config_(std::move(fs_config)) {}

  const std::string &id() const override { return id_; }
  Result<StoredCopy> store(const ArchivedFile &, const SourceReader &) override {
    return unsupported("store");
  }
  Status fetch(const ArchiveLocation &location, const SinkWriter &write) override {
    return fetch_through_helper(helper_, fs_config_, location, write);
  }
  Result<ArchivedFile> describe(const ArchiveLocation &) override {
    return unsupported("describe");
  }
  Status remove(const ArchiveLocation &) override { return unsupported("remove"); }
  Result<std::vector<ArchiveRecord>> list() override { return unsupported("list"); }

 private:
  Error unsupported(std::string_view what) const {
    return make_error(ENOTSUP,
                      "archive {}: {} is not available here (copies are only fetched, by {})", id_,
                      what, helper_);
  }
  std::string id_;
  std::string helper_;
  std::string fs_config_;
};

}  // namespace

Result<std::string> fetch_helper_path() {
  if (const char *env = std::getenv("PDM_HSM_FETCH"); env != nullptr && *env != '\0') {
    if (!is_executable(env)) return make_error(ENOENT, "PDM_HSM_FETCH={}: not an executable", env);
    return std::string(env);
  }
  const std::string dir = library_dir();
  std::vector<std::string> tried;
  for (const std::string &candidate :
       {dir + "/" PDM_HSM_LIB_TO_BIN "/pdm-hsm-fetch", dir + "/pdm-hsm-fetch"}) {
    if (!dir.empty() && is_executable(candidate)) return candidate;
    tried.push_back(candidate);
  }
  return make_error(ENOENT, "no pdm-hsm-fetch executable (looked at {} and {}; set PDM_HSM_FETCH)",
                    tried[0], tried[1]);
}

Status fetch_through_helper(const std::string &helper, const std::string &fs_config,
                            const ArchiveLocation &location, const SinkWriter &write) {
  Pipe out;
  Pipe err;
  PDM_TRY(out.open());
  PDM_TRY(err.open());
  const std::string where = location.encode();
  PDM_ASSIGN_OR_RETURN(const pid_t pid,
                       spawn(helper, {helper, "--fs", fs_config, where}, out, err));
  out.close_write();
  err.close_write();

  std::vector<std::byte> buffer(kPiece);
  std::size_t filled = 0;
  std::uint64_t offset = 0;
  std::string message;
  Status failed;  // a read error or the sink's error
  auto flush = [&]() -> Status {
    if (filled == 0) return {};
    PDM_TRY(write(offset, std::span<const std::byte>(buffer.data(), filled)));
    offset += filled;
    filled = 0;
    return {};
  };
  while (failed.ok() && (out.read >= 0 || err.read >= 0)) {
    pollfd fds[2] = {{out.read, POLLIN, 0}, {err.read, POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      failed = make_error(errno, "poll: {}", std::strerror(errno));
      break;
    }
    if (out.read >= 0 && (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
      const ssize_t n = ::read(out.read, buffer.data() + filled, buffer.size() - filled);
      if (n > 0) {
        filled += static_cast<std::size_t>(n);
        if (filled == buffer.size()) failed = flush();
      } else if (n == 0) {
        out.close_read();
      } else if (errno != EINTR && errno != EAGAIN) {
        failed = make_error(errno, "reading from {}: {}", helper, std::strerror(errno));
      }
    }
    if (err.read >= 0 && (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
      char text[1024];
      const ssize_t n = ::read(err.read, text, sizeof text);
      if (n > 0) {
        if (message.size() < kMaxMessage) message.append(text, static_cast<std::size_t>(n));
      } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
        err.close_read();
      }
    }
  }
  if (!failed.ok()) {
    ::kill(pid, SIGKILL);
    wait_for(pid);
    return failed;
  }
  const int status = wait_for(pid);
  if (status != -1 && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
    const std::string how = WIFSIGNALED(status)
                                ? fmt::format("killed by signal {}", WTERMSIG(status))
                                : fmt::format("exit code {}", WEXITSTATUS(status));
    message = trimmed(std::move(message));
    return make_error(EIO, "{} {}: {}{}{}", helper, where, how, message.empty() ? "" : ": ",
                      message);
  }
  // status -1 (unknown: the host reaped the helper): the bytes stand on
  // their own, the caller checks them against the file's record.
  return flush();
}

std::unique_ptr<Archive> make_helper_archive(std::string id, std::string helper,
                                             std::string fs_config) {
  return std::make_unique<HelperArchive>(std::move(id), std::move(helper), std::move(fs_config));
}

}  // namespace pdm::hsm

#include "apps/cli/command.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <new>
#include <sstream>

#include <fmt/format.h>

#include "runtime/base/settings.h"
#include "runtime/base/size.h"
#include "runtime/mpi/collective.h"
#include "runtime/mpi/job_exit.h"

namespace pdm::cli {
namespace {

constexpr std::uint64_t kDefaultChunkSize = 64 * kMiB;

std::string &program_name_storage() {
  static std::string name = "pdm";
  return name;
}

std::string fs_help() {
  return "the file system: its config file, as 'pdm mkfs' wrote it (default: the PDM_FS "
         "environment variable)";
}

// Every option the parser knows: the command's, --help, --fs, the settings,
// and the hidden positional arguments.
po::options_description visible_options(const Command &command) {
  po::options_description options("Options");
  options.add_options()("help,h", "print this help and exit");
  if (command.uses_fs) {
    options.add_options()("fs", po::value<std::string>()->value_name("FS"), fs_help().c_str());
  }
  if (command.add_options) command.add_options(options);
  return options;
}

po::options_description setting_options() {
  po::options_description settings(
      "Runtime settings (flag > environment > [settings] of the fs config > default)");
  add_setting_flags(settings);
  return settings;
}

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

}  // namespace

const std::string &program_name() {
  return program_name_storage();
}
void set_program_name(std::string name) {
  program_name_storage() = std::move(name);
}

Result<CommandLine> parse_command_line(const Command &command, std::span<const std::string> args) {
  po::options_description all;
  all.add(visible_options(command)).add(setting_options());
  all.add_options()("args", po::value<std::vector<std::string>>());
  po::positional_options_description positional;
  positional.add("args", -1);

  CommandLine line;
  try {
    po::store(po::command_line_parser(std::vector<std::string>(args.begin(), args.end()))
                  .options(all)
                  .positional(positional)
                  .run(),
              line.options);
    po::notify(line.options);
  } catch (const po::error &e) {
    return make_error(EINVAL, "{}: {}: {}; see '{} {} --help'", program_name(), command.name,
                      e.what(), program_name(), command.name);
  }
  if (line.options.count("help")) {
    line.help = true;
    return line;
  }
  if (line.options.count("args")) line.args = line.options["args"].as<std::vector<std::string>>();

  const std::string usage =
      fmt::format("usage: {} {} [options] {}", program_name(), command.name, command.arguments);
  if (line.args.size() < command.min_args) {
    return make_error(EINVAL, "{}: {}: missing arguments; {}", program_name(), command.name, usage);
  }
  if (line.args.size() > command.max_args) {
    return make_error(EINVAL, "{}: {}: too many arguments ('{}' is one too many); {}",
                      program_name(), command.name, line.args[command.max_args], usage);
  }
  // A bad setting value is a usage error too: check the flags before anything runs.
  SettingSources flags_only;
  flags_only.command_line = &line.options;
  flags_only.environment = false;
  if (auto settings = resolve(flags_only); !settings.ok()) {
    return make_error(EINVAL, "{}: {}: {}", program_name(), command.name,
                      without_pdm_prefix(settings.error().message));
  }
  if (command.uses_fs) {
    if (line.options.count("fs")) {
      line.fs_config = line.options["fs"].as<std::string>();
    } else if (const char *env = std::getenv("PDM_FS"); env != nullptr && *env != '\0') {
      line.fs_config = env;
    }
    if (line.fs_config.empty()) {
      return make_error(EINVAL,
                        "{}: {}: no file system given: pass --fs FS or set PDM_FS to the config "
                        "file 'pdm mkfs' wrote",
                        program_name(), command.name);
    }
  }
  return line;
}

std::string help_text(const Command &command) {
  std::ostringstream out;
  out << "Usage: " << program_name() << " " << command.name << " [options] " << command.arguments
      << "\n\n"
      << command.description << "\n\n"
      << visible_options(command) << "\n"
      << setting_options() << "\n"
      << "Exit status: " << command.exit_status << ".\n";
  return out.str();
}

bool is_printing_rank() {
  return mpi::is_printing_rank();
}

std::string_view without_pdm_prefix(std::string_view message) {
  if (message.starts_with("pdm: ")) message.remove_prefix(5);
  return message;
}

std::string error_text(const Error &error, std::string_view thing) {
  std::string message = error.message;
  // Library messages meant for the top level already start with "pdm: ".
  const std::string own_prefix = program_name() + ": ";
  for (std::string_view prefix :
       {std::string_view(own_prefix), std::string_view("pdm: "), std::string_view("pdm ")}) {
    if (message.starts_with(prefix)) {
      message.erase(0, prefix.size());
      break;
    }
  }
  if (!thing.empty() && message.find(thing) == std::string::npos) {
    message = message.empty() ? std::string(thing) : fmt::format("{}: {}", thing, message);
  }
  const std::string cause = std::strerror(error.code);
  if (message.empty()) return fmt::format("{}: {}", program_name(), cause);
  if (lower(message).find(lower(cause)) == std::string::npos) {
    return fmt::format("{}: {} ({})", program_name(), message, cause);
  }
  return fmt::format("{}: {}", program_name(), message);
}

bool Invocation::flag(const char *name) const {
  const auto it = line_.options.find(name);
  return it != line_.options.end() && it->second.as<bool>();
}

int Invocation::fail(const Error &error, std::string_view thing) const {
  if (is_root()) fmt::print(stderr, "{}\n", error_text(error, thing));
  return kExitFailed;
}

int Invocation::with_mounted(const std::function<int(node::Node &)> &work) {
  auto node = node::Node::start(MPI_COMM_WORLD, line_.fs_config, &line_.options);
  if (!node.ok()) return fail(node.error());
  const int code = work(**node);
  if (auto stopped = (*node)->stop(); !stopped.ok()) {
    fail(stopped.error(), "unmount");
    return std::max(code, kExitFailed);
  }
  return code;
}

Result<int> share_from_root(const mpi::Comm &world, int value) {
  MPI_Request request = MPI_REQUEST_NULL;
  PDM_TRY(mpi::check(MPI_Ibcast(&value, 1, MPI_INT, 0, world.get(), &request), "MPI_Ibcast"));
  PDM_TRY(mpi::wait_request(request, "MPI_Ibcast"));
  return value;
}

Status share_from_root(const mpi::Comm &world, std::uint64_t &value) {
  MPI_Request request = MPI_REQUEST_NULL;
  PDM_TRY(mpi::check(MPI_Ibcast(&value, 1, MPI_UINT64_T, 0, world.get(), &request), "MPI_Ibcast"));
  return mpi::wait_request(request, "MPI_Ibcast");
}

Status share_from_root(const mpi::Comm &world, std::string &value) {
  std::uint64_t length = value.size();
  PDM_TRY(share_from_root(world, length));
  value.resize(length);
  MPI_Request request = MPI_REQUEST_NULL;
  PDM_TRY(mpi::check(
      MPI_Ibcast(value.data(), static_cast<int>(length), MPI_CHAR, 0, world.get(), &request),
      "MPI_Ibcast"));
  return mpi::wait_request(request, "MPI_Ibcast");
}

Result<std::vector<pfs::DirEntry>> list_directory(pfs::FileSystem &fs, const std::string &path) {
  constexpr std::size_t kBatch = 1024;
  std::vector<pfs::DirEntry> entries;
  std::string after;
  for (;;) {
    PDM_ASSIGN_OR_RETURN(auto batch, fs.readdir(path, after, kBatch));
    if (batch.empty()) break;
    after = batch.back().name;
    const bool last = batch.size() < kBatch;
    entries.insert(entries.end(), std::make_move_iterator(batch.begin()),
                   std::make_move_iterator(batch.end()));
    if (last) break;
  }
  return entries;
}

std::string join(std::string_view dir, std::string_view name) {
  if (dir.ends_with('/')) return fmt::format("{}{}", dir, name);
  return fmt::format("{}/{}", dir, name);
}

std::string base_name(std::string_view path) {
  while (path.size() > 1 && path.ends_with('/')) path.remove_suffix(1);
  if (path == "/") return "/";
  const std::size_t slash = path.rfind('/');
  return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

std::string mode_string(std::uint32_t mode) {
  std::string text = S_ISDIR(mode) ? "d" : S_ISREG(mode) ? "-" : "?";
  const char *letters = "rwxrwxrwx";
  for (int bit = 0; bit < 9; ++bit) {
    text += (mode & (0400u >> bit)) ? letters[bit] : '-';
  }
  // setuid, setgid and sticky show in the execute columns, as in ls.
  auto special = [&](std::size_t at, std::uint32_t flag, char with_x, char without_x) {
    if (mode & flag) text[at] = text[at] == '-' ? without_x : with_x;
  };
  special(3, S_ISUID, 's', 'S');
  special(6, S_ISGID, 's', 'S');
  special(9, S_ISVTX, 't', 'T');
  return text;
}

namespace {

std::tm local_tm(pfs::TimeNs time) {
  const auto seconds = static_cast<time_t>(time / 1'000'000'000 - (time % 1'000'000'000 < 0));
  std::tm tm{};
  ::localtime_r(&seconds, &tm);
  return tm;
}

}  // namespace

std::string short_time(pfs::TimeNs time) {
  const std::tm tm = local_tm(time);
  return fmt::format("{:04}-{:02}-{:02} {:02}:{:02}", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                     tm.tm_hour, tm.tm_min);
}

std::string iso_time(pfs::TimeNs time) {
  const std::tm tm = local_tm(time);
  const long offset_minutes = tm.tm_gmtoff / 60;
  const long nanoseconds =
      static_cast<long>(((time % 1'000'000'000) + 1'000'000'000) % 1'000'000'000);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:09}{}{:02}:{:02}", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, nanoseconds,
                     offset_minutes < 0 ? '-' : '+', std::labs(offset_minutes) / 60,
                     std::labs(offset_minutes) % 60);
}

mode_t with_umask(mode_t mode) {
  const mode_t mask = ::umask(0);
  ::umask(mask);
  return mode & ~mask;
}

Error system_error(int err, std::string_view what, std::string_view path) {
  return make_error(err, "{} {}: {}", what, path, std::strerror(err));
}

Result<LocalFile> LocalFile::open(const std::string &path, int flags, mode_t mode) {
  const int fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
  if (fd < 0) return system_error(errno, "cannot open", path);
  return LocalFile(fd, path);
}

LocalFile::~LocalFile() {
  if (fd_ >= 0) ::close(fd_);
}

Status LocalFile::read_exactly(std::span<std::byte> buffer, std::uint64_t offset) const {
  std::size_t done = 0;
  while (done < buffer.size()) {
    const ssize_t n =
        ::pread(fd_, buffer.data() + done, buffer.size() - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return system_error(errno, "cannot read", path_);
    if (n == 0) {
      return make_error(EIO, "{}: ends at byte {}, it shrank while being copied", path_,
                        offset + done);
    }
    done += static_cast<std::size_t>(n);
  }
  return {};
}

Status LocalFile::write_all(std::span<const std::byte> data, std::uint64_t offset) const {
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t n =
        ::pwrite(fd_, data.data() + done, data.size() - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return system_error(errno, "cannot write", path_);
    done += static_cast<std::size_t>(n);
  }
  return {};
}

Status LocalFile::close() {
  const int fd = std::exchange(fd_, -1);
  if (fd >= 0 && ::close(fd) != 0) return system_error(errno, "cannot close", path_);
  return {};
}

Result<PdmFile> PdmFile::open(pfs::FileSystem &fs, const std::string &path, int flags,
                              mode_t mode) {
  PDM_ASSIGN_OR_RETURN(const int fd, fs.open(path, flags, mode));
  return PdmFile(fs, fd, path);
}

PdmFile::~PdmFile() {
  if (fd_ >= 0) (void)fs_->close(fd_);
}

Status PdmFile::read_exactly(std::span<std::byte> buffer, std::uint64_t offset) const {
  std::size_t done = 0;
  while (done < buffer.size()) {
    PDM_ASSIGN_OR_RETURN(const std::size_t n, fs_->pread(fd_, buffer.subspan(done),
                                                         static_cast<std::int64_t>(offset + done)));
    if (n == 0) {
      return make_error(EIO, "{}: ends at byte {}, it shrank while being copied", path_,
                        offset + done);
    }
    done += n;
  }
  return {};
}

Status PdmFile::write_all(std::span<const std::byte> data, std::uint64_t offset) const {
  std::size_t done = 0;
  while (done < data.size()) {
    PDM_ASSIGN_OR_RETURN(
        const std::size_t n,
        fs_->pwrite(fd_, data.subspan(done), static_cast<std::int64_t>(offset + done)));
    if (n == 0)
      return make_error(EIO, "{}: a write of {} bytes wrote none", path_, data.size() - done);
    done += n;
  }
  return {};
}

Status PdmFile::close() {
  const int fd = std::exchange(fd_, -1);
  if (fd >= 0) return fs_->close(fd);
  return {};
}

std::uint64_t ChunkPlan::share_of(int rank, int ranks) const {
  std::uint64_t bytes = 0;
  for (std::uint64_t c = static_cast<std::uint64_t>(rank); c < count();
       c += static_cast<std::uint64_t>(ranks)) {
    bytes += std::min(chunk, size - c * chunk);
  }
  return bytes;
}

std::uint64_t chunk_size_for(std::uint64_t wanted, std::uint32_t stripe_size) {
  if (stripe_size == 0) return wanted;
  return std::max<std::uint64_t>(stripe_size, wanted / stripe_size * stripe_size);
}

void add_transfer_options(po::options_description &options) {
  options.add_options()("verbose,v", po::bool_switch(),
                        "print a summary line (bytes, seconds, MiB/s) on stderr when done")(
      "chunk-size", po::value<std::string>()->value_name("SIZE"),
      "bytes each rank copies at a time, rounded down to a multiple of the stripe size "
      "(default 64M; each rank buffers one chunk in memory)");
}

Result<std::uint64_t> wanted_chunk_size(const Invocation &invocation) {
  const auto it = invocation.options().find("chunk-size");
  if (it == invocation.options().end()) return kDefaultChunkSize;
  const std::string &text = it->second.as<std::string>();
  PDM_ASSIGN_OR_RETURN(const std::uint64_t size, parse_size(text));
  if (size == 0 || size > 4 * kGiB) {
    return make_error(EINVAL, "--chunk-size '{}' is outside 1..4 GiB", text);
  }
  return size;
}

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

Progress::Progress(const Invocation &invocation, std::string_view verb, std::uint64_t total,
                   std::uint64_t own_share)
    : enabled_(invocation.is_root() && ::isatty(STDERR_FILENO) == 1 && own_share > 0),
      verb_(verb),
      total_(total),
      own_share_(own_share) {}

void Progress::advance(std::uint64_t bytes) {
  if (!enabled_) return;
  done_ += bytes;
  const double now = now_seconds();
  if (now - last_print_ < 0.25 && done_ < own_share_) return;
  last_print_ = now;
  const auto estimate = static_cast<std::uint64_t>(
      static_cast<double>(done_) / static_cast<double>(own_share_) * static_cast<double>(total_));
  fmt::print(stderr, "\r{}: {} / {} ({}%)\033[K", verb_, format_size(estimate), format_size(total_),
             total_ == 0 ? 100 : estimate * 100 / total_);
  std::fflush(stderr);
}

void Progress::finish() {
  if (!enabled_ || last_print_ == 0) return;
  fmt::print(stderr, "\r\033[K");
  std::fflush(stderr);
}

namespace {

Status copy_chunks(const Invocation &invocation, const Transfer &transfer, Progress &progress,
                   const std::function<Result<TransferEnds>(const Transfer &)> &open_ends) {
  const ChunkPlan &plan = transfer.plan;
  if (plan.share_of(invocation.rank(), invocation.size()) == 0) return {};
  PDM_ASSIGN_OR_RETURN(TransferEnds ends, open_ends(transfer));
  const auto buffer_size = static_cast<std::size_t>(std::min(plan.chunk, plan.size));
  std::vector<std::byte> buffer;
  try {
    buffer.resize(buffer_size);
  } catch (const std::bad_alloc &) {
    // Failing here, before the collective that follows, keeps the ranks in step.
    return make_error(ENOMEM,
                      "rank {}: cannot allocate a chunk buffer of {}; use a smaller "
                      "--chunk-size",
                      invocation.rank(), format_size(buffer_size));
  }
  Status copied;
  for (auto c = static_cast<std::uint64_t>(invocation.rank()); c < plan.count() && copied.ok();
       c += static_cast<std::uint64_t>(invocation.size())) {
    const std::uint64_t offset = c * plan.chunk;
    const auto length = static_cast<std::size_t>(std::min(plan.chunk, plan.size - offset));
    const std::span<std::byte> piece(buffer.data(), length);
    copied = ends.read(piece, offset);
    if (copied.ok()) copied = ends.write(piece, offset);
    if (copied.ok()) progress.advance(length);
  }
  Status closed = ends.close();
  return copied.ok() ? closed : copied;
}

}  // namespace

int run_transfer(Invocation &invocation, std::string_view verb,
                 const std::function<Result<Transfer>()> &prepare,
                 const std::function<Result<TransferEnds>(const Transfer &)> &open_ends) {
  const mpi::Comm &world = invocation.world();
  const double start = now_seconds();
  Transfer transfer;
  Status prepared;
  if (invocation.is_root()) {
    auto made = prepare();
    if (made.ok()) {
      transfer = std::move(made).value();
    } else {
      prepared = std::move(made).error();
    }
  }
  if (auto agreed = mpi::agree(world, std::move(prepared)); !agreed.ok()) {
    return invocation.fail(agreed.error());
  }
  Status shared = share_from_root(world, transfer.from);
  if (shared.ok()) shared = share_from_root(world, transfer.to);
  if (shared.ok()) shared = share_from_root(world, transfer.plan.size);
  if (shared.ok()) shared = share_from_root(world, transfer.plan.chunk);
  if (!shared.ok()) return invocation.fail(shared.error());

  Progress progress(invocation, verb, transfer.plan.size,
                    transfer.plan.share_of(invocation.rank(), invocation.size()));
  Status copied = copy_chunks(invocation, transfer, progress, open_ends);
  progress.finish();
  // Also the barrier: rank 0 reports only once every rank has copied its chunks.
  if (auto agreed = mpi::agree(world, std::move(copied)); !agreed.ok()) {
    return invocation.fail(agreed.error());
  }
  if (invocation.is_root() && invocation.flag("verbose")) {
    print_transfer_summary(verb, transfer.from, transfer.to, transfer.plan.size,
                           now_seconds() - start);
  }
  return kExitOk;
}

void print_transfer_summary(std::string_view verb, std::string_view from, std::string_view to,
                            std::uint64_t bytes, double seconds) {
  const double rate = seconds > 0 ? static_cast<double>(bytes) / seconds / kMiB : 0.0;
  fmt::print(stderr, "{} {} -> {}: {} bytes in {:.2f} s ({:.1f} MiB/s)\n", verb, from, to, bytes,
             seconds, rate);
}

}  // namespace pdm::cli

// The pieces every subcommand of `pdm` and `pdm-hsm` shares: the Command description that
// drives its --help and its option parser, the Invocation a command runs
// with (arguments, MPI rank, the file system to use), mounting, error
// printing, and the collective helpers that keep every rank in step.
//
// Every rank runs the same command. Output comes from rank 0 only; the exit
// code is agreed across ranks (the highest wins) in main.cpp.
#pragma once

#include <mpi.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/program_options.hpp>

#include "runtime/base/result.h"
#include "runtime/mpi/comm.h"
#include "runtime/node/node.h"

namespace pdm::cli {

namespace po = boost::program_options;

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;  // the operation failed
inline constexpr int kExitUsage = 2;   // the command line was wrong (fsck: the check could not run)

inline constexpr std::size_t kAnyNumber = SIZE_MAX;

class Invocation;

// One subcommand. Its --help is built from these fields, so what --help
// says and what the parser accepts cannot drift apart.
struct Command {
  std::string name;
  std::string summary;      // one line, for `pdm --help`
  std::string arguments;    // the usage line after "pdm <name> [options] ": "LOCAL PATH"
  std::string description;  // paragraphs for `pdm <name> --help`
  std::string exit_status = "0 ok, 1 the operation failed, 2 usage error";
  std::size_t min_args = 0;
  std::size_t max_args = 0;  // kAnyNumber: no limit
  bool uses_fs = true;       // takes --fs FS, or the PDM_FS environment variable
  std::function<void(po::options_description &)> add_options;  // its own options; may be empty
  std::function<int(Invocation &)> run;
};

// The program whose subcommands these are ("pdm", "pdm-hsm"): usage lines,
// --help and error messages name it. Set once by main (program.h).
const std::string &program_name();
void set_program_name(std::string name);

struct CommandLine {
  po::variables_map options;
  std::vector<std::string> args;  // the positional arguments
  std::string fs_config;          // from --fs or PDM_FS, for commands that use one
  bool help = false;
};

// Parses the arguments after the subcommand's name. A usage error is EINVAL
// with a message naming the command and what is wrong; with --help the
// argument count and the file system are not checked.
Result<CommandLine> parse_command_line(const Command &command, std::span<const std::string> args);

// The full --help text of a command: usage, description, options, settings.
std::string help_text(const Command &command);

// Whether this process prints: rank 0 of MPI_COMM_WORLD once MPI is
// initialised; before that, the rank the launcher gives it (mpiexec and srun
// set it in the environment), so that a usage error is printed once.
bool is_printing_rank();

// The message of an error on stderr, starting with "pdm: " and ending with
// the cause as strerror says it (when the message does not already say it).
// `thing` (a path, say) is put first unless the message already names it.
std::string error_text(const Error &error, std::string_view thing = {});

// A library message without the "pdm: " that it starts with when it is
// meant to be printed as it is, for quoting it inside another message.
std::string_view without_pdm_prefix(std::string_view message);

class Invocation {
 public:
  Invocation(const Command &command, CommandLine line, const mpi::Comm &world)
      : command_(command), line_(std::move(line)), world_(world) {}

  const Command &command() const { return command_; }
  const std::vector<std::string> &args() const { return line_.args; }
  const po::variables_map &options() const { return line_.options; }
  // A po::bool_switch option.
  bool flag(const char *name) const;
  const std::string &fs_config() const { return line_.fs_config; }

  const mpi::Comm &world() const { return world_; }
  int rank() const { return world_.rank(); }
  int size() const { return world_.size(); }
  bool is_root() const { return world_.rank() == 0; }

  // Prints the error on rank 0 (see error_text) and returns kExitFailed.
  int fail(const Error &error, std::string_view thing = {}) const;

  // Collective: mounts the file system on every rank, runs work on every
  // rank (work decides who does what and returns this rank's exit code),
  // then unmounts. A failed mount is printed once and returns kExitFailed.
  int with_mounted(const std::function<int(node::Node &)> &work);

 private:
  const Command &command_;
  CommandLine line_;
  const mpi::Comm &world_;
};

// Collective: every rank gets rank 0's value (used by commands that rank 0
// runs alone, such as mkfs and fsck).
Result<int> share_from_root(const mpi::Comm &world, int value);
Status share_from_root(const mpi::Comm &world, std::string &value);
Status share_from_root(const mpi::Comm &world, std::uint64_t &value);

// The entries of a pdm directory, all of them, in name order.
Result<std::vector<pfs::DirEntry>> list_directory(pfs::FileSystem &fs, const std::string &path);

// "/a/b" + "c" -> "/a/b/c"; "/" + "c" -> "/c".
std::string join(std::string_view dir, std::string_view name);
// The last component: "/a/b/" -> "b", "/" -> "/".
std::string base_name(std::string_view path);

// "drwxr-xr-x", as ls -l writes a mode.
std::string mode_string(std::uint32_t mode);
// A time in the local time zone: "2024-05-01 12:00" (ls -l --time-style=long-iso).
std::string short_time(pfs::TimeNs time);
// A time in the local time zone in ISO 8601: "2024-05-01T12:00:00.123456789+02:00".
std::string iso_time(pfs::TimeNs time);

// A mode for a new file or directory: `mode` less the process umask, as
// open(2) and mkdir(2) would apply it (pdm does not apply a umask itself).
mode_t with_umask(mode_t mode);

// "<what> <path>: <strerror(err)>" as an Error with code err.
Error system_error(int err, std::string_view what, std::string_view path);

// A local file descriptor, closed on destruction.
class LocalFile {
 public:
  static Result<LocalFile> open(const std::string &path, int flags, mode_t mode = 0);
  LocalFile(LocalFile &&other) noexcept : fd_(std::exchange(other.fd_, -1)), path_(other.path_) {}
  LocalFile &operator=(LocalFile &&) = delete;
  ~LocalFile();
  int fd() const { return fd_; }
  const std::string &path() const { return path_; }
  // Reads exactly buffer.size() bytes at offset; EIO naming the file if it ends first.
  Status read_exactly(std::span<std::byte> buffer, std::uint64_t offset) const;
  Status write_all(std::span<const std::byte> data, std::uint64_t offset) const;
  Status close();

 private:
  LocalFile(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  int fd_ = -1;
  std::string path_;
};

// A file open in the pdm file system, closed on destruction.
class PdmFile {
 public:
  static Result<PdmFile> open(pfs::FileSystem &fs, const std::string &path, int flags,
                              mode_t mode = 0);
  PdmFile(PdmFile &&other) noexcept
      : fs_(other.fs_), fd_(std::exchange(other.fd_, -1)), path_(other.path_) {}
  PdmFile &operator=(PdmFile &&) = delete;
  ~PdmFile();
  int fd() const { return fd_; }
  // Reads exactly buffer.size() bytes at offset; EIO naming the file if it ends first.
  Status read_exactly(std::span<std::byte> buffer, std::uint64_t offset) const;
  Status write_all(std::span<const std::byte> data, std::uint64_t offset) const;
  Status close();

 private:
  PdmFile(pfs::FileSystem &fs, int fd, std::string path)
      : fs_(&fs), fd_(fd), path_(std::move(path)) {}
  pfs::FileSystem *fs_;
  int fd_ = -1;
  std::string path_;
};

// --- put and get: a file copied in chunks by all ranks ------------------

// The chunks of a transfer: rank r copies chunks r, r + ranks, r + 2*ranks...
struct ChunkPlan {
  std::uint64_t size = 0;   // bytes to copy
  std::uint64_t chunk = 0;  // bytes per chunk: a multiple of the stripe size
  std::uint64_t count() const { return chunk == 0 ? 0 : (size + chunk - 1) / chunk; }
  // The bytes rank `rank` of `ranks` copies.
  std::uint64_t share_of(int rank, int ranks) const;
};

// The chunk size: `wanted` rounded down to a multiple of stripe_size (at least one stripe).
std::uint64_t chunk_size_for(std::uint64_t wanted, std::uint32_t stripe_size);

// Adds --verbose and --chunk-size to put and get.
void add_transfer_options(po::options_description &options);
// The --chunk-size the user gave (or the default), checked.
Result<std::uint64_t> wanted_chunk_size(const Invocation &invocation);

// Progress on a terminal: "put: 1.2 GiB / 4.0 GiB (30%)", rewritten in place
// at most a few times a second; silent unless stderr is a terminal and this
// is rank 0. Rank 0 only sees its own chunks, so it scales its own progress
// to the whole (the ranks copy equal shares at about the same speed).
class Progress {
 public:
  Progress(const Invocation &invocation, std::string_view verb, std::uint64_t total,
           std::uint64_t own_share);
  void advance(std::uint64_t bytes);
  void finish();  // clears the line

 private:
  bool enabled_ = false;
  std::string verb_;
  std::uint64_t total_ = 0;
  std::uint64_t own_share_ = 0;
  std::uint64_t done_ = 0;
  double last_print_ = 0;
};

// What put or get copies, as rank 0 prepared it (the destination exists
// and has its final size).
struct Transfer {
  std::string from;  // as the summary line names them
  std::string to;
  ChunkPlan plan;
};

// The two ends of a transfer on one rank.
struct TransferEnds {
  std::function<Status(std::span<std::byte> buffer, std::uint64_t offset)> read;
  std::function<Status(std::span<const std::byte> data, std::uint64_t offset)> write;
  std::function<Status()> close;  // both ends; reports the first failure
};

// The ends of a transfer from `in` (anything with read_exactly and close) to
// `out` (anything with write_all and close): put and get differ only in which
// end is the pdm file and which the local one.
template <typename In, typename Out>
TransferEnds transfer_ends(In source, Out destination) {
  auto in = std::make_shared<In>(std::move(source));
  auto out = std::make_shared<Out>(std::move(destination));
  return TransferEnds{[in](std::span<std::byte> buffer, std::uint64_t offset) {
                        return in->read_exactly(buffer, offset);
                      },
                      [out](std::span<const std::byte> data, std::uint64_t offset) {
                        return out->write_all(data, offset);
                      },
                      [in, out]() -> Status {
                        Status closed_out = out->close();
                        Status closed_in = in->close();
                        return closed_out.ok() ? closed_in : closed_out;
                      }};
}

// Collective over the ranks of a mounted file system: rank 0 runs prepare,
// every rank learns its outcome and the plan; each rank with chunks opens
// its ends and copies its chunks through one chunk-sized buffer; all agree
// on the outcome, and rank 0 prints the error or, with --verbose, the summary.
int run_transfer(Invocation &invocation, std::string_view verb,
                 const std::function<Result<Transfer>()> &prepare,
                 const std::function<Result<TransferEnds>(const Transfer &)> &open_ends);

// The -v line of put and get: "put LOCAL -> PATH: N bytes in T s (X MiB/s)".
void print_transfer_summary(std::string_view verb, std::string_view from, std::string_view to,
                            std::uint64_t bytes, double seconds);

// Seconds on a monotonic clock, for timing and progress.
double now_seconds();

}  // namespace pdm::cli

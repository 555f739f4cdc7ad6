// The pieces every pdm-bench benchmark shares: the Benchmark description
// that drives its --help and option parser, the Context it runs with,
// phases timed between barriers, a scratch file system, statistics, a
// deterministic data pattern and the JSON report.
//
// Every rank runs the same benchmark. The report (one JSON object) is the
// only thing on stdout and comes from rank 0; progress and errors go to
// stderr. Benchmarks compare pdm against a baseline measured in the same
// run (DESIGN.md section 9).
#pragma once

#include <mpi.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <boost/program_options.hpp>
#include <nlohmann/json.hpp>

#include "runtime/base/result.h"
#include "runtime/mpi/comm.h"

namespace pdm::bench {

namespace po = boost::program_options;
using Json = nlohmann::ordered_json;

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;  // the benchmark could not run to the end
inline constexpr int kExitUsage = 2;   // the command line was wrong

class Context;

// One benchmark, `pdm-bench <name>`. Its --help is built from these fields,
// so what --help says and what the parser accepts cannot drift apart.
struct Benchmark {
  std::string name;
  std::string summary;      // one line, for `pdm-bench --help`
  std::string description;  // paragraphs, for `pdm-bench <name> --help`
  std::function<void(po::options_description &)> add_options;  // may be empty
  // Collective over every rank; returns this rank's exit code (main.cpp
  // makes every rank exit with the highest).
  std::function<int(Context &)> run;
  // The benchmark kills a rank (failover): the ranks do not agree on an exit
  // code at the end (a collective over the dead rank would hang), each
  // exits with its own, and MPI_Finalize is bounded (pdm_finalize).
  bool survives_a_kill = false;
};

// What a benchmark runs with: its parsed options and the ranks of the job.
class Context {
 public:
  Context(const Benchmark &benchmark, po::variables_map options, const mpi::Comm &world)
      : benchmark_(benchmark), options_(std::move(options)), world_(world) {}

  const Benchmark &benchmark() const { return benchmark_; }
  const po::variables_map &options() const { return options_; }
  const mpi::Comm &world() const { return world_; }
  int rank() const { return world_.rank(); }
  int size() const { return world_.size(); }
  bool is_root() const { return world_.rank() == 0; }

  // A size option ("4K", "1MiB"); EINVAL naming the option when it does not parse.
  Result<std::uint64_t> size_option(const char *name) const;

  // "pdm-bench <name>: <text>" on stderr, from rank 0 only.
  template <typename... Args>
  void progress(fmt::format_string<Args...> format, Args &&...args) const {
    if (is_root()) {
      fmt::print(stderr, "pdm-bench {}: {}\n", benchmark_.name,
                 fmt::format(format, std::forward<Args>(args)...));
    }
  }
  // Prints the error on rank 0 and returns kExitFailed.
  int fail(const Error &error) const;
  // Prints a usage error on rank 0 and returns kExitUsage.
  int usage_error(std::string_view text) const;

 private:
  const Benchmark &benchmark_;
  po::variables_map options_;
  const mpi::Comm &world_;
};

// --- timing --------------------------------------------------------------

// Collective: a barrier, then body on every rank, then a second barrier.
// Returns, on every rank, the seconds rank 0 measured with MPI_Wtime
// between the two barriers, or the error of the lowest failing rank. The
// barriers wait with backoff rather than spinning, so that a rank that is
// done does not take the CPU from the ranks (and progress threads) still at
// work when ranks outnumber cores.
Result<double> timed_phase(const mpi::Comm &comm, const std::function<Status()> &body);

// Collective: agree on the outcome of an untimed step (setup, cleanup).
Status all_ok(const mpi::Comm &comm, Status local);

// Records how long single operations take, in seconds.
class Latencies {
 public:
  // Runs op and records its duration.
  template <typename Op>
  auto time(Op &&op) {
    const double start = MPI_Wtime();
    auto result = op();
    samples_.push_back(MPI_Wtime() - start);
    return result;
  }
  const std::vector<double> &samples() const { return samples_; }

 private:
  std::vector<double> samples_;
};

// --- statistics ----------------------------------------------------------

double median(std::vector<double> values);
// The p-th percentile (0 < p <= 100) by the nearest-rank method.
double percentile(std::vector<double> values, double p);
// Collective: every rank's values, concatenated in rank order, on rank 0
// (empty on the other ranks).
Result<std::vector<double>> gather_to_root(const mpi::Comm &comm, const std::vector<double> &mine);
// {"p50": .., "p99": .., "max": ..} of latencies in seconds, given in microseconds.
Json latency_summary_us(const std::vector<double> &seconds);
// value rounded to `decimals` decimal places, for readable reports.
double rounded(double value, int decimals);
// bytes / seconds in MiB/s.
double mib_per_second(std::uint64_t bytes, double seconds);
// {"median": .., "runs": [..]} of the rates of several runs, rounded.
Json rates_json(const std::vector<double> &runs, int decimals);

// The 1-minute load average (-1 if unknown). Other work on the machine
// skews both sides of a comparison, so reports say how busy it was:
// load_json(before, after) is {"before": .., "after": ..}.
double load_average();
Json load_json(double before, double after);

// --- data ----------------------------------------------------------------

// Deterministic bytes: the content of stream `stream` at byte `offset`,
// different for every stream and every 8-byte word, so that a block read
// from the wrong file or the wrong offset is caught.
void fill_pattern(std::span<std::byte> out, std::uint64_t stream, std::uint64_t offset);
// The offset (within data) of the first byte that differs from the pattern.
std::optional<std::uint64_t> find_mismatch(std::span<const std::byte> data, std::uint64_t stream,
                                           std::uint64_t offset);

// Touches, then frees, `bytes` of anonymous memory. Virtual machines that
// give free memory back to the hypervisor (free page reporting, balloons)
// make the first touch of such a page cost far more than the copy into it,
// so a write phase would be fast or slow depending on whether the phase
// before it had just freed memory. Called before every write phase of both
// sides, it leaves that many backed free pages for the phase's page cache.
void warm_free_memory(std::uint64_t bytes);

// --- a scratch file system -----------------------------------------------

struct ScratchOptions {
  std::string parent;  // where to make the scratch directory; empty: $TMPDIR or /tmp
  std::uint32_t volumes = 4;
  std::uint64_t stripe_size = 1 << 20;
};

// A fresh pdm file system in a new directory <parent>/pdm-bench-XXXXXX,
// with volumes vol0..vol<V-1>, its config fs.conf and, beside them, a plain
// directory posix/ on the same disk for baselines; mounted on every rank.
// The parent must be a directory that every rank can reach.
class ScratchFs {
 public:
  // Collective: rank 0 makes it, every rank mounts it with pdm_start.
  static Result<std::unique_ptr<ScratchFs>> create(const mpi::Comm &comm,
                                                   const ScratchOptions &options);
  ScratchFs(const ScratchFs &) = delete;
  ScratchFs &operator=(const ScratchFs &) = delete;
  // Collective: unmounts (if close() did not) and removes the directory.
  ~ScratchFs();
  // Collective: pdm_stop, then rank 0 removes the directory.
  Status close();
  // After a rank died: close() synchronises over `survivors` instead, and
  // their rank 0 removes the directory.
  void survive_failure(const mpi::Comm &survivors) { cleanup_ = &survivors; }

  const std::string &root() const { return root_; }
  std::string config_path() const { return root_ + "/fs.conf"; }
  std::string posix_dir() const { return root_ + "/posix"; }

 private:
  ScratchFs(const mpi::Comm &comm, std::string root) : comm_(comm), root_(std::move(root)) {}
  const mpi::Comm &comm_;
  const mpi::Comm *cleanup_ = &comm_;  // who synchronises and cleans up in close()
  std::string root_;
  bool mounted_ = false;
};

// --- output --------------------------------------------------------------

// The report: one JSON object on stdout, from rank 0 only (print_report), or
// from the calling rank (print_json: the failover report comes from the
// lowest survivor).
void print_report(const Context &context, const Json &report);
void print_json(const Json &report);

// Collective, what every benchmark's run does around its measurements:
// makes and mounts a scratch file system, runs `measure` (which returns
// the report), unmounts and removes it, prints the report. Returns the
// exit code; an error is printed once.
int run_on_scratch(Context &context, const ScratchOptions &options,
                   const std::function<Result<Json>(const ScratchFs &)> &measure);

}  // namespace pdm::bench

// pdm-bench: the benchmarks of pdm, run under mpiexec. `pdm-bench NAME
// [options]` runs one benchmark on every rank; rank 0 prints its report,
// one JSON object, on stdout (see bench_common.h).
#include <mpi.h>

#include <algorithm>
#include <cstdlib>
#include <exception>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include <pdm/pdm.h>
#include "apps/bench/bench_common.h"
#include "runtime/mpi/collective.h"
#include "runtime/mpi/job_exit.h"

// The benchmarks, in the order `pdm-bench --help` lists them. Adding one is
// adding its file, bench_<name>.cpp, which defines
// `Benchmark <name>_benchmark()`, and one row here.
#define PDM_BENCHMARKS(X) X(io) X(events) X(mpiio) X(hsm) X(failover)

namespace pdm::bench {

#define PDM_DECLARE_BENCHMARK_(name) Benchmark name##_benchmark();
PDM_BENCHMARKS(PDM_DECLARE_BENCHMARK_)
#undef PDM_DECLARE_BENCHMARK_

namespace {

std::vector<Benchmark> benchmarks() {
#define PDM_MAKE_BENCHMARK_(name) name##_benchmark(),
  return {PDM_BENCHMARKS(PDM_MAKE_BENCHMARK_)};
#undef PDM_MAKE_BENCHMARK_
}

std::string top_help(const std::vector<Benchmark> &all) {
  std::string text =
      "Usage: mpiexec -n N pdm-bench BENCHMARK [options]\n"
      "       pdm-bench --help | BENCHMARK --help\n"
      "\n"
      "The benchmarks of pdm. Each one makes what it needs (a scratch file system, say),\n"
      "measures pdm against a baseline taken in the same run on the same machine, prints\n"
      "one JSON object on stdout from rank 0, and removes what it made. Progress and\n"
      "errors go to stderr. Run under mpiexec: every rank takes part.\n"
      "\n"
      "Benchmarks:\n";
  for (const Benchmark &benchmark : all) {
    text += fmt::format("  {:<10}{}\n", benchmark.name, benchmark.summary);
  }
  text +=
      "\n"
      "Runtime settings of pdm come from the PDM_* environment variables (see\n"
      "'pdm mkfs --help'), e.g. PDM_IO_MAX_REQUEST=4M.\n"
      "\n"
      "Exit status: 0 ok, 1 the benchmark failed, 2 usage error.\n";
  return text;
}

po::options_description options_of(const Benchmark &benchmark) {
  po::options_description options("Options");
  options.add_options()("help,h", "print this help and exit");
  if (benchmark.add_options) benchmark.add_options(options);
  return options;
}

std::string benchmark_help(const Benchmark &benchmark) {
  std::ostringstream options;
  options << options_of(benchmark);
  return fmt::format(
      "Usage: mpiexec -n N pdm-bench {} [options]\n"
      "\n"
      "{}\n"
      "{}\n"
      "Exit status: 0 ok, 1 the benchmark failed, 2 usage error.\n",
      benchmark.name, benchmark.description, options.str());
}

// Parses the options after the benchmark's name; EINVAL naming what is wrong.
Result<po::variables_map> parse_options(const Benchmark &benchmark,
                                        const std::vector<std::string> &args) {
  po::variables_map options;
  try {
    po::store(po::command_line_parser(args).options(options_of(benchmark)).run(), options);
    po::notify(options);
  } catch (const po::error &e) {
    return make_error(EINVAL, "pdm-bench {}: {}; see 'pdm-bench {} --help'", benchmark.name,
                      e.what(), benchmark.name);
  }
  return options;
}

int run_with_mpi(const Benchmark &benchmark, po::variables_map options, int &argc, char **&argv) {
  int provided = 0;
  if (MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided) != MPI_SUCCESS) {
    fmt::print(stderr, "pdm-bench: MPI_Init_thread failed\n");
    return kExitFailed;
  }
  int code = kExitOk;
  {
    auto world = mpi::Comm::dup(MPI_COMM_WORLD);
    if (!world.ok()) {
      if (mpi::is_printing_rank()) fmt::print(stderr, "pdm-bench: {}\n", world.error().message);
      code = kExitFailed;
    } else {
      Context context(benchmark, std::move(options), *world);
      try {
        code = benchmark.run(context);
      } catch (const std::exception &e) {
        // Only allocation failures and library bugs get here.
        fmt::print(stderr, "pdm-bench {}: rank {}: internal error: {}\n", benchmark.name,
                   context.rank(), e.what());
        code = kExitFailed;
      }
      if (benchmark.survives_a_kill) {
        // The world holds a dead rank: neither agree nor free it (a
        // collective, and MPI_Comm_free, would hang; docs/FAILURES.md §1).
        world->release();
        return pdm_finalize(code) == MPI_SUCCESS ? code : kExitFailed;
      }
      code = mpi::agree_exit_code(*world, code, kExitFailed);
    }
  }
  MPI_Finalize();
  return code;
}

int run(int argc, char **argv) {
  const std::vector<Benchmark> all = benchmarks();
  const std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {
    if (mpi::is_printing_rank()) fmt::print(stderr, "{}", top_help(all));
    return kExitUsage;
  }
  const std::string &first = args.front();
  if (first == "--help" || first == "-h" || first == "help") {
    if (mpi::is_printing_rank()) fmt::print("{}", top_help(all));
    return kExitOk;
  }
  const auto benchmark =
      std::find_if(all.begin(), all.end(), [&](const Benchmark &b) { return b.name == first; });
  if (benchmark == all.end()) {
    if (mpi::is_printing_rank()) {
      fmt::print(stderr, "pdm-bench: '{}' is not a benchmark; see 'pdm-bench --help'\n", first);
    }
    return kExitUsage;
  }
  // Parsed before MPI starts, so that --help and usage errors need no launcher.
  auto options = parse_options(*benchmark, std::vector<std::string>(args.begin() + 1, args.end()));
  if (!options.ok()) {
    if (mpi::is_printing_rank()) fmt::print(stderr, "{}\n", options.error().message);
    return kExitUsage;
  }
  if (options->count("help")) {
    if (mpi::is_printing_rank()) fmt::print("{}", benchmark_help(*benchmark));
    return kExitOk;
  }
  return run_with_mpi(*benchmark, std::move(options).value(), argc, argv);
}

}  // namespace
}  // namespace pdm::bench

int main(int argc, char **argv) {
  return pdm::bench::run(argc, argv);
}

#include "apps/bench/bench_common.h"

#include <pdm/pdm.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <limits>

#include "pfs/config/mkfs.h"
#include "runtime/base/size.h"
#include "runtime/mpi/collective.h"

namespace pdm::bench {

Result<std::uint64_t> Context::size_option(const char *name) const {
  const auto &text = options_[name].as<std::string>();
  auto size = parse_size(text);
  if (!size.ok()) {
    return make_error(EINVAL, "--{} {}: {}", name, text, size.error().message);
  }
  return size;
}

int Context::fail(const Error &error) const {
  if (!is_root()) return kExitFailed;
  const std::string_view cause = std::strerror(error.code);
  if (error.message.find(cause) == std::string::npos) {
    fmt::print(stderr, "pdm-bench {}: {} ({})\n", benchmark_.name, error.message, cause);
  } else {
    fmt::print(stderr, "pdm-bench {}: {}\n", benchmark_.name, error.message);
  }
  return kExitFailed;
}

int Context::usage_error(std::string_view text) const {
  if (is_root()) {
    fmt::print(stderr, "pdm-bench {}: {}; see 'pdm-bench {} --help'\n", benchmark_.name, text,
               benchmark_.name);
  }
  return kExitUsage;
}

Status all_ok(const mpi::Comm &comm, Status local) {
  return mpi::agree(comm, std::move(local));
}

Result<double> timed_phase(const mpi::Comm &comm, const std::function<Status()> &body) {
  PDM_TRY(mpi::barrier(comm));
  const double start = MPI_Wtime();
  Status status = body();
  PDM_TRY(mpi::barrier(comm));
  double seconds = MPI_Wtime() - start;
  PDM_TRY(mpi::agree(comm, std::move(status)));
  // Every rank reports rank 0's clock: the ranks' clocks need not agree.
  PDM_TRY(mpi::check(MPI_Bcast(&seconds, 1, MPI_DOUBLE, 0, comm.get()), "MPI_Bcast"));
  return seconds;
}

double median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const std::size_t mid = values.size() / 2;
  return values.size() % 2 == 1 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
}

double percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * values.size()));
  return values[std::clamp<std::size_t>(rank, 1, values.size()) - 1];
}

Result<std::vector<double>> gather_to_root(const mpi::Comm &comm, const std::vector<double> &mine) {
  int count = static_cast<int>(mine.size());
  std::vector<int> counts(comm.rank() == 0 ? comm.size() : 0);
  PDM_TRY(mpi::check(MPI_Gather(&count, 1, MPI_INT, counts.data(), 1, MPI_INT, 0, comm.get()),
                     "MPI_Gather"));
  std::vector<int> displacements(counts.size());
  std::vector<double> all;
  if (comm.rank() == 0) {
    int total = 0;
    for (std::size_t i = 0; i < counts.size(); ++i) {
      displacements[i] = total;
      total += counts[i];
    }
    all.resize(static_cast<std::size_t>(total));
  }
  PDM_TRY(mpi::check(MPI_Gatherv(mine.data(), count, MPI_DOUBLE, all.data(), counts.data(),
                                 displacements.data(), MPI_DOUBLE, 0, comm.get()),
                     "MPI_Gatherv"));
  return all;
}

double rounded(double value, int decimals) {
  const double scale = std::pow(10.0, decimals);
  return std::round(value * scale) / scale;
}

double mib_per_second(std::uint64_t bytes, double seconds) {
  return seconds > 0 ? static_cast<double>(bytes) / static_cast<double>(kMiB) / seconds : 0;
}

Json rates_json(const std::vector<double> &runs, int decimals) {
  Json all = Json::array();
  for (double rate : runs) all.push_back(rounded(rate, decimals));
  return Json{{"median", rounded(median(runs), decimals)}, {"runs", std::move(all)}};
}

double load_average() {
  double load[1] = {};
  return ::getloadavg(load, 1) == 1 ? load[0] : -1;
}

Json load_json(double before, double after) {
  return Json{{"before", rounded(before, 2)}, {"after", rounded(after, 2)}};
}

Json latency_summary_us(const std::vector<double> &seconds) {
  Json out;
  out["p50"] = rounded(percentile(seconds, 50) * 1e6, 1);
  out["p99"] = rounded(percentile(seconds, 99) * 1e6, 1);
  out["max"] =
      rounded(seconds.empty() ? 0 : *std::max_element(seconds.begin(), seconds.end()) * 1e6, 1);
  return out;
}

namespace {

// splitmix64's finaliser: a cheap bijection that scatters neighbouring inputs.
std::uint64_t mix(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

}  // namespace

// Words are stored little-endian whatever the host, so that the bytes of a
// stream do not depend on the machine that wrote them.
void fill_pattern(std::span<std::byte> out, std::uint64_t stream, std::uint64_t offset) {
  const std::uint64_t key = mix(stream);
  std::size_t i = 0;
  while (i < out.size()) {
    const std::uint64_t position = offset + i;
    const std::uint64_t word = mix((position / 8) ^ key);
    const std::size_t skip = position % 8;
    if (skip == 0 && out.size() - i >= 8) {
      std::uint64_t little = word;
      if constexpr (std::endian::native == std::endian::big) little = __builtin_bswap64(little);
      std::memcpy(out.data() + i, &little, 8);
      i += 8;
      continue;
    }
    for (std::size_t b = skip; b < 8 && i < out.size(); ++b, ++i) {
      out[i] = static_cast<std::byte>(word >> (8 * b));
    }
  }
}

std::optional<std::uint64_t> find_mismatch(std::span<const std::byte> data, std::uint64_t stream,
                                           std::uint64_t offset) {
  // Compares block by block against a generated copy, then finds the byte.
  constexpr std::size_t kBlock = 64 * 1024;
  std::vector<std::byte> expected(std::min(kBlock, data.size()));
  for (std::size_t done = 0; done < data.size(); done += kBlock) {
    const std::size_t n = std::min(kBlock, data.size() - done);
    auto want = std::span(expected).first(n);
    fill_pattern(want, stream, offset + done);
    if (std::memcmp(data.data() + done, want.data(), n) == 0) continue;
    for (std::size_t i = 0; i < n; ++i) {
      if (data[done + i] != want[i]) return done + i;
    }
  }
  return std::nullopt;
}

void warm_free_memory(std::uint64_t bytes) {
  if (bytes == 0) return;
  void *memory = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (memory == MAP_FAILED) return;  // only a warm-up: the phase runs all the same
  auto *bytes_of = static_cast<volatile unsigned char *>(memory);
  for (std::uint64_t at = 0; at < bytes; at += 4096) bytes_of[at] = 1;
  ::munmap(memory, bytes);
}

namespace {

// Rank 0's part of ScratchFs::create: the directory, the file system, posix/.
Result<std::string> make_scratch(const ScratchOptions &options) {
  std::error_code ec;
  const std::string parent =
      options.parent.empty() ? std::filesystem::temp_directory_path(ec).string() : options.parent;
  if (ec) return make_error(ec.value(), "no temporary directory: {}", ec.message());
  std::string root = parent + "/pdm-bench-XXXXXX";
  if (::mkdtemp(root.data()) == nullptr) {
    return make_error(errno, "cannot make a scratch directory in {}: {}", parent,
                      std::strerror(errno));
  }
  pfs::MkfsOptions mkfs;
  mkfs.config_path = root + "/fs.conf";
  for (std::uint32_t v = 0; v < options.volumes; ++v) {
    mkfs.volumes.push_back(fmt::format("{}/vol{}", root, v));
  }
  mkfs.stripe_size = static_cast<std::uint32_t>(
      std::min<std::uint64_t>(options.stripe_size, std::numeric_limits<std::uint32_t>::max()));
  Status made;
  if (options.stripe_size != mkfs.stripe_size) {
    made = make_error(EINVAL, "stripe size {} is too large", options.stripe_size);
  } else if (auto fs = pfs::make_file_system(mkfs); !fs.ok()) {
    made = std::move(fs).error();
  } else if (::mkdir((root + "/posix").c_str(), 0700) != 0) {
    made = make_error(errno, "cannot make {}/posix: {}", root, std::strerror(errno));
  }
  if (!made.ok()) {
    std::filesystem::remove_all(root, ec);
    return std::move(made).error();
  }
  return root;
}

}  // namespace

Result<std::unique_ptr<ScratchFs>> ScratchFs::create(const mpi::Comm &comm,
                                                     const ScratchOptions &options) {
  std::string root;
  Status made;
  if (comm.rank() == 0) {
    if (auto scratch = make_scratch(options); scratch.ok()) {
      root = std::move(scratch).value();
    } else {
      made = std::move(scratch).error();
    }
  }
  PDM_TRY(mpi::agree(comm, std::move(made)));
  int length = static_cast<int>(root.size());
  PDM_TRY(mpi::check(MPI_Bcast(&length, 1, MPI_INT, 0, comm.get()), "MPI_Bcast"));
  root.resize(static_cast<std::size_t>(length));
  PDM_TRY(mpi::check(MPI_Bcast(root.data(), length, MPI_CHAR, 0, comm.get()), "MPI_Bcast"));

  std::unique_ptr<ScratchFs> scratch(new ScratchFs(comm, root));
  // pdm_start is collective and fails on every rank or on none.
  if (pdm_start(comm.get(), scratch->config_path().c_str()) != 0) {
    return make_error(errno, "cannot mount {}: {}", scratch->config_path(), pdm_last_error());
  }
  scratch->mounted_ = true;
  return scratch;
}

Status ScratchFs::close() {
  Status status;
  if (mounted_) {
    mounted_ = false;
    if (pdm_stop() != 0) {
      status = make_error(errno, "cannot unmount {}: {}", config_path(), pdm_last_error());
    }
  }
  if (root_.empty()) return status;
  if (auto synced = mpi::barrier(*cleanup_); !synced.ok() && status.ok()) status = synced;
  if (cleanup_->rank() == 0) {
    std::error_code ec;
    std::filesystem::remove_all(root_, ec);
    if (ec && status.ok()) {
      status = make_error(ec.value(), "cannot remove {}: {}", root_, ec.message());
    }
  }
  root_.clear();
  return status;
}

ScratchFs::~ScratchFs() {
  (void)close();
}

void print_json(const Json &report) {
  std::fputs(report.dump(2).c_str(), stdout);
  std::fputc('\n', stdout);
  std::fflush(stdout);
}

void print_report(const Context &context, const Json &report) {
  if (context.is_root()) print_json(report);
}

int run_on_scratch(Context &context, const ScratchOptions &options,
                   const std::function<Result<Json>(const ScratchFs &)> &measure) {
  auto scratch = ScratchFs::create(context.world(), options);
  if (!scratch.ok()) return context.fail(scratch.error());
  context.progress("scratch file system in {}", (*scratch)->root());
  auto report = measure(**scratch);
  if (!report.ok()) return context.fail(report.error());
  if (auto closed = (*scratch)->close(); !closed.ok()) return context.fail(closed.error());
  print_report(context, *report);
  return kExitOk;
}

}  // namespace pdm::bench

// pdm-bench io: the bandwidth of large transfers to one shared striped file
// and the rate of small-file operations, pdm against plain POSIX calls on
// the same disk in the same run.
//
// Both sides run the same code through a Backend (a table of the calls),
// so the only difference between them is what is behind the calls.
#include <fcntl.h>
#include <pdm/pdm.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <map>
#include <thread>

#include "apps/bench/bench_common.h"
#include "runtime/base/size.h"

namespace pdm::bench {
namespace {

// The issue's target: large transfers at no less than 0.8x POSIX.
constexpr double kLargeRatioMin = 0.8;
// Memory warmed before a write phase beyond the bytes it writes: room for
// the metadata and message buffers that come with them.
constexpr std::uint64_t kWarmSlack = 64 * kMiB;

struct IoParams {
  std::string dir;
  std::uint64_t size = 0;      // bytes of the large file, all ranks together
  std::uint64_t transfer = 0;  // bytes per pwrite/pread of the large file
  std::uint64_t files = 0;     // small files per rank
  std::uint64_t small_size = 0;
  std::uint64_t stripe_size = 0;
  std::uint32_t volumes = 0;
  int repeat = 0;
  bool fsync = false;
  bool lazy_size = false;  // pdm files written with pdm_set_lazy_size
  bool large = true;       // run the large-file phases
  bool small = true;       // run the small-file phases
};

// The calls of one side of the comparison. `root` is the directory the runs
// go into: "" for pdm (paths are absolute in the file system), the plain
// directory for POSIX.
struct Backend {
  std::string name;
  std::string root;
  int (*open)(const char *path, int flags, mode_t mode);
  int (*close)(int fd);
  ssize_t (*pread)(int fd, void *buffer, size_t count, off_t offset);
  ssize_t (*pwrite)(int fd, const void *data, size_t count, off_t offset);
  int (*fsync)(int fd);
  int (*stat)(const char *path, struct stat *st);
  int (*unlink)(const char *path);
  int (*mkdir)(const char *path, mode_t mode);
  int (*rmdir)(const char *path);
  std::string (*why)(int err);  // the reason of the last failure
};

// pdm_open, then a lazy size for a file opened for writing (--lazy-size).
int pdm_open_lazy(const char *path, int flags, mode_t mode) {
  const int fd = pdm_open(path, flags, mode);
  if (fd < 0 || (flags & O_ACCMODE) == O_RDONLY) return fd;
  if (pdm_set_lazy_size(fd, 1) != 0) {
    const int err = errno;
    pdm_close(fd);
    errno = err;
    return -1;
  }
  return fd;
}

Backend pdm_backend(bool lazy_size) {
  return Backend{
      "pdm",
      "",
      lazy_size ? pdm_open_lazy : pdm_open,
      pdm_close,
      pdm_pread,
      pdm_pwrite,
      pdm_fsync,
      pdm_stat,
      pdm_unlink,
      pdm_mkdir,
      pdm_rmdir,
      [](int err) { return fmt::format("{} ({})", pdm_last_error(), std::strerror(err)); },
  };
}

Backend posix_backend(const std::string &dir) {
  return Backend{
      "posix",
      dir,
      [](const char *path, int flags, mode_t mode) { return ::open(path, flags, mode); },
      [](int fd) { return ::close(fd); },
      [](int fd, void *buffer, size_t count, off_t offset) {
        return ::pread(fd, buffer, count, offset);
      },
      [](int fd, const void *data, size_t count, off_t offset) {
        return ::pwrite(fd, data, count, offset);
      },
      [](int fd) { return ::fsync(fd); },
      [](const char *path, struct stat *st) { return ::stat(path, st); },
      [](const char *path) { return ::unlink(path); },
      [](const char *path, mode_t mode) { return ::mkdir(path, mode); },
      [](const char *path) { return ::rmdir(path); },
      [](int err) { return std::string(std::strerror(err)); },
  };
}

Error failure(const Backend &backend, std::string_view call, std::string_view path) {
  const int err = errno;
  return Error{err, fmt::format("{} {} {}: {}", backend.name, call, path, backend.why(err))};
}

Status write_all(const Backend &b, int fd, std::span<const std::byte> data, std::uint64_t offset,
                 const std::string &path) {
  while (!data.empty()) {
    const ssize_t n = b.pwrite(fd, data.data(), data.size(), static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return failure(b, "pwrite", path);
    data = data.subspan(static_cast<std::size_t>(n));
    offset += static_cast<std::uint64_t>(n);
  }
  return {};
}

Status read_exactly(const Backend &b, int fd, std::span<std::byte> buffer, std::uint64_t offset,
                    const std::string &path) {
  while (!buffer.empty()) {
    const ssize_t n = b.pread(fd, buffer.data(), buffer.size(), static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return failure(b, "pread", path);
    if (n == 0) return make_error(EIO, "{} pread {}: the file ends at {}", b.name, path, offset);
    buffer = buffer.subspan(static_cast<std::size_t>(n));
    offset += static_cast<std::uint64_t>(n);
  }
  return {};
}

Status close_file(const Backend &b, int fd, const std::string &path) {
  if (b.close(fd) != 0) return failure(b, "close", path);
  return {};
}

Status check_pattern(std::span<const std::byte> data, std::uint64_t stream, std::uint64_t offset,
                     const std::string &what) {
  if (auto bad = find_mismatch(data, stream, offset)) {
    return make_error(EIO, "{}: the byte at offset {} is not the one written", what, offset + *bad);
  }
  return {};
}

// Which transfers of the large file a rank writes: a contiguous segment.
struct Segment {
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
};

Segment segment_of(const IoParams &p, int rank, int ranks) {
  const std::uint64_t transfers = p.size / p.transfer;
  const std::uint64_t first = transfers * static_cast<std::uint64_t>(rank) / ranks;
  const std::uint64_t end = transfers * static_cast<std::uint64_t>(rank + 1) / ranks;
  return Segment{first * p.transfer, (end - first) * p.transfer};
}

class IoBenchmark {
 public:
  IoBenchmark(Context &context, const IoParams &params, const ScratchFs &scratch)
      : context_(context),
        comm_(context.world()),
        p_(params),
        backends_{pdm_backend(params.lazy_size), posix_backend(scratch.posix_dir())} {
    // Allocated once: a buffer allocated per run would free and fault
    // memory between runs, which is what warm_free_memory controls.
    std::uint64_t largest = 0;
    for (int r = 0; r < context.size(); ++r) {
      largest = std::max(largest, segment_of(p_, r, context.size()).length);
    }
    if (p_.large) {
      large_data_.resize(largest);
      large_got_.resize(largest);
    }
    if (p_.small) {
      small_data_.resize(p_.files * p_.small_size);
      small_got_.resize(p_.files * p_.small_size);
    }
  }

  Status run() {
    load_before_ = load_average();
    for (int rep = 0; rep < p_.repeat; ++rep) {
      // Alternate which side goes first (ABBA...) so that drift over the
      // run (page cache filling, writeback starting) does not favour one.
      const std::array<std::size_t, 2> order =
          rep % 2 == 0 ? std::array<std::size_t, 2>{0, 1} : std::array<std::size_t, 2>{1, 0};
      if (p_.large) {
        for (std::size_t b : order) PDM_TRY(large_run(rep, b));
      }
      if (p_.small) {
        for (std::size_t b : order) PDM_TRY(small_run(rep, b));
      }
    }
    load_after_ = load_average();
    return {};
  }

  Result<Json> report() {
    Json out;
    out["benchmark"] = "io";
    out["ranks"] = context_.size();
    out["cores"] = std::thread::hardware_concurrency();
    out["volumes"] = p_.volumes;
    out["stripe_size"] = p_.stripe_size;
    out["repeat"] = p_.repeat;
    out["fsync"] = p_.fsync;
    out["lazy_size"] = p_.lazy_size;
    // Other work on the machine skews both sides: the report says how busy it was.
    out["load_average_1min"] = load_json(load_before_, load_after_);
    out["page_cache"] = "warm: caches are not dropped, both sides read back what was just written";
    Json met = nullptr;  // unknown when the large phases were not run
    if (p_.large) {
      PDM_ASSIGN_OR_RETURN(Json large, large_report());
      met = large["write_ratio"].get<double>() >= kLargeRatioMin &&
            large["read_ratio"].get<double>() >= kLargeRatioMin;
      out["large"] = std::move(large);
    }
    if (p_.small) {
      PDM_ASSIGN_OR_RETURN(out["small"], small_report());
    }
    out["target"] = Json{{"large_ratio_min", kLargeRatioMin}, {"met", std::move(met)}};
    return out;
  }

 private:
  // A distinct pattern stream for every file of every run, so that a read
  // can only pass verification with the bytes of this very run.
  static std::uint64_t run_id(int rep, std::size_t backend) {
    return static_cast<std::uint64_t>(rep) * 2 + backend;
  }
  std::uint64_t small_stream(int rep, std::size_t backend, int rank) const {
    return ((run_id(rep, backend) + 1) << 32) | static_cast<std::uint64_t>(rank);
  }
  std::string large_path(const Backend &b, int rep) const {
    return fmt::format("{}/run{}-large", b.root, rep);
  }
  std::string small_dir(const Backend &b, int rep) const {
    return fmt::format("{}/run{}-small", b.root, rep);
  }
  std::string rank_dir(const Backend &b, int rep, int rank) const {
    return fmt::format("{}/r{}", small_dir(b, rep), rank);
  }
  double large_mib() const { return static_cast<double>(p_.size) / static_cast<double>(kMiB); }
  double small_files() const { return static_cast<double>(p_.files) * context_.size(); }
  int neighbour() const { return (context_.rank() + 1) % context_.size(); }

  // Times one phase; records and reports its seconds.
  Status phase(const Backend &b, int rep, std::string_view what, double amount,
               std::string_view unit, const std::function<Status()> &body) {
    PDM_ASSIGN_OR_RETURN(double seconds, timed_phase(comm_, body));
    seconds_[fmt::format("{}_{}", b.name, what)].push_back(seconds);
    const double rate = amount / seconds;
    context_.progress("run {}/{}: {:<5} {:<12} {:>10.1f} {} ({:.3f} s)", rep + 1, p_.repeat, b.name,
                      what, rate, unit, seconds);
    return {};
  }

  Latencies &latencies(const Backend &b, std::string_view what) {
    return latencies_[fmt::format("{}_{}", b.name, what)];
  }

  // Every rank writes its own contiguous segment of one shared file, then
  // reads back the segment its neighbour wrote.
  Status large_run(int rep, std::size_t index) {
    const Backend &b = backends_[index];
    const std::string path = large_path(b, rep);
    const std::uint64_t stream = run_id(rep, index);
    const Segment mine = segment_of(p_, context_.rank(), context_.size());
    const Segment theirs = segment_of(p_, neighbour(), context_.size());
    auto data = std::span(large_data_).first(mine.length);
    fill_pattern(data, stream, mine.offset);
    auto got = std::span(large_got_).first(theirs.length);
    std::fill(got.begin(), got.end(), std::byte{0});
    warm_free_memory(mine.length + kWarmSlack);

    Latencies &write_latency = latencies(b, "large_write");
    PDM_TRY(phase(b, rep, "large_write", large_mib(), "MiB/s", [&]() -> Status {
      const int fd = b.open(path.c_str(), O_WRONLY | O_CREAT, 0644);
      if (fd < 0) return failure(b, "open", path);
      Status status;
      for (std::uint64_t done = 0; done < mine.length && status.ok(); done += p_.transfer) {
        status = write_latency.time([&] {
          return write_all(b, fd, std::span<const std::byte>(data.subspan(done, p_.transfer)),
                           mine.offset + done, path);
        });
      }
      if (status.ok() && p_.fsync && b.fsync(fd) != 0) status = failure(b, "fsync", path);
      Status closed = close_file(b, fd, path);
      return status.ok() ? closed : status;
    }));

    Latencies &read_latency = latencies(b, "large_read");
    PDM_TRY(phase(b, rep, "large_read", large_mib(), "MiB/s", [&]() -> Status {
      const int fd = b.open(path.c_str(), O_RDONLY, 0);
      if (fd < 0) return failure(b, "open", path);
      Status status;
      for (std::uint64_t done = 0; done < theirs.length && status.ok(); done += p_.transfer) {
        status = read_latency.time([&] {
          return read_exactly(b, fd, got.subspan(done, p_.transfer), theirs.offset + done, path);
        });
      }
      Status closed = close_file(b, fd, path);
      return status.ok() ? closed : status;
    }));

    Status verified = check_pattern(got, stream, theirs.offset, b.name + " " + path);
    if (verified.ok() && context_.is_root() && b.unlink(path.c_str()) != 0) {
      verified = failure(b, "unlink", path);
    }
    return all_ok(comm_, std::move(verified));
  }

  // Every rank creates, stats, reads and unlinks files of its own directory
  // (as mdtest -u does); reads are of the files the neighbour created.
  Status small_run(int rep, std::size_t index) {
    const Backend &b = backends_[index];
    const int rank = context_.rank();
    const std::string mine_dir = rank_dir(b, rep, rank);
    const std::string theirs_dir = rank_dir(b, rep, neighbour());
    const std::uint64_t n = p_.files;
    // File i holds the bytes of its rank's stream at i * small_size.
    auto data = std::span(small_data_);
    fill_pattern(data, small_stream(rep, index, rank), 0);
    auto got = std::span(small_got_);
    std::fill(got.begin(), got.end(), std::byte{0});
    auto file = [](const std::string &dir, std::uint64_t i) {
      return fmt::format("{}/f{}", dir, i);
    };
    auto slice = [&](auto buffer, std::uint64_t i) {
      return buffer.subspan(i * p_.small_size, p_.small_size);
    };

    Status made;
    if (context_.is_root() && b.mkdir(small_dir(b, rep).c_str(), 0755) != 0) {
      made = failure(b, "mkdir", small_dir(b, rep));
    }
    PDM_TRY(all_ok(comm_, std::move(made)));
    if (b.mkdir(mine_dir.c_str(), 0755) != 0) made = failure(b, "mkdir", mine_dir);
    PDM_TRY(all_ok(comm_, std::move(made)));

    warm_free_memory(data.size() + kWarmSlack);
    Latencies &create_latency = latencies(b, "create");
    PDM_TRY(phase(b, rep, "create", small_files(), "files/s", [&]() -> Status {
      for (std::uint64_t i = 0; i < n; ++i) {
        const std::string path = file(mine_dir, i);
        PDM_TRY(create_latency.time([&]() -> Status {
          const int fd = b.open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0644);
          if (fd < 0) return failure(b, "open", path);
          Status status = write_all(b, fd, slice(data, i), 0, path);
          Status closed = close_file(b, fd, path);
          return status.ok() ? closed : status;
        }));
      }
      return {};
    }));

    Latencies &stat_latency = latencies(b, "stat");
    PDM_TRY(phase(b, rep, "stat", small_files(), "files/s", [&]() -> Status {
      for (std::uint64_t i = 0; i < n; ++i) {
        const std::string path = file(mine_dir, i);
        PDM_TRY(stat_latency.time([&]() -> Status {
          struct stat st {};
          if (b.stat(path.c_str(), &st) != 0) return failure(b, "stat", path);
          if (static_cast<std::uint64_t>(st.st_size) != p_.small_size) {
            return make_error(EIO, "{} stat {}: size {}, not the {} written", b.name, path,
                              st.st_size, p_.small_size);
          }
          return {};
        }));
      }
      return {};
    }));

    Latencies &read_latency = latencies(b, "read");
    PDM_TRY(phase(b, rep, "read", small_files(), "files/s", [&]() -> Status {
      for (std::uint64_t i = 0; i < n; ++i) {
        const std::string path = file(theirs_dir, i);
        PDM_TRY(read_latency.time([&]() -> Status {
          const int fd = b.open(path.c_str(), O_RDONLY, 0);
          if (fd < 0) return failure(b, "open", path);
          Status status = read_exactly(b, fd, slice(got, i), 0, path);
          Status closed = close_file(b, fd, path);
          return status.ok() ? closed : status;
        }));
      }
      return {};
    }));
    PDM_TRY(all_ok(comm_, check_pattern(got, small_stream(rep, index, neighbour()), 0,
                                        b.name + " " + theirs_dir)));

    Latencies &unlink_latency = latencies(b, "unlink");
    PDM_TRY(phase(b, rep, "unlink", small_files(), "files/s", [&]() -> Status {
      for (std::uint64_t i = 0; i < n; ++i) {
        const std::string path = file(mine_dir, i);
        PDM_TRY(unlink_latency.time([&]() -> Status {
          if (b.unlink(path.c_str()) != 0) return failure(b, "unlink", path);
          return {};
        }));
      }
      return {};
    }));

    if (b.rmdir(mine_dir.c_str()) != 0) made = failure(b, "rmdir", mine_dir);
    PDM_TRY(all_ok(comm_, std::move(made)));
    if (context_.is_root() && b.rmdir(small_dir(b, rep).c_str()) != 0) {
      made = failure(b, "rmdir", small_dir(b, rep));
    }
    return all_ok(comm_, std::move(made));
  }

  // Collective: the latencies of key from every rank, on rank 0.
  Result<Json> latency_of(const std::string &key) {
    PDM_ASSIGN_OR_RETURN(auto all, gather_to_root(comm_, latencies_[key].samples()));
    return latency_summary_us(all);
  }

  // Per-repetition rates and their median for "<backend>_<what>".
  std::vector<double> rates(const std::string &key, double amount) {
    std::vector<double> out;
    for (double seconds : seconds_[key]) out.push_back(amount / seconds);
    return out;
  }

  // Fills <pdm|posix>_<what><suffix>, <what>_ratio and runs for each phase.
  Result<Json> compare(const std::vector<std::string> &phases, const std::string &key_prefix,
                       const std::string &suffix, double amount, int decimals) {
    Json out;
    Json runs;
    Json latency;
    for (const std::string &what : phases) {
      double median_of[2] = {};
      for (std::size_t b = 0; b < backends_.size(); ++b) {
        const std::string key = backends_[b].name + "_" + key_prefix + what;
        auto per_run = rates(key, amount);
        median_of[b] = median(per_run);
        out[backends_[b].name + "_" + what + suffix] = rounded(median_of[b], decimals);
        Json rounded_runs = Json::array();
        for (double rate : per_run) rounded_runs.push_back(rounded(rate, decimals));
        runs[backends_[b].name + "_" + what + suffix] = std::move(rounded_runs);
        PDM_ASSIGN_OR_RETURN(latency[backends_[b].name + "_" + what], latency_of(key));
      }
      out[what + "_ratio"] = rounded(median_of[1] > 0 ? median_of[0] / median_of[1] : 0, 3);
    }
    out["latency_us"] = std::move(latency);
    out["runs"] = std::move(runs);
    return out;
  }

  Result<Json> large_report() {
    Json out;
    out["transfer"] = p_.transfer;
    out["bytes"] = p_.size;
    PDM_ASSIGN_OR_RETURN(Json rates,
                         compare({"write", "read"}, "large_", "_MiBps", large_mib(), 1));
    out.update(rates);
    return out;
  }

  Result<Json> small_report() {
    Json out;
    out["files"] = p_.files * static_cast<std::uint64_t>(context_.size());
    out["files_per_rank"] = p_.files;
    out["size"] = p_.small_size;
    PDM_ASSIGN_OR_RETURN(
        Json rates, compare({"create", "stat", "read", "unlink"}, "", "_ops", small_files(), 0));
    out.update(rates);
    return out;
  }

  Context &context_;
  const mpi::Comm &comm_;
  IoParams p_;
  std::array<Backend, 2> backends_;  // pdm, posix: the ratios are [0] / [1]
  // Keyed by "<backend>_<phase>": the seconds of each run of the phase (the
  // same on every rank), and this rank's latencies of single calls, pooled
  // over the runs.
  std::map<std::string, std::vector<double>> seconds_;
  std::map<std::string, Latencies> latencies_;
  std::vector<std::byte> large_data_;  // this rank's segment, as written
  std::vector<std::byte> large_got_;   // the neighbour's segment, as read
  std::vector<std::byte> small_data_;  // this rank's small files, back to back
  std::vector<std::byte> small_got_;   // the neighbour's small files, as read
  double load_before_ = 0;
  double load_after_ = 0;
};

void add_io_options(po::options_description &options) {
  // clang-format off
  options.add_options()
      ("dir", po::value<std::string>()->value_name("DIR"),
       "where to make the scratch directory (pdm-bench-XXXXXX, removed at the end); every "
       "rank must reach it (default: $TMPDIR, else /tmp)")
      ("size", po::value<std::string>()->value_name("SIZE")->default_value("256M"),
       "bytes of the large shared file, all ranks together; a multiple of --transfer")
      ("transfer", po::value<std::string>()->value_name("SIZE")->default_value("1M"),
       "bytes per pwrite/pread call on the large file")
      ("files", po::value<std::uint64_t>()->value_name("N")->default_value(1000),
       "small files per rank")
      ("small-size", po::value<std::string>()->value_name("SIZE")->default_value("4K"),
       "bytes per small file")
      ("stripe-size", po::value<std::string>()->value_name("SIZE")->default_value("1M"),
       "stripe size of the scratch pdm file system (a multiple of 4 KiB)")
      ("volumes", po::value<std::uint32_t>()->value_name("N")->default_value(4),
       "volumes of the scratch pdm file system")
      ("repeat", po::value<int>()->value_name("R")->default_value(3),
       "measure every phase R times, pdm and POSIX alternating which goes first; the "
       "report gives the median")
      ("fsync", po::bool_switch(), "fsync the large file before closing it (both sides)")
      ("lazy-size", po::bool_switch(),
       "write pdm files with a lazy size (pdm_set_lazy_size): writes do not wait for "
       "the metadata server's size update; close publishes it")
      ("phases", po::value<std::string>()->value_name("WHICH")->default_value("all"),
       "all, large (large_write and large_read only) or small (the small-file phases "
       "only), e.g. to profile one kind");
  // clang-format on
}

// The options, checked; a usage error names the option.
Result<IoParams> io_params(const Context &context) {
  const auto &options = context.options();
  IoParams p;
  if (options.count("dir")) p.dir = options["dir"].as<std::string>();
  PDM_ASSIGN_OR_RETURN(p.size, context.size_option("size"));
  PDM_ASSIGN_OR_RETURN(p.transfer, context.size_option("transfer"));
  PDM_ASSIGN_OR_RETURN(p.small_size, context.size_option("small-size"));
  PDM_ASSIGN_OR_RETURN(p.stripe_size, context.size_option("stripe-size"));
  p.files = options["files"].as<std::uint64_t>();
  p.volumes = options["volumes"].as<std::uint32_t>();
  p.repeat = options["repeat"].as<int>();
  p.fsync = options["fsync"].as<bool>();
  p.lazy_size = options["lazy-size"].as<bool>();
  const auto &phases = options["phases"].as<std::string>();
  if (phases != "all" && phases != "large" && phases != "small") {
    return make_error(EINVAL, "--phases {}: not one of all, large, small", phases);
  }
  p.large = phases != "small";
  p.small = phases != "large";
  const auto ranks = static_cast<std::uint64_t>(context.size());
  if (p.transfer == 0) return make_error(EINVAL, "--transfer must be at least 1 byte");
  if (p.size % p.transfer != 0) {
    return make_error(EINVAL, "--size {} is not a multiple of --transfer {}", format_size(p.size),
                      format_size(p.transfer));
  }
  if (p.size / p.transfer < ranks) {
    return make_error(EINVAL, "--size {} gives {} transfers of {}, fewer than the {} ranks",
                      format_size(p.size), p.size / p.transfer, format_size(p.transfer), ranks);
  }
  if (p.files == 0) return make_error(EINVAL, "--files must be at least 1");
  if (p.small_size == 0) return make_error(EINVAL, "--small-size must be at least 1 byte");
  if (p.volumes == 0) return make_error(EINVAL, "--volumes must be at least 1");
  if (p.repeat < 1) return make_error(EINVAL, "--repeat must be at least 1");
  return p;
}

int run_io(Context &context) {
  auto params = io_params(context);
  if (!params.ok()) return context.usage_error(params.error().message);
  const IoParams &p = *params;
  context.progress(
      "{} ranks, {} volumes, stripe {}, large file {} in transfers of {}, "
      "{} files of {} per rank, {} runs",
      context.size(), p.volumes, format_size(p.stripe_size), format_size(p.size),
      format_size(p.transfer), p.files, format_size(p.small_size), p.repeat);
  return run_on_scratch(context, {p.dir, p.volumes, p.stripe_size},
                        [&](const ScratchFs &scratch) -> Result<Json> {
                          IoBenchmark benchmark(context, p, scratch);
                          PDM_TRY(benchmark.run());
                          return benchmark.report();
                        });
}

}  // namespace

Benchmark io_benchmark() {
  Benchmark b;
  b.name = "io";
  b.summary = "large shared-file bandwidth and small-file rates, pdm against POSIX";
  b.description =
      "Makes a scratch pdm file system of --volumes volumes under --dir and mounts it on\n"
      "every rank; beside it, a plain directory on the same disk serves as the POSIX\n"
      "baseline. Each phase runs on every rank between two barriers and is timed on rank 0\n"
      "with MPI_Wtime across the pair:\n"
      "\n"
      "  large_write  every rank opens one shared file and writes its own contiguous\n"
      "               segment (--size / ranks) in --transfer pwrite calls, then closes it\n"
      "               (with --fsync, fsyncs first)\n"
      "  large_read   every rank reads the segment its neighbour (rank + 1) wrote\n"
      "  create       every rank creates --files files of --small-size in a directory of\n"
      "               its own: open(O_CREAT|O_EXCL), pwrite, close\n"
      "  stat         every rank stats its files\n"
      "  read         every rank reads its neighbour's files: open, pread, close\n"
      "  unlink       every rank unlinks its files\n"
      "\n"
      "pdm goes through its C API (<pdm/pdm.h>), POSIX through open/pread/pwrite/...: the\n"
      "same code drives both. Every run writes fresh files with their own data pattern,\n"
      "and every read is verified (outside the timed phase). Each phase is measured\n"
      "--repeat times, pdm and POSIX alternating which goes first; the report gives the\n"
      "median rate, the rate of each run, per-call latencies (p50, p99, max over all\n"
      "ranks and runs) and pdm/POSIX ratios, and whether large transfers reach the target\n"
      "of 0.8x POSIX (target.met; null with --phases small). The page cache is not dropped (that "
      "needs root and disturbs the\n"
      "whole machine): both sides write into it and read back from it. Before each write\n"
      "phase every rank touches and frees as much memory as it is about to write, so that\n"
      "on a virtual machine that hands free memory back to its host neither side pays for\n"
      "bringing pages back while the other does not. The report also gives the 1-minute\n"
      "load average before and after: other work on the machine skews the figures.\n"
      "\n"
      "The report is one JSON object on stdout from rank 0; progress goes to stderr.\n"
      "A quick run for a smoke test: pdm-bench io --size 8M --files 20 --repeat 1\n";
  b.add_options = add_io_options;
  b.run = run_io;
  return b;
}

}  // namespace pdm::bench

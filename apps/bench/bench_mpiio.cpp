// pdm-bench mpiio: IOR-like MPI-IO bandwidth through the MPI-IO shim
// (apps/mpiio) against the real MPI-IO (OMPIO) on a plain directory of the
// same disk, in the same run. pdm-bench links libpdm-mpiio.so, so the same
// MPI_File_* calls go to pdm for "pdm:" names and to OMPIO for the others.
#include <mpi.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <sstream>
#include <string_view>

#include "apps/bench/bench_common.h"
#include "runtime/base/size.h"

namespace pdm::bench {
namespace {

// The issue's target: at least 0.9x native MPI-IO for transfers of 1 MiB and more.
constexpr double kRatioMin = 0.9;
constexpr std::uint64_t kTargetTransferMin = kMiB;

struct MpiioParams {
  std::string dir;
  std::uint64_t block = 0;  // bytes per rank per segment
  std::vector<std::uint64_t> transfers;
  std::uint64_t segments = 0;
  std::vector<std::string> layouts;  // shared, fpp, strided
  std::uint64_t piece = 0;           // strided: bytes per piece of a rank's view
  std::string cb;                    // romio_cb_write/read of every open
  std::vector<std::string> modes;    // independent, collective
  std::uint32_t volumes = 0;
  std::uint64_t stripe_size = 0;
  int repeat = 0;
};

struct Case {
  std::uint64_t transfer = 0;
  std::string layout;  // shared, fpp, strided
  bool collective = false;
  bool shared() const { return layout != "fpp"; }  // one file on MPI_COMM_WORLD
  bool strided() const { return layout == "strided"; }
  std::string name() const {
    return fmt::format("{}_{}_{}", format_size(transfer), layout,
                       collective ? "collective" : "independent");
  }
};

Status mpi_status(int code, std::string_view call, const std::string &path) {
  if (code == MPI_SUCCESS) return {};
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(code, text, &length);
  return make_error(EIO, "{} {}: {}", call, path,
                    std::string(text, static_cast<std::size_t>(length)));
}

class MpiioBenchmark {
 public:
  MpiioBenchmark(Context &context, const MpiioParams &p, const ScratchFs &scratch)
      : context_(context), p_(p), scratch_(scratch) {
    if (!p.cb.empty()) {
      MPI_Info_create(&hints_);
      MPI_Info_set(hints_, "romio_cb_write", p.cb.c_str());
      MPI_Info_set(hints_, "romio_cb_read", p.cb.c_str());
    }
    data_.resize(p.block * p.segments);
    got_.resize(p.block * p.segments);
    fill_pattern(data_, static_cast<std::uint64_t>(context.rank()), 0);
  }

  ~MpiioBenchmark() {
    if (hints_ != MPI_INFO_NULL) MPI_Info_free(&hints_);
  }
  MpiioBenchmark(const MpiioBenchmark &) = delete;
  MpiioBenchmark &operator=(const MpiioBenchmark &) = delete;

  Status run() {
    for (std::uint64_t transfer : p_.transfers) {
      for (const std::string &layout : p_.layouts) {
        for (const std::string &mode : p_.modes) {
          const Case c{transfer, layout, mode == "collective"};
          for (int r = 0; r < p_.repeat; ++r) {
            // pdm and native alternate which goes first.
            for (int k = 0; k < 2; ++k) PDM_TRY(measure(c, (k + r) % 2 == 0));
          }
        }
      }
    }
    return {};
  }

  Json report() const {
    Json cases = Json::array();
    bool met = true, any = false;
    for (std::uint64_t transfer : p_.transfers) {
      for (const std::string &layout : p_.layouts) {
        for (const std::string &mode : p_.modes) {
          const Case c{transfer, layout, mode == "collective"};
          Json entry{{"transfer", transfer}, {"layout", layout}, {"mode", mode}};
          for (const char *phase : {"write", "read"}) {
            const double pdm = rate(c, true, phase), native = rate(c, false, phase);
            entry["pdm_mib_s"][phase] = rounded(pdm, 1);
            entry["native_mib_s"][phase] = rounded(native, 1);
            const double ratio = native > 0 ? pdm / native : 0;
            entry["ratio"][phase] = rounded(ratio, 3);
            entry["pdm_open_close_ms"][phase] = rounded(open_close_ms(c, true, phase), 3);
            entry["native_open_close_ms"][phase] = rounded(open_close_ms(c, false, phase), 3);
            if (transfer >= kTargetTransferMin) {
              any = true;
              met = met && ratio >= kRatioMin;
            }
          }
          cases.push_back(entry);
        }
      }
    }
    Json report{{"benchmark", "mpiio"},  {"ranks", context_.size()},
                {"block", p_.block},     {"segments", p_.segments},
                {"volumes", p_.volumes}, {"stripe_size", p_.stripe_size},
                {"repeat", p_.repeat},   {"cases", cases}};
    if (std::find(p_.layouts.begin(), p_.layouts.end(), "strided") != p_.layouts.end()) {
      report["piece"] = p_.piece;
    }
    report["cb"] = p_.cb.empty() ? "automatic" : p_.cb;
    // Whether pdm's writes published their size lazily (docs/MPIIO.md,
    // Consistency): the files are opened without hints, so the variable decides.
    const char *lazy = std::getenv("PDM_MPIIO_LAZY_SIZE");
    report["lazy_size"] = lazy == nullptr || std::string_view(lazy) != "0";
    report["target"] = {{"ratio_min", kRatioMin},
                        {"transfer_min", kTargetTransferMin},
                        {"met", any ? Json(met) : Json(nullptr)}};
    return report;
  }

 private:
  std::string path(const Case &c, bool pdm, int rank) const {
    const std::string base = fmt::format("mpiio_{}", c.name());
    const std::string name = c.shared() ? base : fmt::format("{}.{}", base, rank);
    return pdm ? "pdm:/" + name : scratch_.posix_dir() + "/" + name;
  }

  // The file offset of this rank's transfer `t` of segment `s` (IOR's layout).
  std::uint64_t offset(const Case &c, std::uint64_t s, std::uint64_t within) const {
    const auto ranks = static_cast<std::uint64_t>(context_.size());
    const auto rank = static_cast<std::uint64_t>(context_.rank());
    if (c.strided()) return s * p_.block + within;  // in the rank's view
    return c.shared() ? (s * ranks + rank) * p_.block + within : s * p_.block + within;
  }

  Status phase(const Case &c, bool pdm, bool writing, int owner) {
    const std::string name = path(c, pdm, owner);
    MPI_Comm comm = c.shared() ? MPI_COMM_WORLD : MPI_COMM_SELF;
    MPI_File fh = MPI_FILE_NULL;
    const int amode = writing ? MPI_MODE_CREATE | MPI_MODE_WRONLY : MPI_MODE_RDONLY;
    const double opening = MPI_Wtime();
    Status opened = mpi_status(MPI_File_open(comm, name.c_str(), amode, hints_, &fh), "open", name);
    open_close_seconds_ = MPI_Wtime() - opening;
    PDM_TRY(opened);
    if (c.strided()) PDM_TRY(set_strided_view(fh, owner, name));
    for (std::uint64_t s = 0; s < p_.segments; ++s) {
      for (std::uint64_t w = 0; w < p_.block; w += c.transfer) {
        std::byte *buffer = (writing ? data_.data() : got_.data()) + s * p_.block + w;
        // In a shared file a rank reads its neighbour's blocks: the offsets
        // of rank `owner`, computed as that rank would.
        std::uint64_t at = offset(c, s, w);
        if (c.shared() && !c.strided() && !writing) {
          at = (s * static_cast<std::uint64_t>(context_.size()) +
                static_cast<std::uint64_t>(owner)) *
                   p_.block +
               w;
        }
        const auto off = static_cast<MPI_Offset>(at);
        const int n = static_cast<int>(c.transfer);
        int rc = 0;
        if (writing) {
          rc = c.collective ? MPI_File_write_at_all(fh, off, buffer, n, MPI_BYTE, MPI_STATUS_IGNORE)
                            : MPI_File_write_at(fh, off, buffer, n, MPI_BYTE, MPI_STATUS_IGNORE);
        } else {
          rc = c.collective ? MPI_File_read_at_all(fh, off, buffer, n, MPI_BYTE, MPI_STATUS_IGNORE)
                            : MPI_File_read_at(fh, off, buffer, n, MPI_BYTE, MPI_STATUS_IGNORE);
        }
        PDM_TRY(mpi_status(rc, writing ? "write" : "read", name));
      }
    }
    const double closing = MPI_Wtime();
    Status closed = mpi_status(MPI_File_close(&fh), "close", name);
    open_close_seconds_ += MPI_Wtime() - closing;
    return closed;
  }

  // Strided: the view of rank `owner` selects its pieces of --piece bytes,
  // interleaved round-robin with the other ranks' (a column of a 2-D array).
  Status set_strided_view(MPI_File fh, int owner, const std::string &name) const {
    MPI_Datatype piece = MPI_DATATYPE_NULL, tile = MPI_DATATYPE_NULL;
    const auto bytes = static_cast<MPI_Aint>(p_.piece);
    MPI_Type_contiguous(static_cast<int>(p_.piece), MPI_BYTE, &piece);
    MPI_Type_create_resized(piece, 0, bytes * context_.size(), &tile);
    MPI_Type_commit(&tile);
    const int rc = MPI_File_set_view(fh, bytes * owner, MPI_BYTE, tile, "native", hints_);
    MPI_Type_free(&piece);
    MPI_Type_free(&tile);
    return mpi_status(rc, "set_view", name);
  }

  // The slowest rank's open + close of the phase just timed: the per-file
  // cost inside the phase's time, apart from the transfers (IOR reports it
  // apart too).
  Result<double> slowest_open_close() const {
    double slowest = 0;
    PDM_TRY(mpi::check(MPI_Allreduce(&open_close_seconds_, &slowest, 1, MPI_DOUBLE, MPI_MAX,
                                     context_.world().get()),
                       "MPI_Allreduce"));
    return slowest;
  }

  Status measure(const Case &c, bool pdm) {
    const std::string side = pdm ? "pdm" : "native";
    const int me = context_.rank();
    const int neighbour = (me + 1) % context_.size();
    warm_free_memory(data_.size() + 64 * kMiB);
    PDM_ASSIGN_OR_RETURN(double wrote,
                         timed_phase(context_.world(), [&] { return phase(c, pdm, true, me); }));
    PDM_ASSIGN_OR_RETURN(const double wrote_open_close, slowest_open_close());
    PDM_ASSIGN_OR_RETURN(double read, timed_phase(context_.world(),
                                                  [&] { return phase(c, pdm, false, neighbour); }));
    PDM_ASSIGN_OR_RETURN(const double read_open_close, slowest_open_close());
    // The neighbour wrote its own pattern; checked outside the timed phase.
    PDM_TRY(all_ok(context_.world(), [&]() -> Status {
      if (auto bad = find_mismatch(got_, static_cast<std::uint64_t>(neighbour), 0)) {
        return make_error(EIO, "{} {}: byte {} of rank {}'s data is wrong", side, c.name(), *bad,
                          neighbour);
      }
      return {};
    }()));
    seconds_[key(c, pdm, "write")].push_back(wrote);
    seconds_[key(c, pdm, "read")].push_back(read);
    seconds_[key(c, pdm, "write_open_close")].push_back(wrote_open_close);
    seconds_[key(c, pdm, "read_open_close")].push_back(read_open_close);
    // Removed right away, as pdm-bench io does, so that the next run writes a
    // fresh file. (Deleting the previous run's file just before the timed
    // write instead cut pdm's writes to a third: the unlink of a large pdm
    // file is still freeing its objects while the next write starts.)
    Status removed;
    if (!c.shared() || me == 0) {
      const std::string name = path(c, pdm, me);
      removed = mpi_status(MPI_File_delete(name.c_str(), MPI_INFO_NULL), "delete", name);
    }
    return all_ok(context_.world(), std::move(removed));
  }

  static std::string key(const Case &c, bool pdm, std::string_view phase) {
    return fmt::format("{}_{}_{}", pdm ? "pdm" : "native", c.name(), phase);
  }

  double rate(const Case &c, bool pdm, std::string_view phase) const {
    auto it = seconds_.find(key(c, pdm, phase));
    if (it == seconds_.end()) return 0;
    const std::uint64_t bytes =
        p_.block * p_.segments * static_cast<std::uint64_t>(context_.size());
    return mib_per_second(bytes, median(it->second));
  }

  double open_close_ms(const Case &c, bool pdm, std::string_view phase) const {
    auto it = seconds_.find(key(c, pdm, fmt::format("{}_open_close", phase)));
    return it == seconds_.end() ? 0 : median(it->second) * 1e3;
  }

  Context &context_;
  const MpiioParams &p_;
  const ScratchFs &scratch_;
  std::vector<std::byte> data_;
  std::vector<std::byte> got_;
  std::map<std::string, std::vector<double>> seconds_;
  double open_close_seconds_ = 0;   // this rank's, in the last phase
  MPI_Info hints_ = MPI_INFO_NULL;  // --cb
};

std::vector<std::string> split_list(const std::string &text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

void add_mpiio_options(po::options_description &options) {
  // clang-format off
  options.add_options()
      ("dir", po::value<std::string>()->value_name("DIR"),
       "where to make the scratch directory (pdm-bench-XXXXXX, removed at the end); every "
       "rank must reach it (default: $TMPDIR, else /tmp)")
      ("block", po::value<std::string>()->value_name("SIZE")->default_value("32M"),
       "bytes each rank writes per segment (IOR -b); a multiple of every --transfer")
      ("transfer", po::value<std::string>()->value_name("SIZES")->default_value("4K,1M,4M"),
       "bytes per MPI_File_write_at/read_at call (IOR -t), a comma-separated list")
      ("segments", po::value<std::uint64_t>()->value_name("N")->default_value(1),
       "segments (IOR -s): in a shared file, segment s holds every rank's block s")
      ("layout", po::value<std::string>()->value_name("WHICH")->default_value("shared,fpp"),
       "shared (one file, IOR's default), fpp (a file per process, IOR -F), strided (one "
       "file, each rank's view selects --piece bytes out of every ranks x --piece), or a "
       "comma-separated list")
      ("piece", po::value<std::string>()->value_name("SIZE")->default_value("4K"),
       "strided: bytes of each piece of a rank's view")
      ("cb", po::value<std::string>()->value_name("MODE"),
       "collective buffering hint of every open, romio_cb_write and romio_cb_read: "
       "automatic, enable or disable (default: no hint, which is automatic for pdm)")
      ("mode", po::value<std::string>()->value_name("WHICH")->default_value("independent,collective"),
       "independent (write_at/read_at), collective (write_at_all/read_at_all, IOR -c), or both")
      ("stripe-size", po::value<std::string>()->value_name("SIZE")->default_value("1M"),
       "stripe size of the scratch pdm file system (a multiple of 4 KiB)")
      ("volumes", po::value<std::uint32_t>()->value_name("N")->default_value(4),
       "volumes of the scratch pdm file system")
      ("repeat", po::value<int>()->value_name("R")->default_value(3),
       "measure every case R times, pdm and native alternating which goes first; the "
       "report gives the median");
  // clang-format on
}

Result<MpiioParams> mpiio_params(const Context &context) {
  const auto &options = context.options();
  MpiioParams p;
  if (options.count("dir")) p.dir = options["dir"].as<std::string>();
  PDM_ASSIGN_OR_RETURN(p.block, context.size_option("block"));
  PDM_ASSIGN_OR_RETURN(p.stripe_size, context.size_option("stripe-size"));
  for (const std::string &t : split_list(options["transfer"].as<std::string>())) {
    auto size = parse_size(t);
    if (!size.ok() || *size == 0) return make_error(EINVAL, "--transfer: bad size '{}'", t);
    if (*size > (std::uint64_t{1} << 30)) return make_error(EINVAL, "--transfer {}: at most 1G", t);
    if (p.block % *size != 0) {
      return make_error(EINVAL, "--block {} is not a multiple of --transfer {}",
                        format_size(p.block), t);
    }
    p.transfers.push_back(*size);
  }
  if (p.transfers.empty()) return make_error(EINVAL, "--transfer: no size given");
  p.layouts = split_list(options["layout"].as<std::string>());
  p.modes = split_list(options["mode"].as<std::string>());
  for (const auto &l : p.layouts) {
    if (l != "shared" && l != "fpp" && l != "strided") {
      return make_error(EINVAL, "--layout {}: not shared, fpp or strided", l);
    }
  }
  for (const auto &m : p.modes) {
    if (m != "independent" && m != "collective") {
      return make_error(EINVAL, "--mode {}: not independent or collective", m);
    }
  }
  if (p.layouts.empty() || p.modes.empty()) return make_error(EINVAL, "--layout/--mode: empty");
  PDM_ASSIGN_OR_RETURN(p.piece, context.size_option("piece"));
  if (p.piece == 0 || p.piece > (std::uint64_t{1} << 30)) {
    return make_error(EINVAL, "--piece: between 1 byte and 1G");
  }
  if (options.count("cb")) {
    p.cb = options["cb"].as<std::string>();
    if (p.cb != "automatic" && p.cb != "enable" && p.cb != "disable") {
      return make_error(EINVAL, "--cb {}: not automatic, enable or disable", p.cb);
    }
  }
  p.segments = options["segments"].as<std::uint64_t>();
  p.volumes = options["volumes"].as<std::uint32_t>();
  p.repeat = options["repeat"].as<int>();
  if (p.segments == 0) return make_error(EINVAL, "--segments must be at least 1");
  if (p.volumes == 0) return make_error(EINVAL, "--volumes must be at least 1");
  if (p.repeat < 1) return make_error(EINVAL, "--repeat must be at least 1");
  return p;
}

int run_mpiio(Context &context) {
  auto params = mpiio_params(context);
  if (!params.ok()) return context.usage_error(params.error().message);
  const MpiioParams &p = *params;
  context.progress("{} ranks, block {} x {} segments, {} volumes, {} runs", context.size(),
                   format_size(p.block), p.segments, p.volumes, p.repeat);
  return run_on_scratch(context, {p.dir, p.volumes, p.stripe_size},
                        [&](const ScratchFs &scratch) -> Result<Json> {
                          MpiioBenchmark benchmark(context, p, scratch);
                          PDM_TRY(benchmark.run());
                          return benchmark.report();
                        });
}

}  // namespace

Benchmark mpiio_benchmark() {
  Benchmark b;
  b.name = "mpiio";
  b.summary = "IOR-like MPI-IO bandwidth through the shim, pdm against native MPI-IO";
  b.description =
      "Makes a scratch pdm file system of --volumes volumes under --dir and mounts it on\n"
      "every rank; beside it, a plain directory on the same disk takes the native files.\n"
      "pdm-bench links the MPI-IO shim (libpdm-mpiio.so), so the same MPI_File_* calls go\n"
      "to pdm for 'pdm:' names and to the real MPI-IO (Open MPI's OMPIO) for the plain\n"
      "directory. For every --transfer size, --layout and --mode, IOR's pattern is\n"
      "measured on both sides:\n"
      "\n"
      "  write  every rank opens the file (shared: one file on MPI_COMM_WORLD; fpp: its\n"
      "         own on MPI_COMM_SELF) and writes --segments blocks of --block bytes in\n"
      "         --transfer calls (write_at or write_at_all), then closes it\n"
      "  read   every rank reads the blocks its neighbour (rank + 1) wrote, checked\n"
      "         against the neighbour's pattern outside the timed phase\n"
      "\n"
      "The strided layout is one file in which every rank's file view selects pieces of\n"
      "--piece bytes interleaved round-robin with the other ranks' (rank r's piece k at\n"
      "(k x ranks + r) x piece); each call moves --transfer bytes of the view, so its many\n"
      "small pieces are what collective buffering aggregates (docs/MPIIO.md). --cb sets\n"
      "the romio_cb_write/romio_cb_read hints of every open (reported as cb).\n"
      "\n"
      "Each phase is timed on rank 0 between two barriers, --repeat times with pdm and\n"
      "native alternating which goes first; the report gives the median rate in MiB/s of\n"
      "each side, the pdm/native ratio, and whether transfers of 1 MiB and more reach\n"
      "0.9x native (target.met). Each case also gives the median over runs of the slowest\n"
      "rank's MPI_File_open + MPI_File_close time of each phase ({pdm,native}_open_close_ms),\n"
      "the per-file cost inside the phase's time. lazy_size tells whether pdm's writes\n"
      "published their size lazily (PDM_MPIIO_LAZY_SIZE=0 turns it off; docs/MPIIO.md).\n"
      "The page cache is not dropped: both sides write into it and read back from it.\n"
      "Do not set PDM_FS when running it: the shim would mount that file system at\n"
      "MPI_Init and the scratch one could not be mounted.\n"
      "\n"
      "The report is one JSON object on stdout from rank 0; progress goes to stderr.\n"
      "A quick run for a smoke test: pdm-bench mpiio --block 1M --transfer 64K --repeat 1\n";
  b.add_options = add_mpiio_options;
  b.run = run_mpiio;
  return b;
}

}  // namespace pdm::bench

// pdm-bench hsm: what pdm-hsm costs, each figure against a baseline taken in
// the same run on the same disk:
//   migration   archive copies (hsm::archive_copy, what `pdm-hsm migrate`
//               does per file) into an HDF5 and a POSIX archive, against a
//               cp of the same bytes between two plain directories
//               (read, write, fsync);
//   recall      reads of released files through the recall agent (every
//               rank runs one, as pdm-hsm and pdm get do): the throughput of
//               whole-file reads and the latency of the first read of a
//               small file, against the same reads of resident files;
//   scan        files/s of the policy scan of `pdm-hsm migrate`
//               (hsm::policy_scan), against a walk with stat of the same
//               tree in a plain directory by one process (find).
#include <fcntl.h>
#include <pdm/pdm.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>
#include <thread>

#include "apps/bench/bench_common.h"
#include "apps/hsm/agent/archive_set.h"
#include "apps/hsm/agent/hsm_file.h"
#include "apps/hsm/agent/recall_agent.h"
#include "apps/hsm/agent/recall_settings.h"
#include "apps/hsm/archive/archive_registry.h"
#include "apps/hsm/scan/policy_scan.h"
#include "runtime/base/size.h"
#include "runtime/dm/api/handles.h"
#include "runtime/mpi/collective.h"
#include "runtime/node/process_node.h"

namespace pdm::bench {
namespace {

namespace api = pdm::dm::api;

constexpr std::uint64_t kTransfer = kMiB;  // bytes per read/write call
constexpr std::uint64_t kScanFilesPerDir = 100;
// The policy of the scan: every term is evaluated for every file, and it
// selects nothing (the files are new), so that only the scan is measured.
constexpr const char *kScanPolicy = "size > 1G and mtime < -7d and path ~ \"/scan/**\"";

struct HsmParams {
  std::string dir;
  std::uint64_t files = 0;  // per rank, for migration and recall throughput
  std::uint64_t size = 0;
  std::uint64_t small_files = 0;  // per rank, for recall latency
  std::uint64_t small_size = 0;
  std::uint64_t scan_files = 0;         // over all ranks
  std::optional<unsigned> max_recalls;  // unset: the setting (PDM_HSM_MAX_RECALLS, else 4)
  std::uint32_t volumes = 0;
  int repeat = 0;
};

// The two archive backends measured, and the resident baseline of reads.
enum Side : std::size_t { kHdf5, kPosix, kResident, kSides };
constexpr std::array<const char *, kSides> kSideNames{"hdf5", "posix", "resident"};

Error errno_error(std::string_view call, const std::string &path) {
  const int err = errno;
  return Error{err, fmt::format("{} {}: {}", call, path, std::strerror(err))};
}

Error pdm_error(std::string_view call, const std::string &path) {
  const int err = errno;
  return Error{err, fmt::format("pdm {} {}: {}", call, path, pdm_last_error())};
}

// --- whole files, through pdm's C API or plain POSIX -------------------------

Status pdm_write_file(const std::string &path, std::span<const std::byte> data) {
  const int fd = pdm_open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0644);
  if (fd < 0) return pdm_error("open", path);
  for (std::uint64_t done = 0; done < data.size();) {
    const std::size_t n = std::min<std::uint64_t>(kTransfer, data.size() - done);
    const ssize_t wrote = pdm_pwrite(fd, data.data() + done, n, static_cast<off_t>(done));
    if (wrote <= 0) {
      Error error = pdm_error("pwrite", path);
      pdm_close(fd);
      return error;
    }
    done += static_cast<std::uint64_t>(wrote);
  }
  if (pdm_close(fd) != 0) return pdm_error("close", path);
  return {};
}

// Reads the whole file into out (its size), timing the first read call
// (the one a released file's recall happens in) into first_read.
Status pdm_read_file(const std::string &path, std::span<std::byte> out, double *first_read) {
  const int fd = pdm_open(path.c_str(), O_RDONLY, 0);
  if (fd < 0) return pdm_error("open", path);
  Status status;
  for (std::uint64_t done = 0; done < out.size() && status.ok();) {
    const std::size_t n = std::min<std::uint64_t>(kTransfer, out.size() - done);
    const double start = MPI_Wtime();
    const ssize_t got = pdm_pread(fd, out.data() + done, n, static_cast<off_t>(done));
    if (done == 0 && first_read != nullptr) *first_read = MPI_Wtime() - start;
    if (got < 0) status = pdm_error("pread", path);
    if (got == 0) status = make_error(EIO, "pdm pread {}: the file ends at {}", path, done);
    done += got > 0 ? static_cast<std::uint64_t>(got) : 0;
  }
  if (pdm_close(fd) != 0 && status.ok()) status = pdm_error("close", path);
  return status;
}

Status posix_write_file(const std::string &path, std::span<const std::byte> data, bool sync) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0644);
  if (fd < 0) return errno_error("open", path);
  Status status;
  for (std::uint64_t done = 0; done < data.size() && status.ok();) {
    const std::size_t n = std::min<std::uint64_t>(kTransfer, data.size() - done);
    const ssize_t wrote = ::pwrite(fd, data.data() + done, n, static_cast<off_t>(done));
    if (wrote <= 0) status = errno_error("pwrite", path);
    done += wrote > 0 ? static_cast<std::uint64_t>(wrote) : 0;
  }
  if (status.ok() && sync && ::fsync(fd) != 0) status = errno_error("fsync", path);
  if (::close(fd) != 0 && status.ok()) status = errno_error("close", path);
  return status;
}

Status posix_read_file(const std::string &path, std::span<std::byte> out) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) return errno_error("open", path);
  Status status;
  for (std::uint64_t done = 0; done < out.size() && status.ok();) {
    const std::size_t n = std::min<std::uint64_t>(kTransfer, out.size() - done);
    const ssize_t got = ::pread(fd, out.data() + done, n, static_cast<off_t>(done));
    if (got <= 0)
      status = got < 0 ? errno_error("pread", path) : make_error(EIO, "{}: short", path);
    done += got > 0 ? static_cast<std::uint64_t>(got) : 0;
  }
  ::close(fd);
  return status;
}

class HsmBenchmark {
 public:
  HsmBenchmark(Context &context, const HsmParams &p, const ScratchFs &scratch)
      : context_(context), comm_(context.world()), p_(p), scratch_(scratch) {
    data_.resize(p.size);
    got_.resize(p.size);
  }

  // Collective: the archives (rank 0 makes their directories), every rank's
  // recall agent, and the tree of the scan.
  Status setup() {
    for (Side side : {kHdf5, kPosix}) {
      hsm::ArchiveSpec spec;
      spec.id = kSideNames[side];
      spec.type = side == kHdf5 ? hsm::ArchiveType::kHdf5 : hsm::ArchiveType::kPosix;
      spec.path = fmt::format("{}/archive-{}", scratch_.root(), spec.id);
      specs_[spec.id] = spec;
      Status made;
      if (context_.is_root()) {
        if (auto opened = hsm::open_archive(spec, {.create = true, .writer = "bench-setup"});
            !opened.ok()) {
          made = opened.error();
        }
      }
      PDM_TRY(all_ok(comm_, std::move(made)));
    }
    const std::string writer = fmt::format("r{}", context_.rank());
    auto archives = std::make_shared<hsm::ArchiveSet>(
        [this, writer](const std::string &id) -> Result<std::unique_ptr<hsm::Archive>> {
          const auto it = specs_.find(id);
          if (it == specs_.end()) return make_error(ENOENT, "no archive '{}'", id);
          return hsm::open_archive(it->second, {.create = false, .writer = writer});
        },
        kSideNames[kHdf5]);
    auto agent = hsm::RecallAgent::start(archives, {hsm::kDefaultGroup, p_.max_recalls});
    Status started;
    if (agent.ok()) {
      agent_ = std::move(*agent);
      agent_max_recalls_ = agent_->max_recalls();
    } else {
      started = agent.error();
    }
    PDM_TRY(all_ok(comm_, std::move(started)));
    archives_ = std::move(archives);
    return make_scan_tree();
  }

  Status run() {
    load_before_ = load_average();
    for (int rep = 0; rep < p_.repeat; ++rep) {
      PDM_TRY(migration_run(rep));
      PDM_TRY(recall_run(rep));
      PDM_TRY(scan_run());
    }
    load_after_ = load_average();
    return {};
  }

  // Collective: stops the agents (after every rank's last read).
  Status teardown() {
    PDM_TRY(mpi::barrier(comm_));
    if (agent_) {
      const hsm::RecallStats stats = agent_->stats();
      recalls_ = stats.recalls;
      failed_recalls_ = stats.failed;
      peak_ = stats.peak;
      PDM_TRY(all_ok(comm_, agent_->stop()));
    }
    return {};
  }

  Result<Json> report() {
    std::array<std::uint64_t, 2> counts{recalls_, failed_recalls_};
    std::array<std::uint64_t, 2> totals{};
    PDM_TRY(mpi::check(
        MPI_Allreduce(counts.data(), totals.data(), 2, MPI_UINT64_T, MPI_SUM, comm_.get()),
        "MPI_Allreduce"));
    std::uint64_t peak = 0;
    PDM_TRY(mpi::check(MPI_Allreduce(&peak_, &peak, 1, MPI_UINT64_T, MPI_MAX, comm_.get()),
                       "MPI_Allreduce"));
    // Every released file was read once, by one rank: one recall each.
    const std::uint64_t expected = static_cast<std::uint64_t>(p_.repeat) * 2 *
                                   (p_.files + p_.small_files) *
                                   static_cast<std::uint64_t>(context_.size());
    if (totals[0] != expected || totals[1] != 0) {
      return make_error(EIO, "the agents made {} recalls ({} failed), expected {}", totals[0],
                        totals[1], expected);
    }
    Json latency;
    for (std::size_t side : {kResident, kHdf5, kPosix}) {
      PDM_ASSIGN_OR_RETURN(auto all, gather_to_root(comm_, first_reads_[side]));
      latency[kSideNames[side]] = latency_summary_us(all);
    }

    Json out;
    out["benchmark"] = "hsm";
    out["ranks"] = context_.size();
    out["cores"] = std::thread::hardware_concurrency();
    out["files_per_rank"] = p_.files;
    out["file_size"] = p_.size;
    out["small_files_per_rank"] = p_.small_files;
    out["small_size"] = p_.small_size;
    out["scan_files"] = p_.scan_files;
    out["max_recalls"] = agent_max_recalls_;
    out["repeat"] = p_.repeat;
    out["load_average_1min"] = load_json(load_before_, load_after_);
    out["page_cache"] = "warm: caches are not dropped; every side reads what was just written";
    compare(out, "migration", "cp", "cp", "migrate_");
    compare(out, "recall", "resident", "read_resident", "read_");
    out["first_read_latency_us"] = std::move(latency);
    out["scan_files_per_s"] = Json{{"find", rates_json(rates_["find"], 0)},
                                   {"pdm_walk", rates_json(rates_["walk"], 0)},
                                   {"pdm_hsm", rates_json(rates_["scan"], 0)}};
    out["scan_ratio"] = rounded(median(rates_["scan"]) / median(rates_["find"]), 3);
    out["recalls"] = Json{{"made", totals[0]}, {"expected", expected}, {"peak_per_rank", peak}};
    out["verified"] = true;  // every read compared with its pattern, every recall counted
    return out;
  }

 private:
  // out["<what>_mib_s"]: the baseline's rates (rates_[base_key]) as
  // `base`, and each archive's (rates_[prefix + archive]); out["<what>_ratio"]:
  // each archive's median over the baseline's.
  void compare(Json &out, std::string_view what, std::string_view base, const std::string &base_key,
               std::string_view prefix) {
    const double baseline = median(rates_[base_key]);
    Json rates{{base, rates_json(rates_[base_key], 1)}};
    Json ratio;
    for (Side side : {kHdf5, kPosix}) {
      const auto &runs = rates_[fmt::format("{}{}", prefix, kSideNames[side])];
      rates[kSideNames[side]] = rates_json(runs, 1);
      ratio[fmt::format("{}_over_{}", kSideNames[side], base)] =
          rounded(median(runs) / baseline, 3);
    }
    out[fmt::format("{}_mib_s", what)] = std::move(rates);
    out[fmt::format("{}_ratio", what)] = std::move(ratio);
  }

  int neighbour() const { return (context_.rank() + 1) % context_.size(); }
  std::string pdm_dir(int rep, std::string_view set, int rank) const {
    return fmt::format("/run{}/{}/r{}", rep, set, rank);
  }
  std::string plain_dir(int rep, std::string_view set, int rank) const {
    return fmt::format("{}/run{}-{}-r{}", scratch_.posix_dir(), rep, set, rank);
  }
  // A pattern stream per file: a read passes only with this very file's bytes.
  static std::uint64_t stream(int rep, std::string_view set, int rank, std::uint64_t i) {
    return std::hash<std::string>{}(fmt::format("{}/{}/{}/{}", rep, set, rank, i));
  }

  Status timed(std::string_view what, double amount, std::string_view unit,
               const std::function<Status()> &body) {
    PDM_ASSIGN_OR_RETURN(double seconds, timed_phase(comm_, body));
    rates_[std::string(what)].push_back(amount / seconds);
    context_.progress("{:<14} {:>10.1f} {} ({:.3f} s)", what, amount / seconds, unit, seconds);
    return {};
  }

  // Collective: this rank's `count` files of `size` in pdm directory `set`.
  Status make_pdm_files(int rep, std::string_view set, std::uint64_t count, std::uint64_t size) {
    Status made;
    if (context_.is_root()) {
      for (const std::string &dir :
           {fmt::format("/run{}", rep), fmt::format("/run{}/{}", rep, set)}) {
        if (pdm_mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
          made = pdm_error("mkdir", dir);
          break;
        }
      }
    }
    PDM_TRY(all_ok(comm_, std::move(made)));
    const std::string dir = pdm_dir(rep, set, context_.rank());
    if (pdm_mkdir(dir.c_str(), 0755) != 0) made = pdm_error("mkdir", dir);
    for (std::uint64_t i = 0; i < count && made.ok(); ++i) {
      auto data = std::span(data_).first(size);
      fill_pattern(data, stream(rep, set, context_.rank(), i), 0);
      made = pdm_write_file(fmt::format("{}/f{}", dir, i), data);
    }
    return all_ok(comm_, std::move(made));
  }

  // What migrate() does to each file: copy it to the archive (the file is
  // then premigrated), release it (it must be premigrated), or both.
  enum class Steps { kCopy, kRelease, kCopyAndRelease };

  // This rank's files of `set`: the steps, with archive `side`.
  Status migrate(int rep, std::string_view set, std::uint64_t count, Side side, Steps steps) {
    const std::string dir = pdm_dir(rep, set, context_.rank());
    for (std::uint64_t i = 0; i < count; ++i) {
      const std::string path = fmt::format("{}/f{}", dir, i);
      PDM_ASSIGN_OR_RETURN(const api::Handle h, api::handle_of(path));
      if (steps != Steps::kRelease) {
        PDM_ASSIGN_OR_RETURN(hsm::Archive * archive, archives_->get(kSideNames[side]));
        PDM_ASSIGN_OR_RETURN(const auto copied,
                             hsm::archive_copy(agent_->session(), h, path, *archive));
        if (copied.outcome != hsm::StepOutcome::kDone) {
          return make_error(EIO, "{}: not archived (changed during the copy?)", path);
        }
      }
      if (steps == Steps::kCopy) continue;
      PDM_ASSIGN_OR_RETURN(const auto released, hsm::release(agent_->session(), h));
      if (released.outcome != hsm::StepOutcome::kDone) {
        return make_error(EIO, "{}: not released", path);
      }
    }
    return {};
  }

  Status migration_run(int rep) {
    const double mib = static_cast<double>(p_.files * p_.size * context_.size()) / kMiB;
    for (Side side : {kHdf5, kPosix}) {
      PDM_TRY(make_pdm_files(rep, kSideNames[side], p_.files, p_.size));
    }
    // The cp baseline's sources: the same bytes in a plain directory.
    const std::string src = plain_dir(rep, "src", context_.rank());
    const std::string dst = plain_dir(rep, "dst", context_.rank());
    Status made;
    if (::mkdir(src.c_str(), 0755) != 0 || ::mkdir(dst.c_str(), 0755) != 0) {
      made = errno_error("mkdir", src);
    }
    for (std::uint64_t i = 0; i < p_.files && made.ok(); ++i) {
      fill_pattern(data_, stream(rep, "cp", context_.rank(), i), 0);
      made = posix_write_file(fmt::format("{}/f{}", src, i), data_, false);
    }
    PDM_TRY(all_ok(comm_, std::move(made)));

    // The three sides in a rotating order, so that drift over the run
    // (writeback starting, say) does not always favour the same one.
    const std::array<std::function<Status()>, 3> sides{
        [&] {
          return timed("cp", mib, "MiB/s", [&]() -> Status {
            for (std::uint64_t i = 0; i < p_.files; ++i) {
              PDM_TRY(posix_read_file(fmt::format("{}/f{}", src, i), got_));
              PDM_TRY(posix_write_file(fmt::format("{}/f{}", dst, i), got_, true));
            }
            return {};
          });
        },
        [&] {
          return timed("migrate_hdf5", mib, "MiB/s", [&] {
            return migrate(rep, kSideNames[kHdf5], p_.files, kHdf5, Steps::kCopy);
          });
        },
        [&] {
          return timed("migrate_posix", mib, "MiB/s", [&] {
            return migrate(rep, kSideNames[kPosix], p_.files, kPosix, Steps::kCopy);
          });
        },
    };
    for (std::size_t k = 0; k < sides.size(); ++k) {
      // Each side starts with no dirty data (untimed), so that its fsyncs
      // do not pay for the writeback of the setup's or another side's writes.
      ::sync();
      PDM_TRY(sides[(k + static_cast<std::size_t>(rep)) % sides.size()]());
    }
    std::error_code ec;
    std::filesystem::remove_all(src, ec);
    std::filesystem::remove_all(dst, ec);
    return {};
  }

  // Every rank reads its neighbour's files (recalled on this rank, B18) and
  // verifies them; first_read gets the latency of each file's first read.
  Status read_back(int rep, std::string_view set, std::uint64_t count, std::uint64_t size,
                   std::vector<double> *first_read) {
    const int owner = neighbour();
    const std::string dir = pdm_dir(rep, set, owner);
    for (std::uint64_t i = 0; i < count; ++i) {
      const std::string path = fmt::format("{}/f{}", dir, i);
      auto got = std::span(got_).first(size);
      double first = 0;
      PDM_TRY(pdm_read_file(path, got, &first));
      if (first_read != nullptr) first_read->push_back(first);
      if (auto bad = find_mismatch(got, stream(rep, set, owner, i), 0)) {
        return make_error(EIO, "{}: the byte at offset {} is not the one written", path, *bad);
      }
    }
    return {};
  }

  Status recall_run(int rep) {
    // The files migrated above are released now; the resident side is a
    // third set of the same size. Small files: one set per side.
    PDM_TRY(make_pdm_files(rep, kSideNames[kResident], p_.files, p_.size));
    for (Side side : {kHdf5, kPosix}) {
      // Archived by migration_run: premigrated, released now.
      PDM_TRY(all_ok(comm_, migrate(rep, kSideNames[side], p_.files, side, Steps::kRelease)));
    }
    for (std::size_t side = 0; side < kSides; ++side) {
      const std::string set = fmt::format("small-{}", kSideNames[side]);
      PDM_TRY(make_pdm_files(rep, set, p_.small_files, p_.small_size));
      if (side != kResident) {
        PDM_TRY(all_ok(comm_, migrate(rep, set, p_.small_files, static_cast<Side>(side),
                                      Steps::kCopyAndRelease)));
      }
    }
    const double mib = static_cast<double>(p_.files * p_.size * context_.size()) / kMiB;
    for (std::size_t k = 0; k < kSides; ++k) {
      const std::size_t side = (k + static_cast<std::size_t>(rep)) % kSides;
      PDM_TRY(timed(fmt::format("read_{}", kSideNames[side]), mib, "MiB/s",
                    [&] { return read_back(rep, kSideNames[side], p_.files, p_.size, nullptr); }));
    }
    // Latency: one file at a time, untimed as a phase; every rank reads at once.
    for (std::size_t k = 0; k < kSides; ++k) {
      const std::size_t side = (k + static_cast<std::size_t>(rep)) % kSides;
      PDM_TRY(mpi::barrier(comm_));
      PDM_TRY(all_ok(comm_, read_back(rep, fmt::format("small-{}", kSideNames[side]),
                                      p_.small_files, p_.small_size, &first_reads_[side])));
    }
    return {};
  }

  // Collective: scan_files empty files, kScanFilesPerDir per directory, in
  // pdm under /scan and in the plain directory scan/; the directories are
  // divided among the ranks.
  Status make_scan_tree() {
    const std::uint64_t dirs = (p_.scan_files + kScanFilesPerDir - 1) / kScanFilesPerDir;
    const std::string plain = scratch_.posix_dir() + "/scan";
    Status made;
    if (context_.is_root()) {
      if (pdm_mkdir("/scan", 0755) != 0) made = pdm_error("mkdir", "/scan");
      if (made.ok() && ::mkdir(plain.c_str(), 0755) != 0) made = errno_error("mkdir", plain);
    }
    PDM_TRY(all_ok(comm_, std::move(made)));
    for (std::uint64_t d = static_cast<std::uint64_t>(context_.rank()); d < dirs && made.ok();
         d += static_cast<std::uint64_t>(context_.size())) {
      const std::string pdm = fmt::format("/scan/d{}", d);
      const std::string posix = fmt::format("{}/d{}", plain, d);
      if (pdm_mkdir(pdm.c_str(), 0755) != 0) made = pdm_error("mkdir", pdm);
      if (made.ok() && ::mkdir(posix.c_str(), 0755) != 0) made = errno_error("mkdir", posix);
      const std::uint64_t end = std::min(p_.scan_files, (d + 1) * kScanFilesPerDir);
      for (std::uint64_t f = d * kScanFilesPerDir; f < end && made.ok(); ++f) {
        made = pdm_write_file(fmt::format("{}/f{}", pdm, f), {});
        if (made.ok()) made = posix_write_file(fmt::format("{}/f{}", posix, f), {}, false);
      }
    }
    return all_ok(comm_, std::move(made));
  }

  Status scan_run() {
    PDM_ASSIGN_OR_RETURN(const auto policy, hsm::Policy::parse(kScanPolicy));
    const auto files = static_cast<double>(p_.scan_files);
    PDM_TRY(timed("find", files, "files/s", [&]() -> Status {
      if (!context_.is_root()) return {};
      std::uint64_t found = 0;
      std::error_code ec;
      for (auto it =
               std::filesystem::recursive_directory_iterator(scratch_.posix_dir() + "/scan", ec);
           !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
        struct stat st {};
        if (::stat(it->path().c_str(), &st) != 0) return errno_error("stat", it->path());
        if (S_ISREG(st.st_mode)) ++found;
      }
      if (ec) return make_error(ec.value(), "find: {}", ec.message());
      if (found != p_.scan_files) return make_error(EIO, "find saw {} files", found);
      return {};
    }));
    // The part of the scan that does not divide among the ranks: rank 0's
    // walk (a readdir per directory, a stat per file), alone.
    PDM_TRY(timed("walk", files, "files/s", [&]() -> Status {
      if (!context_.is_root()) return {};
      PDM_ASSIGN_OR_RETURN(const auto found, hsm::find_files(node::process_node()->fs(), "/scan"));
      if (found.size() != p_.scan_files)
        return make_error(EIO, "the walk saw {} files", found.size());
      return {};
    }));
    return timed("scan", files, "files/s", [&]() -> Status {
      PDM_ASSIGN_OR_RETURN(const auto scan, hsm::policy_scan(comm_, node::process_node()->fs(),
                                                             agent_->session(), policy, "/scan"));
      if (!scan.errors.empty()) return scan.errors.front().error;
      if (scan.scanned != p_.scan_files || !scan.selected.empty()) {
        return make_error(EIO, "the scan saw {} files and selected {}", scan.scanned,
                          scan.selected.size());
      }
      return {};
    });
  }

  Context &context_;
  const mpi::Comm &comm_;
  const HsmParams &p_;
  const ScratchFs &scratch_;
  std::map<std::string, hsm::ArchiveSpec> specs_;
  std::shared_ptr<hsm::ArchiveSet> archives_;
  std::unique_ptr<hsm::RecallAgent> agent_;
  std::vector<std::byte> data_, got_;
  std::map<std::string, std::vector<double>> rates_;
  std::array<std::vector<double>, kSides> first_reads_;
  std::uint64_t recalls_ = 0, failed_recalls_ = 0, peak_ = 0;
  unsigned agent_max_recalls_ = 0;
  double load_before_ = 0, load_after_ = 0;
};

void add_hsm_options(po::options_description &options) {
  options.add_options()("dir", po::value<std::string>()->default_value("")->value_name("DIR"),
                        "where to make the scratch file system (default: $TMPDIR or /tmp)")(
      "files", po::value<std::uint64_t>()->default_value(8)->value_name("N"),
      "files per rank migrated to each archive and recalled")(
      "size", po::value<std::string>()->default_value("4M")->value_name("SIZE"),
      "size of each of those files")("small-files",
                                     po::value<std::uint64_t>()->default_value(32)->value_name("N"),
                                     "small files per rank and archive whose first read is timed")(
      "small-size", po::value<std::string>()->default_value("64K")->value_name("SIZE"),
      "size of a small file")(
      "scan-files", po::value<std::uint64_t>()->default_value(4000)->value_name("N"),
      "files (empty, 100 per directory) of the scanned tree, over all ranks")(
      "max-recalls", po::value<unsigned>()->value_name("N"),
      "concurrent recalls of each rank's agent (default: PDM_HSM_MAX_RECALLS, else 4)")(
      "volumes", po::value<std::uint32_t>()->default_value(4)->value_name("N"),
      "volumes of the scratch file system")(
      "repeat", po::value<int>()->default_value(3)->value_name("N"),
      "measurements of each figure (the report gives the median)");
}

Result<HsmParams> hsm_params(const Context &context) {
  const auto &options = context.options();
  HsmParams p;
  p.dir = options["dir"].as<std::string>();
  p.files = options["files"].as<std::uint64_t>();
  PDM_ASSIGN_OR_RETURN(p.size, context.size_option("size"));
  p.small_files = options["small-files"].as<std::uint64_t>();
  PDM_ASSIGN_OR_RETURN(p.small_size, context.size_option("small-size"));
  p.scan_files = options["scan-files"].as<std::uint64_t>();
  if (options.count("max-recalls")) p.max_recalls = options["max-recalls"].as<unsigned>();
  p.volumes = options["volumes"].as<std::uint32_t>();
  p.repeat = options["repeat"].as<int>();
  if (p.files == 0 || p.small_files == 0 || p.scan_files == 0) {
    return make_error(EINVAL, "--files, --small-files and --scan-files must be at least 1");
  }
  if (p.size == 0 || p.small_size == 0) {
    return make_error(EINVAL, "--size and --small-size must be at least 1 byte");
  }
  if (p.small_size > p.size) return make_error(EINVAL, "--small-size is larger than --size");
  if (p.max_recalls && (*p.max_recalls < 1 || *p.max_recalls > hsm::kMaxMaxRecalls)) {
    return make_error(EINVAL, "--max-recalls must be from 1 to {}", hsm::kMaxMaxRecalls);
  }
  if (p.volumes == 0) return make_error(EINVAL, "--volumes must be at least 1");
  if (p.repeat < 1) return make_error(EINVAL, "--repeat must be at least 1");
  return p;
}

int run_hsm(Context &context) {
  auto params = hsm_params(context);
  if (!params.ok()) return context.usage_error(params.error().message);
  const HsmParams &p = *params;
  context.progress(
      "{} ranks; per rank {} files of {} per archive, {} small files of {}; scan of {} files; "
      "{} runs",
      context.size(), p.files, format_size(p.size), p.small_files, format_size(p.small_size),
      p.scan_files, p.repeat);
  return run_on_scratch(context, {p.dir, p.volumes, kMiB},
                        [&](const ScratchFs &scratch) -> Result<Json> {
                          HsmBenchmark benchmark(context, p, scratch);
                          Status ran = benchmark.setup();
                          if (ran.ok()) ran = benchmark.run();
                          // The agents stop before the unmount, even after a failure.
                          Status stopped = benchmark.teardown();
                          PDM_TRY(ran);
                          PDM_TRY(stopped);
                          return benchmark.report();
                        });
}

}  // namespace

Benchmark hsm_benchmark() {
  Benchmark b;
  b.name = "hsm";
  b.summary = "pdm-hsm: migration against cp, recall against resident reads, scan rate";
  b.description =
      "Makes a scratch pdm file system under --dir, an HDF5 and a POSIX archive beside it,\n"
      "and starts a recall agent on every rank (as pdm-hsm does). Each figure is timed on\n"
      "rank 0 between two barriers, against a baseline of the same run on the same disk:\n"
      "\n"
      "  migration  every rank copies its --files files of --size to each archive\n"
      "             (hsm::archive_copy: read with invisible I/O, durable checksummed copy,\n"
      "             record) -- against cp: read + write + fsync of the same bytes from a\n"
      "             plain directory to another\n"
      "  recall     the files are released; every rank reads its neighbour's released\n"
      "             files whole (each read recalled by the rank's agent) -- against the\n"
      "             same reads of resident files; MiB/s\n"
      "  latency    every rank reads its neighbour's --small-files released files one at\n"
      "             a time; the first pread of each (the one the recall happens in) is\n"
      "             timed -- against resident small files; p50/p99/max in microseconds\n"
      "  scan       the policy scan of 'pdm-hsm migrate' over a tree of --scan-files\n"
      "             files (walk by rank 0, files shared round robin, each rank reads the\n"
      "             records and applies a policy) -- against a walk with stat of the\n"
      "             same tree in a plain directory by one process (find); files/s.\n"
      "             Also rank 0's walk of the tree alone (pdm_walk), the part of the\n"
      "             scan that does not divide. Run with 1, 2 and 4 ranks to see how\n"
      "             it scales.\n"
      "\n"
      "Every read is verified against the data written, and the agents must have made\n"
      "exactly one recall per released file read (else the benchmark fails). The sides\n"
      "rotate which goes first from run to run; the report gives the median of --repeat\n"
      "runs and the runs. Each migration side starts after a sync(2) (untimed), so it\n"
      "does not pay for earlier writes' writeback; page caches are not dropped. The\n"
      "1-minute load average before and after is reported: other work on the machine\n"
      "skews the figures.\n"
      "\n"
      "A quick run for a smoke test: pdm-bench hsm --files 2 --size 256K --small-files 4\n"
      "  --small-size 4K --scan-files 200 --repeat 1\n";
  b.add_options = add_hsm_options;
  b.run = run_hsm;
  return b;
}

}  // namespace pdm::bench

#include "apps/mpiio/collective_buffering.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <limits>
#include <string_view>
#include <vector>

#include "apps/mpiio/shared_size.h"
#include "runtime/base/failpoint.h"
#include "runtime/mpi/collective.h"

namespace pdm::mpiio {
namespace {

// Automatic mode leaves pieces this large to the ranks: a second hop costs
// more than the requests it saves. Reads: a rank's strided read sends all
// its ranges at once (FileSystem::pread_extents), which beat aggregation
// from a page up in pdm-bench (docs/PERFORMANCE.md, session 13).
constexpr std::int64_t kLargeWritePiece = 1 << 20;
constexpr std::int64_t kLargeReadPiece = 4 << 10;
// MPI's counts and displacements are ints: one call aggregates at most this.
constexpr std::int64_t kMaxAggregated = std::int64_t{1} << 30;
// An aggregator writes a run of adjacent pieces with one request, up to this.
constexpr std::int64_t kMaxRun = 8 << 20;
// How long an exchange of pieces polls without sleeping (wait_bulk_request).
constexpr auto kBulkYielding = std::chrono::milliseconds(20);
// Scratch buffers up to this size stay for the file's next call.
constexpr std::int64_t kKeptScratch = 64 << 20;
constexpr std::int64_t kNoOffset = std::numeric_limits<std::int64_t>::max();

// What every rank tells the others before they decide (one MPI_Allgather).
struct RankSummary {
  std::int64_t ok = 0;    // its request is mapped
  std::int64_t fits = 0;  // offsets non-decreasing, sizes within MPI's ints
  std::int64_t mode = 0;  // its CbMode
  std::int64_t segments = 0;
  std::int64_t bytes = 0;
  std::int64_t first = 0;   // lowest file offset it touches (kNoOffset: none)
  std::int64_t end = 0;     // highest end
  std::int64_t stripe = 0;  // the file's stripe unit
};
constexpr int kSummaryFields = sizeof(RankSummary) / sizeof(std::int64_t);

// The file domains: [base + a * size, base + (a + 1) * size) is aggregator a's.
struct Domains {
  std::int64_t base = 0;
  std::int64_t size = 1;
  int count = 1;
  int of(std::int64_t offset) const {
    return static_cast<int>(std::min<std::int64_t>((offset - base) / size, count - 1));
  }
  std::int64_t end_of(int a) const { return a == count - 1 ? kNoOffset : base + (a + 1) * size; }
};

RankSummary summarize(const CollectiveAccess &access, CbMode mode, std::int64_t stripe) {
  RankSummary s;
  s.ok = access.status.ok() ? 1 : 0;
  s.mode = static_cast<std::int64_t>(mode);
  s.first = kNoOffset;
  s.stripe = stripe;
  if (!access.status.ok()) return s;
  const auto &segments = access.mapped->segments();
  s.segments = static_cast<std::int64_t>(segments.size());
  s.bytes = access.mapped->bytes();
  bool monotone = true;
  for (std::size_t i = 0; i < segments.size(); ++i) {
    if (i > 0 && segments[i].offset < segments[i - 1].offset) monotone = false;
    s.first = std::min(s.first, segments[i].offset);
    s.end = std::max(s.end, segments[i].offset + segments[i].length);
  }
  s.fits = monotone && s.bytes <= kMaxAggregated && s.segments <= kMaxAggregated / 16 ? 1 : 0;
  return s;
}

// The ranks' decision, the same on every rank (it reads only the summaries).
std::optional<Domains> decide(const std::vector<RankSummary> &all, std::int64_t large_piece) {
  std::int64_t segments = 0, bytes = 0, first = kNoOffset, end = 0, reach = -1;
  bool interleaved = false;
  for (const RankSummary &s : all) {
    if (s.ok == 0 || s.fits == 0) return std::nullopt;
    segments += s.segments;
    bytes += s.bytes;
    if (s.bytes == 0) continue;
    // ROMIO's test: a rank's range starts before an earlier rank's ends.
    if (s.first < reach) interleaved = true;
    reach = std::max(reach, s.end);
    first = std::min(first, s.first);
    end = std::max(end, s.end);
  }
  const auto mode = static_cast<CbMode>(all[0].mode);
  if (bytes == 0 || bytes > kMaxAggregated || mode == CbMode::disable) return std::nullopt;
  if (mode == CbMode::automatic && (!interleaved || bytes / segments >= large_piece)) {
    return std::nullopt;
  }
  const std::int64_t stripe = std::max<std::int64_t>(all[0].stripe, 1);
  Domains d;
  d.count = static_cast<int>(all.size());
  d.base = first / stripe * stripe;
  const std::int64_t span = end - d.base;
  const std::int64_t share = (span + d.count - 1) / d.count;
  d.size = std::max<std::int64_t>((share + stripe - 1) / stripe * stripe, stripe);
  return d;
}

// This rank's segments cut at domain boundaries, in stream order, and how
// many pieces and bytes go to each aggregator.
struct Pieces {
  std::vector<std::int64_t> list;  // offset, length, offset, length, ...
  std::vector<int> piece_counts;   // int64s of `list` per aggregator (2 per piece)
  std::vector<int> byte_counts;    // data bytes per aggregator
  std::vector<int> aggregator;     // of each piece
};

Pieces cut(const std::vector<Block> &segments, const Domains &domains) {
  Pieces p;
  p.piece_counts.assign(static_cast<std::size_t>(domains.count), 0);
  p.byte_counts.assign(static_cast<std::size_t>(domains.count), 0);
  for (const Block &segment : segments) {
    std::int64_t offset = segment.offset;
    const std::int64_t end = segment.offset + segment.length;
    while (offset < end) {
      const int a = domains.of(offset);
      const std::int64_t piece_end = std::min(end, domains.end_of(a));
      p.list.push_back(offset);
      p.list.push_back(piece_end - offset);
      p.piece_counts[static_cast<std::size_t>(a)] += 2;
      p.byte_counts[static_cast<std::size_t>(a)] += static_cast<int>(piece_end - offset);
      p.aggregator.push_back(a);
      offset = piece_end;
    }
  }
  return p;
}

std::vector<int> displacements(const std::vector<int> &counts) {
  std::vector<int> out(counts.size(), 0);
  for (std::size_t i = 1; i < counts.size(); ++i) out[i] = out[i - 1] + counts[i - 1];
  return out;
}

int total(const std::vector<int> &counts) {
  std::int64_t sum = 0;
  for (int c : counts) sum += c;
  return static_cast<int>(sum);
}

Status all_to_all(const mpi::Comm &comm, const std::vector<int> &send, std::vector<int> &recv) {
  recv.assign(send.size(), 0);
  MPI_Request request = MPI_REQUEST_NULL;
  PDM_TRY(mpi::check(
      MPI_Ialltoall(send.data(), 1, MPI_INT, recv.data(), 1, MPI_INT, comm.get(), &request),
      "MPI_Ialltoall"));
  return mpi::wait_request(request, "MPI_Ialltoall");
}

Status all_to_all_v(const mpi::Comm &comm, const void *send, const std::vector<int> &send_counts,
                    void *recv, const std::vector<int> &recv_counts, MPI_Datatype type) {
  const std::vector<int> send_displs = displacements(send_counts);
  const std::vector<int> recv_displs = displacements(recv_counts);
  MPI_Request request = MPI_REQUEST_NULL;
  PDM_TRY(
      mpi::check(MPI_Ialltoallv(send, send_counts.data(), send_displs.data(), type, recv,
                                recv_counts.data(), recv_displs.data(), type, comm.get(), &request),
                 "MPI_Ialltoallv"));
  return mpi::wait_bulk_request(request, "MPI_Ialltoallv", kBulkYielding);
}

// Steps shared by reads and writes: the summaries, the decision, this rank's
// pieces, and the piece lists every aggregator receives.
struct Plan {
  Domains domains;
  Pieces mine;
  std::vector<int> recv_piece_counts;  // int64s received from each rank
  std::vector<std::int64_t> received;  // their piece lists, rank after rank
  std::vector<int> recv_byte_counts;   // data bytes of each rank's pieces
};

// nullopt: do not aggregate; an error: an MPI call failed (on this rank).
Result<std::optional<Plan>> plan(pfs::FileSystem &fs, int fd, const mpi::Comm &comm,
                                 const CollectiveAccess &access, CbMode mode,
                                 std::int64_t large_piece) {
  auto stripe = fs.stripe_size(fd);
  RankSummary summary = summarize(access, mode, stripe.ok() ? *stripe : 0);
  std::vector<RankSummary> all(static_cast<std::size_t>(comm.size()));
  MPI_Request request = MPI_REQUEST_NULL;
  Status gathered = mpi::check(MPI_Iallgather(&summary, kSummaryFields, MPI_INT64_T, all.data(),
                                              kSummaryFields, MPI_INT64_T, comm.get(), &request),
                               "MPI_Iallgather");
  if (gathered.ok()) gathered = mpi::wait_request(request, "MPI_Iallgather");
  PDM_TRY(gathered);
  std::optional<Domains> domains = decide(all, large_piece);
  if (!domains) return std::optional<Plan>();

  Plan p;
  p.domains = *domains;
  p.mine = cut(access.mapped->segments(), p.domains);
  std::vector<int> counts = p.mine.piece_counts;
  PDM_TRY(all_to_all(comm, counts, p.recv_piece_counts));
  p.received.resize(static_cast<std::size_t>(total(p.recv_piece_counts)));
  PDM_TRY(all_to_all_v(comm, p.mine.list.data(), p.mine.piece_counts, p.received.data(),
                       p.recv_piece_counts, MPI_INT64_T));
  p.recv_byte_counts.assign(p.recv_piece_counts.size(), 0);
  std::size_t at = 0;
  for (std::size_t r = 0; r < p.recv_piece_counts.size(); ++r) {
    for (int i = 0; i < p.recv_piece_counts[r]; i += 2, at += 2) {
      p.recv_byte_counts[r] += static_cast<int>(p.received[at + 1]);
    }
  }
  return std::optional<Plan>(std::move(p));
}

// A piece an aggregator holds: where it goes in the file, and its bytes.
struct HeldPiece {
  std::int64_t offset = 0;
  std::int64_t length = 0;
  std::int64_t at = 0;  // in the received data
};

std::vector<HeldPiece> held_pieces(const Plan &p) {
  std::vector<HeldPiece> held;
  held.reserve(p.received.size() / 2);
  std::int64_t at = 0;
  for (std::size_t i = 0; i + 1 < p.received.size(); i += 2) {
    held.push_back({p.received[i], p.received[i + 1], at});
    at += p.received[i + 1];
  }
  // Ranks in order for pieces at one offset: overlapping writes of one
  // call land in rank order (MPI leaves them undefined).
  std::stable_sort(held.begin(), held.end(),
                   [](const HeldPiece &a, const HeldPiece &b) { return a.offset < b.offset; });
  return held;
}

// `n` bytes of a scratch buffer, kept from call to call: a fresh buffer of a
// few MiB costs more in page faults than the transfer it serves.
std::byte *room(std::vector<std::byte> &buffer, std::int64_t n) {
  if (buffer.size() < static_cast<std::size_t>(n)) buffer.resize(static_cast<std::size_t>(n));
  return buffer.data();
}

// The aggregator's part of a write: its pieces in runs of adjacent ones.
Status write_runs(pfs::FileSystem &fs, int fd, const std::vector<HeldPiece> &held,
                  const std::byte *data, std::vector<std::byte> &run) {
  for (std::size_t i = 0; i < held.size();) {
    std::size_t j = i + 1;
    std::int64_t end = held[i].offset + held[i].length;
    while (j < held.size() && held[j].offset == end &&
           end + held[j].length - held[i].offset <= kMaxRun) {
      end += held[j].length;
      ++j;
    }
    failpoint::hit("mpiio.aggregator_write");  // a test counts the runs
    if (failpoint::hit("mpiio.aggregator_write_error")) {
      return make_error(EIO, "failpoint mpiio.aggregator_write_error");
    }
    const std::byte *from = data + held[i].at;
    if (j > i + 1) {
      room(run, end - held[i].offset);
      for (std::size_t k = i; k < j; ++k) {
        std::memcpy(run.data() + (held[k].offset - held[i].offset), data + held[k].at,
                    static_cast<std::size_t>(held[k].length));
      }
      from = run.data();
    }
    const auto length = static_cast<std::size_t>(end - held[i].offset);
    PDM_ASSIGN_OR_RETURN(const std::size_t n, fs.pwrite(fd, {from, length}, held[i].offset));
    if (n != length)
      return make_error(EIO, "short write at {}: {} of {}", held[i].offset, n, length);
    i = j;
  }
  return {};
}

// The aggregator's part of a read: the union of the requested pieces, read
// at once (sieved), and each rank's pieces copied out in its order.
// `file_end` becomes where the file ended inside that union (kNoOffset if
// it did not).
Status read_for_all(pfs::FileSystem &fs, int fd, const Plan &p, std::byte *out,
                    std::vector<std::byte> &covered, std::int64_t &file_end) {
  file_end = kNoOffset;
  std::vector<HeldPiece> held = held_pieces(p);
  std::vector<Block> cover;
  for (const HeldPiece &h : held) {
    if (!cover.empty() && h.offset <= cover.back().offset + cover.back().length) {
      cover.back().length =
          std::max(cover.back().length, h.offset + h.length - cover.back().offset);
    } else {
      cover.push_back({h.offset, h.length});
    }
  }
  if (cover.empty()) return {};
  std::vector<std::int64_t> before(cover.size(), 0);  // cover bytes before each block
  for (std::size_t i = 1; i < cover.size(); ++i) before[i] = before[i - 1] + cover[i - 1].length;
  const std::int64_t wanted = before.back() + cover.back().length;
  failpoint::hit("mpiio.aggregator_read");  // a test sees that reads aggregate
  if (failpoint::hit("mpiio.aggregator_read_error")) {
    return make_error(EIO, "failpoint mpiio.aggregator_read_error");
  }
  PDM_ASSIGN_OR_RETURN(const std::int64_t got, read_segments(fs, fd, cover, room(covered, wanted)));
  if (got < wanted) {
    const auto k = static_cast<std::size_t>(std::upper_bound(before.begin(), before.end(), got) -
                                            before.begin() - 1);
    file_end = cover[k].offset + (got - before[k]);
  }
  for (const HeldPiece &h : held) {
    const auto k = static_cast<std::size_t>(
        std::upper_bound(cover.begin(), cover.end(), h.offset,
                         [](std::int64_t offset, const Block &b) { return offset < b.offset; }) -
        cover.begin() - 1);
    // Past the end of the file a rank gets zeros, not an earlier call's bytes.
    const std::int64_t valid = std::clamp<std::int64_t>(file_end - h.offset, 0, h.length);
    std::memcpy(out + h.at, covered.data() + before[k] + (h.offset - cover[k].offset),
                static_cast<std::size_t>(valid));
    std::memset(out + h.at + valid, 0, static_cast<std::size_t>(h.length - valid));
  }
  return {};
}

}  // namespace

void CbScratch::trim() {
  for (auto *buffer : {&received, &run, &covered}) {
    if (buffer->size() > static_cast<std::size_t>(kKeptScratch))
      std::vector<std::byte>().swap(*buffer);
  }
}

CbHints cb_hints_of(MPI_Info info) {
  CbHints hints;
  if (info == MPI_INFO_NULL) return hints;
  auto mode_of = [&](const char *key) {
    char value[32] = {};
    int found = 0;
    MPI_Info_get(info, key, sizeof value - 1, value, &found);
    const std::string_view v = found ? value : "";
    if (v == "enable") return CbMode::enable;
    if (v == "disable") return CbMode::disable;
    return CbMode::automatic;
  };
  hints.write = mode_of("romio_cb_write");
  hints.read = mode_of("romio_cb_read");
  return hints;
}

std::optional<Result<std::int64_t>> write_aggregated(pfs::FileSystem &fs, int fd,
                                                     const mpi::Comm &comm,
                                                     const CollectiveAccess &access, CbMode mode,
                                                     CbScratch &scratch) {
  auto planned = plan(fs, fd, comm, access, mode, kLargeWritePiece);
  if (!planned.ok()) return Result<std::int64_t>(planned.error());
  if (!*planned) return std::nullopt;
  const Plan &p = **planned;
  std::byte *data = room(scratch.received, total(p.recv_byte_counts));
  Status done = all_to_all_v(comm, access.mapped->data(), p.mine.byte_counts, data,
                             p.recv_byte_counts, MPI_BYTE);
  if (!done.ok()) return Result<std::int64_t>(done.error());
  Status written = write_runs(fs, fd, held_pieces(p), data, scratch.run);
  // Every rank learns the sizes the aggregators' writes made (shared_size.h).
  Status shared = share_known_sizes(fs, fd, comm);
  if (written.ok()) written = std::move(shared);
  Status agreed = mpi::agree(comm, std::move(written));
  if (!agreed.ok()) return Result<std::int64_t>(agreed.error());
  return Result<std::int64_t>(access.mapped->bytes());
}

std::optional<Result<std::int64_t>> read_aggregated(pfs::FileSystem &fs, int fd,
                                                    const mpi::Comm &comm,
                                                    const CollectiveAccess &access, CbMode mode,
                                                    CbScratch &scratch) {
  auto planned = plan(fs, fd, comm, access, mode, kLargeReadPiece);
  if (!planned.ok()) return Result<std::int64_t>(planned.error());
  if (!*planned) return std::nullopt;
  const Plan &p = **planned;
  // Aggregators read, then send each rank its pieces: in stream order, so
  // they land straight in the rank's packed data.
  const std::int64_t sending = total(p.recv_byte_counts);
  std::byte *out = room(scratch.received, sending);
  std::int64_t file_end = kNoOffset;
  Status read = read_for_all(fs, fd, p, out, scratch.covered, file_end);
  if (!read.ok()) std::memset(out, 0, static_cast<std::size_t>(sending));
  Status moved = all_to_all_v(comm, out, p.recv_byte_counts, access.mapped->data(),
                              p.mine.byte_counts, MPI_BYTE);
  if (!moved.ok()) return Result<std::int64_t>(moved.error());
  std::vector<std::int64_t> ends(static_cast<std::size_t>(comm.size()), kNoOffset);
  MPI_Request request = MPI_REQUEST_NULL;
  Status gathered = mpi::check(
      MPI_Iallgather(&file_end, 1, MPI_INT64_T, ends.data(), 1, MPI_INT64_T, comm.get(), &request),
      "MPI_Iallgather");
  if (gathered.ok()) gathered = mpi::wait_request(request, "MPI_Iallgather");
  if (!gathered.ok()) return Result<std::int64_t>(gathered.error());
  Status agreed = mpi::agree(comm, std::move(read));
  if (!agreed.ok()) return Result<std::int64_t>(agreed.error());
  // As an independent read: the bytes up to the first piece the file's end cut.
  std::int64_t got = 0;
  for (std::size_t i = 0; i < p.mine.aggregator.size(); ++i) {
    const std::int64_t offset = p.mine.list[2 * i], length = p.mine.list[2 * i + 1];
    const std::int64_t end = ends[static_cast<std::size_t>(p.mine.aggregator[i])];
    const std::int64_t valid = std::clamp<std::int64_t>(end - offset, 0, length);
    got += valid;
    if (valid < length) break;
  }
  access.mapped->finish_read(got);
  return Result<std::int64_t>(got);
}

}  // namespace pdm::mpiio

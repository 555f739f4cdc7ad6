#include "runtime/mpi/collective.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "runtime/mpi/backoff.h"

namespace pdm::mpi {

Status wait_request(MPI_Request &request, std::string_view what) {
  Backoff backoff;
  for (;;) {
    int done = 0;
    MPI_Status status;
    PDM_TRY(check(MPI_Test(&request, &done, &status), what));
    if (done) return {};
    backoff.pause();
  }
}

Status wait_bulk_request(MPI_Request &request, std::string_view what,
                         std::chrono::microseconds yielding) {
  const auto start = std::chrono::steady_clock::now();
  for (;;) {
    int done = 0;
    MPI_Status status;
    PDM_TRY(check(MPI_Test(&request, &done, &status), what));
    if (done) return {};
    if (std::chrono::steady_clock::now() - start >= yielding) break;
    std::this_thread::yield();
  }
  return wait_request(request, what);
}

Result<PendingDup> PendingDup::start(MPI_Comm parent) {
  PendingDup pending;
  PDM_TRY(check(MPI_Comm_idup(parent, &pending.comm_, &pending.request_), "MPI_Comm_idup"));
  return pending;
}

PendingDup::PendingDup(PendingDup &&other) noexcept
    : comm_(std::exchange(other.comm_, MPI_COMM_NULL)),
      request_(std::exchange(other.request_, MPI_REQUEST_NULL)) {}

PendingDup::~PendingDup() {
  if (request_ == MPI_REQUEST_NULL && comm_ == MPI_COMM_NULL) return;
  (void)finish();  // the Comm it returns frees the duplicate
}

Result<Comm> PendingDup::finish() {
  if (request_ != MPI_REQUEST_NULL) {
    Status waited = wait_request(request_, "MPI_Comm_idup");
    request_ = MPI_REQUEST_NULL;
    if (!waited.ok()) {
      comm_ = MPI_COMM_NULL;
      return waited.error();
    }
  }
  if (comm_ == MPI_COMM_NULL) return make_error(EINVAL, "the duplicate was already taken");
  return Comm::adopt(std::exchange(comm_, MPI_COMM_NULL));
}

Result<std::vector<std::byte>> broadcast_from_root(const Comm &comm,
                                                   Result<std::vector<std::byte>> at_root) {
  // A first block of kInline bytes holds the header (errno, length) and
  // the start of the bytes or message; the rest, if any, follows.
  constexpr std::size_t kInline = 1024;
  constexpr std::size_t kHeader = 2 * sizeof(std::int64_t);
  std::vector<std::byte> block(kInline);
  std::vector<std::byte> whole;
  std::int64_t header[2] = {0, 0};
  if (comm.rank() == 0) {
    if (at_root.ok()) {
      whole = std::move(*at_root);
    } else {
      header[0] = at_root.error().code;
      const std::string &text = at_root.error().message;
      whole.resize(text.size());
      std::transform(text.begin(), text.end(), whole.begin(),
                     [](char c) { return static_cast<std::byte>(c); });
    }
    header[1] = static_cast<std::int64_t>(whole.size());
    std::memcpy(block.data(), header, kHeader);
    // std::copy_n, not memcpy: an empty vector's data() may be null.
    std::copy_n(whole.begin(), std::min(whole.size(), kInline - kHeader), block.begin() + kHeader);
  }
  MPI_Request request = MPI_REQUEST_NULL;
  PDM_TRY(
      check(MPI_Ibcast(block.data(), static_cast<int>(kInline), MPI_BYTE, 0, comm.get(), &request),
            "MPI_Ibcast"));
  PDM_TRY(wait_request(request, "MPI_Ibcast"));
  std::memcpy(header, block.data(), kHeader);
  const auto length = static_cast<std::size_t>(header[1]);
  if (length > kInline - kHeader) {
    if (comm.rank() != 0) whole.resize(length);
    const std::size_t rest = length - (kInline - kHeader);
    if (rest > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
      return make_error(EMSGSIZE, "a broadcast of {} bytes", length);
    }
    PDM_TRY(check(MPI_Ibcast(whole.data() + (kInline - kHeader), static_cast<int>(rest), MPI_BYTE,
                             0, comm.get(), &request),
                  "MPI_Ibcast"));
    PDM_TRY(wait_request(request, "MPI_Ibcast"));
  } else if (comm.rank() != 0) {
    whole.resize(length);
  }
  if (comm.rank() != 0) {
    std::copy_n(block.begin() + kHeader, std::min(length, kInline - kHeader), whole.begin());
  }
  if (header[0] != 0) {
    std::string text(whole.size(), '\0');
    std::transform(whole.begin(), whole.end(), text.begin(),
                   [](std::byte b) { return static_cast<char>(b); });
    return Error{static_cast<int>(header[0]), std::move(text)};
  }
  return whole;
}

Status barrier(const Comm &comm) {
  MPI_Request request = MPI_REQUEST_NULL;
  PDM_TRY(check(MPI_Ibarrier(comm.get(), &request), "MPI_Ibarrier"));
  return wait_request(request, "MPI_Ibarrier");
}

Status agree(const Comm &comm, Status local) {
  // The lowest failing rank, or comm.size() when none failed.
  int mine = local.ok() ? comm.size() : comm.rank();
  int first = 0;
  MPI_Request request = MPI_REQUEST_NULL;
  PDM_TRY(check(MPI_Iallreduce(&mine, &first, 1, MPI_INT, MPI_MIN, comm.get(), &request),
                "MPI_Iallreduce"));
  PDM_TRY(wait_request(request, "MPI_Iallreduce"));
  if (first == comm.size()) return {};

  // The failing rank broadcasts its errno and message.
  int code = local.ok() ? 0 : local.error().code;
  std::string text = local.ok() ? std::string() : local.error().message;
  int length = static_cast<int>(text.size());
  int header[2] = {code, length};
  PDM_TRY(check(MPI_Bcast(header, 2, MPI_INT, first, comm.get()), "MPI_Bcast"));
  text.resize(static_cast<std::size_t>(header[1]));
  PDM_TRY(check(MPI_Bcast(text.data(), header[1], MPI_CHAR, first, comm.get()), "MPI_Bcast"));
  if (comm.rank() == first) return local;
  return Error{header[0], first == 0 ? text : fmt::format("rank {}: {}", first, text)};
}

}  // namespace pdm::mpi

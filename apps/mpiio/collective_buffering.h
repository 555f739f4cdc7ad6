// Collective buffering (two-phase I/O, as ROMIO's): in a collective call
// whose ranks' accesses interleave in the file, every rank sends its pieces
// to the aggregator of the file domain they fall in, and each aggregator
// writes (or reads) its domain in runs as long as the pieces allow. Without
// it, a rank whose view selects many small pieces (a column of a 2-D array,
// an HDF5 hyperslab) makes one pdm request per piece; with it, the pieces of
// all ranks that lie side by side in the file become one request.
//
// The file range the call touches is cut into one domain per rank of the
// file's communicator, aligned to the file's stripe unit, so a domain's runs
// cross few stripe boundaries. Pieces travel with MPI_Ialltoallv on the
// file's communicator, waited on with mpi::wait_bulk_request (yields, then
// backoff: mpi/collective.h).
//
// When: the hints romio_cb_write and romio_cb_read ("enable", "disable",
// "automatic"; ROMIO's names and values) decide, rank 0's value for all.
// Automatic (the default) aggregates when the accesses interleave (a rank's
// range starts before an earlier rank's ends, ROMIO's test) and the pieces
// average less than 1 MiB for writes, less than 4 KiB for reads: larger
// pieces gain nothing from a second hop (a rank's own strided read already
// has all its ranges in flight at once).
// Never when a rank's request failed before the call (it reports its error,
// the others transfer on their own), when a rank's file offsets go backwards
// (a view MPI forbids), or past 1 GiB in one call (MPI's int counts).
#pragma once

#include <mpi.h>

#include <cstdint>
#include <optional>
#include <vector>

#include "apps/mpiio/transfer.h"
#include "pfs/client/file_system.h"
#include "runtime/base/result.h"
#include "runtime/mpi/comm.h"

namespace pdm::mpiio {

enum class CbMode { automatic, enable, disable };

struct CbHints {
  CbMode write = CbMode::automatic;
  CbMode read = CbMode::automatic;
};

// romio_cb_write and romio_cb_read of `info`; automatic where absent or unknown.
CbHints cb_hints_of(MPI_Info info);

// One rank's part in a collective transfer: its request mapped on the view,
// or the error that made it take no part.
struct CollectiveAccess {
  Status status;
  MappedRequest *mapped = nullptr;  // set when status is ok
};

// An aggregator's buffers, kept for the file's next collective call: a
// fresh buffer of a few MiB costs more in page faults than the transfer.
struct CbScratch {
  std::vector<std::byte> received;  // the pieces' data (reads: to send back)
  std::vector<std::byte> run;       // a run of adjacent pieces being written
  std::vector<std::byte> covered;   // the union of the pieces read
  // Frees the buffers a large call grew past what is worth keeping.
  void trim();
};

// Collective over comm (every rank calls it, whatever its status). Returns
// nullopt when the ranks chose not to aggregate: each rank then transfers
// on its own. Otherwise this rank's result, the same error on every rank
// if any failed (the lowest failing rank's): the bytes its request moved (a
// read gets fewer at the end of the file). An aggregated write returns once
// every rank published the sizes of its writes (lazy size, this call's and
// earlier ones), so the call's data is visible to all ranks.
std::optional<Result<std::int64_t>> write_aggregated(pfs::FileSystem &fs, int fd,
                                                     const mpi::Comm &comm,
                                                     const CollectiveAccess &access, CbMode mode,
                                                     CbScratch &scratch);
std::optional<Result<std::int64_t>> read_aggregated(pfs::FileSystem &fs, int fd,
                                                    const mpi::Comm &comm,
                                                    const CollectiveAccess &access, CbMode mode,
                                                    CbScratch &scratch);

}  // namespace pdm::mpiio

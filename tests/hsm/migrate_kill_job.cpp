// The program of the migration invariant scenario (migrate_kill.sh):
//   populate FS COUNT            rank 0 writes COUNT files /dK/fI (sizes
//                                from 0 to ~300 KiB, deterministic bytes)
//   verify FS COUNT [migrated|""] [SKIP]
//                                every rank runs the recall agent and reads
//                                its share of the files through the ordinary
//                                read path (recalled if migrated): each must
//                                be byte-identical to what populate wrote.
//                                "migrated": every file must also be
//                                migrated before it is read (the job that
//                                finished the work released everything).
//                                SKIP: a path that was deleted (not read).
//   unlink FS PATH               rank 0 removes PATH in a job that runs no
//                                recall agent (as a program that does not
//                                start one would): nothing notes its copy.
// Prints "verified N files (M were migrated)" on rank 0.
#include <fcntl.h>
#include <pdm/pdm.h>

#include <array>
#include <cstdlib>
#include <string>

#include "apps/hsm/agent/fs_archives.h"
#include "apps/hsm/agent/recall_agent.h"
#include "runtime/dm/api/handles.h"
#include "tests/jobs/job_util.h"

namespace {

using namespace pdm;
using namespace pdm::jobs;

constexpr std::array<std::uint64_t, 8> kSizes{0, 1, 4095, 4096, 4097, 65536, 100000, 300001};

std::string path_of(int i) {
  return fmt::format("/d{}/f{}", i % 4, i);
}
std::uint64_t size_of(int i) {
  return kSizes[static_cast<std::size_t>(i) % kSizes.size()] + static_cast<std::uint64_t>(i) * 37;
}
std::uint64_t seed_of(int i) {
  return 1000 + static_cast<std::uint64_t>(i);
}

bool populate(int count) {
  if (rank() != 0) return true;
  for (int d = 0; d < 4; ++d) {
    if (pdm_mkdir(fmt::format("/d{}", d).c_str(), 0755) != 0) {
      report("mkdir /d{}: {}", d, pdm_last_error());
      return false;
    }
  }
  for (int i = 0; i < count; ++i) {
    const std::string path = path_of(i);
    const int fd = pdm_open(path.c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0644);
    if (fd < 0) {
      report("create {}: {}", path, pdm_last_error());
      return false;
    }
    const auto data = pattern(seed_of(i), 0, size_of(i));
    const bool written = pdm_write_all(fd, data, 0, path);
    if (pdm_close(fd) != 0 || !written) return false;
  }
  return true;
}

bool verify(const std::string &fs, int count, bool want_migrated, const std::string &skip) {
  auto archives = hsm::archives_of(fs);
  if (!archives.ok()) {
    report("archives: {}", archives.error().message);
    return false;
  }
  auto agent = hsm::RecallAgent::start(*archives);
  if (!agent.ok()) {
    report("recall agent: {}", agent.error().message);
    return false;
  }
  bool ok = all(true);  // every agent is up before any read
  std::uint64_t migrated = 0;
  std::uint64_t verified = 0;
  for (int i = rank(); i < count; i += size()) {
    const std::string path = path_of(i);
    if (path == skip) {
      ++verified;
      continue;
    }
    auto h = dm::api::handle_of(path);
    if (!h.ok()) {
      report("{}: {}", path, h.error().message);
      ok = false;
      continue;
    }
    auto record = hsm::read_record((*agent)->session(), *h);
    if (!record.ok()) {
      report("{}: record: {}", path, record.error().message);
      ok = false;
      continue;
    }
    const bool is_migrated = *record && (*record)->state == hsm::FileState::kMigrated;
    migrated += is_migrated ? 1 : 0;
    if (want_migrated && !is_migrated) {
      report("{}: not migrated after the finishing job (record: {})", path,
             *record ? (*record)->encode() : "none");
      ok = false;
    }
    auto data = pdm_read_file(path);
    if (!data) {
      ok = false;
      continue;
    }
    if (*data != pattern(seed_of(i), 0, size_of(i))) {
      report("{}: {} bytes read back differ from the {} bytes written", path, data->size(),
             size_of(i));
      ok = false;
      continue;
    }
    ++verified;
  }
  ok = all(ok);
  std::array<std::uint64_t, 2> counts{verified, migrated};
  std::array<std::uint64_t, 2> total{};
  MPI_Allreduce(counts.data(), total.data(), 2, MPI_UINT64_T, MPI_SUM, MPI_COMM_WORLD);
  if (auto stopped = (*agent)->stop(); !stopped.ok()) {
    report("stopping the agent: {}", stopped.error().message);
    ok = false;
  }
  if (rank() == 0) fmt::print("verified {} files ({} were migrated)\n", total[0], total[1]);
  return ok && total[0] == static_cast<std::uint64_t>(count);
}

}  // namespace

int main(int argc, char **argv) {
  init_mpi(argc, argv);
  if (argc < 4) {
    if (rank() == 0)
      std::fprintf(stderr, "usage: %s populate|verify FS COUNT [migrated] | unlink FS PATH\n",
                   argv[0]);
    MPI_Finalize();
    return 2;
  }
  const std::string mode = argv[1];
  const std::string fs = argv[2];
  const int count = std::atoi(argv[3]);
  if (pdm_start(MPI_COMM_WORLD, fs.c_str()) != 0) {
    report("pdm_start: {}", pdm_last_error());
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
  bool ok = false;
  if (mode == "populate") {
    ok = all(populate(count));
  } else if (mode == "unlink") {
    ok = rank() != 0 || pdm_unlink(argv[3]) == 0;
    if (!ok) report("unlink {}: {}", argv[3], pdm_last_error());
    ok = all(ok);
  } else if (mode == "verify") {
    ok = verify(fs, count, argc > 4 && std::string(argv[4]) == "migrated", argc > 5 ? argv[5] : "");
  }
  if (pdm_stop() != 0) {
    report("pdm_stop: {}", pdm_last_error());
    ok = false;
  }
  MPI_Finalize();
  return ok ? 0 : 1;
}

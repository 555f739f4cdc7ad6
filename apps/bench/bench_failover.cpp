// pdm-bench failover (issue #4): how long pdm takes to recover from the
// death of a rank, against the configured heartbeat timeout measured in the
// same run (the time a survivor must wait before it may suspect a silent
// rank). The victim (rank 0 by default: the session manager and the
// metadata server at once) holds a DM session and SIGKILLs itself right
// after a barrier; every survivor then starts, at once and in parallel:
//   view       polling its view until the victim is gone;
//   metadata   an exclusive create, served by the next metadata server;
//   io         a write over every volume (the victim's included), read back;
// and the lowest survivor also
//   takeover   waits for the victim's session to be orphaned and assumes
//              it (dm_create_session(oldsid)), served by the manager;
//   standby    waits until its standby session took over the victim's
//              second session, of their group (pdm_dm_set_session_standby),
//              as the manager does on its own.
// Each is the time from the kill to its completion, the slowest survivor's.
// Needs mpirun --enable-recovery (scripts/test.sh --failure-flags).
#include <fcntl.h>
#include <pdm/pdm.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <thread>
#include <vector>

#include "apps/bench/bench_common.h"
#include "runtime/dm/api/session.h"
#include "runtime/node/process_node.h"

namespace pdm::bench {
namespace {

struct Times {
  double view = 0;
  double metadata = 0;
  double io = 0;
  double takeover = 0;  // lowest survivor only
  double standby = 0;   // lowest survivor only
};

constexpr const char *kGroup = "pdm-bench-failover";

Status errno_status(const char *what, const std::string &path) {
  return make_error(errno, "{} {}: {}", what, path, pdm_last_error());
}

// Waits until this rank's view no longer holds the victim.
Status wait_for_view_without(int victim) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  for (;;) {
    pdm_view_info info{};
    std::vector<int> members(64);
    if (pdm_get_view(&info, members.data(), static_cast<int>(members.size())) != 0) {
      return make_error(errno, "pdm_get_view: {}", pdm_last_error());
    }
    members.resize(static_cast<std::size_t>(info.members));
    if (std::find(members.begin(), members.end(), victim) == members.end()) return {};
    if (std::chrono::steady_clock::now() > deadline) {
      return make_error(ETIMEDOUT, "rank {} was still in the view 60 s after its kill", victim);
    }
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
}

// Waits until `sid` is orphaned in this rank's replica, then assumes it.
Status take_over(dm::SessionId sid) {
  auto &control = node::process_node()->control();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  for (;;) {
    const bool orphaned = control.read([&](const dm::SessionTable &table) {
      const auto *session = table.session(sid);
      return session != nullptr && session->state == dm::SessionState::kOrphaned;
    });
    if (orphaned) break;
    if (std::chrono::steady_clock::now() > deadline) {
      return make_error(ETIMEDOUT, "session {} was not orphaned within 60 s", sid);
    }
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  PDM_ASSIGN_OR_RETURN(auto session, dm::api::Session::assume(sid, "pdm-bench failover"));
  return {};
}

// Waits until `standby` answers for `sid` in this rank's replica.
Status wait_for_standby(dm::SessionId sid, dm::SessionId standby) {
  auto &control = node::process_node()->control();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (control.read([&](const dm::SessionTable &table) { return table.successor(sid); }) !=
         standby) {
    if (std::chrono::steady_clock::now() > deadline) {
      return make_error(ETIMEDOUT, "session {} was not taken over by its standby within 60 s", sid);
    }
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  return {};
}

Status write_and_check(int fd, std::size_t size, char fill) {
  const std::vector<char> out(size, fill);
  if (pdm_pwrite(fd, out.data(), size, 0) != static_cast<ssize_t>(size)) {
    return make_error(errno, "pwrite of {} bytes: {}", size, pdm_last_error());
  }
  std::vector<char> in(size);
  if (pdm_pread(fd, in.data(), size, 0) != static_cast<ssize_t>(size) || in != out) {
    return make_error(EIO, "the data written after the kill did not read back");
  }
  return {};
}

int run_failover(Context &context) {
  const int victim = context.options()["victim"].as<int>();
  if (context.size() < 3) return context.usage_error("failover needs at least 3 ranks");
  if (victim < 0 || victim >= context.size()) {
    return context.usage_error(
        fmt::format("--victim {} is not a rank of 0..{}", victim, context.size() - 1));
  }
  auto io_size = context.size_option("io-size");
  if (!io_size.ok()) return context.usage_error(io_size.error().message);
  const int rank = context.rank();
  const bool dies = rank == victim;

  auto scratch = ScratchFs::create(context.world(), ScratchOptions{});
  if (!scratch.ok()) return context.fail(scratch.error());
  // The baseline: how long a survivor must hear nothing before it may suspect.
  const double heartbeat =
      std::chrono::duration<double>(node::process_node()->detector().timeout()).count();
  // The survivors' communicator, made before the kill: creating one during
  // the view change would race pdm's own (docs/FAILURES.md §1).
  MPI_Comm split = MPI_COMM_NULL;
  MPI_Comm_split(context.world().get(), dies ? MPI_UNDEFINED : 0, rank, &split);
  std::optional<mpi::Comm> survivors;
  if (!dies) {
    auto adopted = mpi::Comm::adopt(split);
    if (!adopted.ok()) return context.fail(adopted.error());
    survivors.emplace(std::move(adopted).value());
  }

  // The victim's sessions, known to every rank: one to assume by hand, one
  // in a group where the lowest survivor is a standby; every survivor's open file.
  const int lowest_survivor = victim == 0 ? 1 : 0;
  dm::SessionId sids[2] = {0, 0};  // by hand, grouped
  dm::SessionId standby_id = 0;
  std::optional<dm::api::Session> held[2];
  std::optional<dm::api::Session> standby;
  Status ready;
  auto grouped_session = [&](const char *info, bool is_standby) -> Result<dm::api::Session> {
    PDM_ASSIGN_OR_RETURN(auto session, dm::api::Session::create(info));
    PDM_TRY(session.join_group(kGroup));
    if (is_standby) PDM_TRY(session.set_standby(true));
    return session;
  };
  if (dies) {
    auto plain = dm::api::Session::create("pdm-bench failover victim");
    auto grouped = plain.ok() ? grouped_session("pdm-bench failover grouped victim", false)
                              : Result<dm::api::Session>(plain.error());
    if (plain.ok() && grouped.ok()) {
      sids[0] = plain->id();
      sids[1] = grouped->id();
      held[0].emplace(std::move(plain).value());
      held[1].emplace(std::move(grouped).value());
    } else {
      ready = plain.ok() ? grouped.error() : plain.error();
    }
  }
  if (rank == lowest_survivor) {
    auto made = grouped_session("pdm-bench failover standby", true);
    if (made.ok()) {
      standby_id = made->id();
      standby.emplace(std::move(made).value());
    } else {
      ready = made.error();
    }
  }
  const std::string path = fmt::format("/io-{}", rank);
  const int fd = dies ? -1 : pdm_open(path.c_str(), O_CREAT | O_RDWR, 0644);
  if (!dies && fd < 0) ready = errno_status("open", path);
  if (auto agreed = all_ok(context.world(), ready); !agreed.ok()) {
    return context.fail(agreed.error());
  }
  static_assert(sizeof(dm::SessionId) == sizeof(std::int32_t));
  MPI_Bcast(sids, 2, MPI_INT32_T, victim, context.world().get());
  context.progress("killing rank {}", victim);

  MPI_Barrier(context.world().get());
  if (dies) {
    std::fflush(nullptr);
    ::kill(::getpid(), SIGKILL);
    for (;;) ::pause();
  }
  const double killed = MPI_Wtime();
  Times times;
  Status view, metadata, io, takeover, taken_by_standby;
  std::vector<std::thread> threads;
  threads.emplace_back([&] {
    view = wait_for_view_without(victim);
    times.view = MPI_Wtime() - killed;
  });
  threads.emplace_back([&] {
    const std::string created = fmt::format("/after-{}", rank);
    const int made = pdm_open(created.c_str(), O_CREAT | O_EXCL | O_WRONLY, 0644);
    metadata = made >= 0 && pdm_close(made) == 0 ? Status{} : errno_status("create", created);
    times.metadata = MPI_Wtime() - killed;
  });
  threads.emplace_back([&] {
    io = write_and_check(fd, *io_size, static_cast<char>('a' + rank % 26));
    times.io = MPI_Wtime() - killed;
  });
  if (survivors->rank() == 0) {
    threads.emplace_back([&] {
      takeover = take_over(sids[0]);
      times.takeover = MPI_Wtime() - killed;
    });
    threads.emplace_back([&] {
      taken_by_standby = wait_for_standby(sids[1], standby_id);
      times.standby = MPI_Wtime() - killed;
    });
  }
  for (auto &thread : threads) thread.join();
  standby.reset();  // destroys the standby session, with what it took over
  Status mine = view;
  for (const Status *s : {&metadata, &io, &takeover, &taken_by_standby}) {
    if (mine.ok() && !s->ok()) mine = *s;
  }
  (void)pdm_close(fd);
  const auto agreed = all_ok(*survivors, mine);
  double slowest[5] = {};
  const double own[5] = {times.view, times.metadata, times.io, times.takeover, times.standby};
  MPI_Reduce(own, slowest, 5, MPI_DOUBLE, MPI_MAX, 0, survivors->get());
  pdm_view_info info{};
  std::vector<int> members(static_cast<std::size_t>(context.size()));
  (void)pdm_get_view(&info, members.data(), context.size());
  (*scratch)->survive_failure(*survivors);
  const Status closed = (*scratch)->close();
  // The lowest survivor speaks for them (world rank 0 may be the victim).
  const bool speaks = survivors->rank() == 0;
  for (const Status *s : {&agreed, &closed}) {
    if (s->ok()) continue;
    if (speaks) fmt::print(stderr, "pdm-bench failover: {}\n", s->error().message);
    return kExitFailed;
  }
  if (!speaks) return kExitOk;

  Json report;
  report["benchmark"] = "failover";
  report["ranks"] = context.size();
  report["victim"] = victim;
  report["io_bytes"] = *io_size;
  report["heartbeat_timeout_s"] = heartbeat;
  Json after;
  after["view_change_s"] = slowest[0];
  after["metadata_serving_s"] = slowest[1];
  after["io_resumed_s"] = slowest[2];
  after["session_takeover_s"] = slowest[3];
  after["standby_takeover_s"] = slowest[4];
  report["since_kill"] = after;
  Json ratio;
  for (const auto &[name, seconds] : after.items()) {
    ratio[name] = heartbeat > 0 ? seconds.get<double>() / heartbeat : 0.0;
  }
  report["ratio_to_heartbeat_timeout"] = ratio;
  report["view_epoch"] = info.epoch;
  print_json(report);  // from the lowest survivor, not rank 0, which may be the victim
  return kExitOk;
}

}  // namespace

Benchmark failover_benchmark() {
  Benchmark b;
  b.name = "failover";
  b.summary = "recovery from a SIGKILLed rank against the heartbeat timeout";
  b.description =
      "Kills one rank (--victim, default 0: the session manager and the metadata\n"
      "server) right after a barrier and measures, on every survivor, the time from\n"
      "the kill to: the view without it (view_change_s), an exclusive create served\n"
      "by the next metadata server (metadata_serving_s), a write of --io-size over\n"
      "every volume read back (io_resumed_s), and, on the lowest survivor, the\n"
      "victim's DM session orphaned and assumed (session_takeover_s) and its\n"
      "grouped session taken over by the survivor's standby (standby_takeover_s).\n"
      "The slowest survivor's figures are reported, with their ratio to the heartbeat\n"
      "timeout (cluster.heartbeat_timeout, PDM_CLUSTER_HEARTBEAT_TIMEOUT) of the same\n"
      "run.\n"
      "The lowest survivor prints the report. Needs at least 3 ranks and\n"
      "mpirun --enable-recovery (see docs/FAILURES.md).\n";
  b.add_options = [](po::options_description &options) {
    options.add_options()("victim", po::value<int>()->default_value(0), "the rank to kill")(
        "io-size", po::value<std::string>()->default_value("4M"),
        "bytes each survivor writes after the kill");
  };
  b.run = run_failover;
  b.survives_a_kill = true;
  return b;
}

}  // namespace pdm::bench

// pdm-bench events: what a DMAPI event costs. A synchronous event's round
// trip from a source rank to a session on another rank, against an MPI
// ping-pong between the same two ranks in the same run; the same round trip
// when the session is on the source rank; asynchronous event throughput into
// one session; and how long dm_create_session takes with N ranks.
//
// The session side is a DM application written against <pdm/dmapi.h>
// (dm_get_events, dm_respond_event). The source side raises events through
// the node's EventService, the EventGate pfs calls at its event points, so
// the figures are the event path alone, without the file operation around it.
#include <pdm/dmapi.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <memory>
#include <thread>
#include <vector>

#include "apps/bench/bench_common.h"
#include "pfs/dm_events.h"
#include "runtime/dm/event_service.h"
#include "runtime/node/process_node.h"

namespace pdm::bench {
namespace {

// The target: the synchronous round trip's p50 at most 2x the
// MPI ping-pong's between the same ranks.
constexpr double kRoundTripRatioMax = 2.0;
constexpr int kPingTag = 4711;

struct EventsParams {
  std::string dir;
  int round_trips = 0;  // synchronous events per measurement
  int async_events = 0;
  int sessions = 0;  // sessions each rank creates in the create phase
  int repeat = 0;
};

Error errno_error(const char *what) {
  return make_error(errno, "{}: {}", what, std::strerror(errno));
}

// A session of this rank that holds `events` of the mounted file system:
// created, disposed and put in the event list; destroyed with the object.
class BenchSession {
 public:
  static Result<std::unique_ptr<BenchSession>> create(const char *info,
                                                      std::initializer_list<int> events) {
    auto session = std::unique_ptr<BenchSession>(new BenchSession);
    if (dm_create_session(DM_NO_SESSION, const_cast<char *>(info), &session->sid_) != 0) {
      return errno_error("dm_create_session");
    }
    session->created_ = true;
    void *fs_handle = nullptr;
    size_t fs_handle_len = 0;
    if (dm_path_to_fshandle(const_cast<char *>("/"), &fs_handle, &fs_handle_len) != 0) {
      return errno_error("dm_path_to_fshandle");
    }
    dm_eventset_t set;
    DMEV_ZERO(set);
    for (int event : events) DMEV_SET(static_cast<dm_eventtype_t>(event), set);
    const int disp =
        dm_set_disp(session->sid_, fs_handle, fs_handle_len, DM_NO_TOKEN, &set, DM_EVENT_MAX);
    const int list = disp != 0 ? -1
                               : dm_set_eventlist(session->sid_, fs_handle, fs_handle_len,
                                                  DM_NO_TOKEN, &set, DM_EVENT_MAX);
    const int saved = errno;
    dm_handle_free(fs_handle, fs_handle_len);
    errno = saved;
    if (disp != 0) return errno_error("dm_set_disp");
    if (list != 0) return errno_error("dm_set_eventlist");
    return session;
  }
  BenchSession(const BenchSession &) = delete;
  BenchSession &operator=(const BenchSession &) = delete;
  ~BenchSession() {
    if (created_) dm_destroy_session(sid_);  // on an error path: best effort
  }

  Status destroy() {
    created_ = false;
    if (dm_destroy_session(sid_) != 0) return errno_error("dm_destroy_session");
    return {};
  }

  // Takes `count` events, answering every synchronous one with CONTINUE.
  Status serve(int count) {
    std::vector<char> buffer(1 << 20);
    int seen = 0;
    while (seen < count) {
      size_t length = 0;
      if (dm_get_events(sid_, static_cast<unsigned>(count - seen), DM_EV_WAIT, buffer.size(),
                        buffer.data(), &length) != 0) {
        return errno_error("dm_get_events");
      }
      for (auto *m = reinterpret_cast<dm_eventmsg_t *>(buffer.data()); m != nullptr;
           m = DM_STEP_TO_NEXT(m, dm_eventmsg_t *)) {
        ++seen;
        if (m->ev_token != DM_INVALID_TOKEN &&
            dm_respond_event(sid_, m->ev_token, DM_RESP_CONTINUE, 0, 0, nullptr) != 0) {
          return errno_error("dm_respond_event");
        }
      }
    }
    return {};
  }

 private:
  BenchSession() = default;
  dm_sessid_t sid_ = DM_NO_SESSION;
  bool created_ = false;
};

// The event a file creation raises, without the creation.
pfs::FsEvent sample_event(int type) {
  pfs::FsEvent event;
  event.type = type;
  event.object1 = {1, 1};
  event.name1 = "bench";
  event.mode = 0100644;
  return event;
}

Status raise(int type, bool synchronous) {
  node::Node *node = node::process_node();
  if (node == nullptr) return make_error(ENXIO, "pdm is not started");
  return node->events().raise(sample_event(type), synchronous);
}

class EventsBenchmark {
 public:
  EventsBenchmark(Context &context, const EventsParams &params) : context_(context), p_(params) {}

  Status run() {
    if (context_.size() < 2) return make_error(EINVAL, "needs at least 2 ranks");
    for (int run = 0; run < p_.repeat; ++run) {
      context_.progress("run {} of {}", run + 1, p_.repeat);
      PDM_TRY(ping_pong());
      PDM_TRY(round_trip(/*session_rank=*/1, remote_));
      PDM_TRY(round_trip(/*session_rank=*/0, local_));
      PDM_TRY(async_throughput());
      PDM_TRY(session_create());
    }
    return {};
  }

  Result<Json> report() {
    Json r;
    r["benchmark"] = "events";
    r["ranks"] = context_.size();
    r["round_trips"] = p_.round_trips;
    r["async_events"] = p_.async_events;
    r["repeat"] = p_.repeat;
    PDM_ASSIGN_OR_RETURN(auto all_creates, gather_to_root(context_.world(), creates_));
    if (!context_.is_root()) return r;
    const double ping = percentile(ping_, 50);
    const double remote = percentile(remote_, 50);
    r["mpi_ping_pong_us"] = latency_summary_us(ping_);
    r["sync_round_trip_us"] = latency_summary_us(remote_);
    r["local_round_trip_us"] = latency_summary_us(local_);
    r["async_events_per_second"] = {{"median", rounded(median(async_rates_), 0)},
                                    {"runs", async_rates_}};
    r["session_create_us"] = latency_summary_us(all_creates);
    const double ratio = ping > 0 ? remote / ping : 0;
    r["ratio"] = {{"sync_p50_over_ping_pong_p50", rounded(ratio, 2)}};
    r["target"] = {{"sync_p50_over_ping_pong_p50_max", kRoundTripRatioMax},
                   {"met", ratio > 0 && ratio <= kRoundTripRatioMax}};
    return r;
  }

 private:
  // Rank 0 and rank 1 bounce one small message, as the event and its
  // response do; the other ranks wait at the barriers.
  Status ping_pong() {
    const MPI_Comm comm = context_.world().get();
    char byte[64] = {};
    std::vector<double> samples;
    auto phase = timed_phase(context_.world(), [&]() -> Status {
      for (int i = 0; i < p_.round_trips; ++i) {
        if (context_.rank() == 0) {
          const double start = MPI_Wtime();
          MPI_Send(byte, sizeof byte, MPI_BYTE, 1, kPingTag, comm);
          MPI_Recv(byte, sizeof byte, MPI_BYTE, 1, kPingTag, comm, MPI_STATUS_IGNORE);
          samples.push_back(MPI_Wtime() - start);
        } else if (context_.rank() == 1) {
          MPI_Recv(byte, sizeof byte, MPI_BYTE, 0, kPingTag, comm, MPI_STATUS_IGNORE);
          MPI_Send(byte, sizeof byte, MPI_BYTE, 0, kPingTag, comm);
        }
      }
      return {};
    });
    if (!phase.ok()) return std::move(phase).error();
    ping_.insert(ping_.end(), samples.begin(), samples.end());
    return {};
  }

  // Rank 0 raises synchronous CREATE events one after the other; a session
  // on session_rank answers each with CONTINUE.
  Status round_trip(int session_rank, std::vector<double> &out) {
    std::unique_ptr<BenchSession> session;
    PDM_TRY(
        all_ok(context_.world(), make_session(session_rank, session, {pfs::dm_event::kCreate})));
    std::vector<double> samples;
    auto phase = timed_phase(context_.world(), [&]() -> Status {
      if (context_.rank() == 0 && session_rank == 0) {
        // The session's DM application and the file operation share the rank.
        Status served;
        std::thread server([&] { served = session->serve(p_.round_trips); });
        Status raised = raise_sync(samples);
        server.join();
        PDM_TRY(raised);
        return served;
      }
      if (context_.rank() == 0) return raise_sync(samples);
      if (context_.rank() == session_rank) return session->serve(p_.round_trips);
      return {};
    });
    if (!phase.ok()) return std::move(phase).error();
    PDM_TRY(end_session(session));
    out.insert(out.end(), samples.begin(), samples.end());
    return {};
  }

  Status raise_sync(std::vector<double> &samples) {
    Latencies latencies;
    for (int i = 0; i < p_.round_trips; ++i) {
      PDM_TRY(latencies.time([] { return raise(pfs::dm_event::kCreate, true); }));
    }
    samples = latencies.samples();
    return {};
  }

  // Rank 0 raises asynchronous POSTCREATE events as fast as it can; the
  // session on rank 1 takes them in batches. Timed until it has them all.
  Status async_throughput() {
    std::unique_ptr<BenchSession> session;
    PDM_TRY(all_ok(context_.world(), make_session(1, session, {pfs::dm_event::kPostcreate})));
    auto phase = timed_phase(context_.world(), [&]() -> Status {
      if (context_.rank() == 0) {
        for (int i = 0; i < p_.async_events; ++i) {
          PDM_TRY(raise(pfs::dm_event::kPostcreate, false));
        }
      } else if (context_.rank() == 1) {
        return session->serve(p_.async_events);
      }
      return {};
    });
    if (!phase.ok()) return std::move(phase).error();
    PDM_TRY(end_session(session));
    if (*phase > 0) async_rates_.push_back(p_.async_events / *phase);
    return {};
  }

  // Every rank in turn creates and destroys sessions while the others
  // wait: the latency of one dm_create_session (a message to the manager,
  // then the broadcast every rank acknowledges), from the manager's rank
  // and from the others.
  Status session_create() {
    for (int turn = 0; turn < context_.size(); ++turn) {
      Status local;
      if (context_.rank() == turn) {
        for (int i = 0; i < p_.sessions && local.ok(); ++i) {
          dm_sessid_t sid = DM_NO_SESSION;
          const double start = MPI_Wtime();
          if (dm_create_session(DM_NO_SESSION, const_cast<char *>("bench-create"), &sid) != 0) {
            local = errno_error("dm_create_session");
            break;
          }
          creates_.push_back(MPI_Wtime() - start);
          if (dm_destroy_session(sid) != 0) local = errno_error("dm_destroy_session");
        }
      }
      PDM_TRY(all_ok(context_.world(), std::move(local)));
    }
    return {};
  }

  // Destroys the phase's session, and returns on every rank only once it is
  // gone: the next phase's session takes its events, and the manager refuses
  // (EBUSY, XDSM) a disposition an active session still holds. (Without the
  // wait, rank 0 sometimes set the next disposition before the other rank's
  // destroy reached the manager.)
  Status end_session(std::unique_ptr<BenchSession> &session) {
    Status destroyed = session ? session->destroy() : Status{};
    session.reset();
    return all_ok(context_.world(), std::move(destroyed));
  }

  Status make_session(int rank, std::unique_ptr<BenchSession> &out,
                      std::initializer_list<int> events) {
    if (context_.rank() != rank) return {};
    auto session = BenchSession::create("bench-events", events);
    if (!session.ok()) return std::move(session).error();
    out = std::move(*session);
    return {};
  }

  Context &context_;
  const EventsParams &p_;
  std::vector<double> ping_;
  std::vector<double> remote_;
  std::vector<double> local_;
  std::vector<double> async_rates_;
  std::vector<double> creates_;
};

void add_events_options(po::options_description &options) {
  options.add_options()("dir", po::value<std::string>(),
                        "where to make the scratch file system (default $TMPDIR, else /tmp)")(
      "round-trips", po::value<int>()->default_value(2000),
      "synchronous events (and ping-pongs) per measurement")(
      "async-events", po::value<int>()->default_value(20000),
      "asynchronous events per throughput measurement")(
      "sessions", po::value<int>()->default_value(20),
      "sessions each rank creates in the session-create phase")(
      "repeat", po::value<int>()->default_value(3), "runs of every measurement");
}

Result<EventsParams> events_params(const Context &context) {
  const auto &options = context.options();
  EventsParams p;
  if (options.count("dir")) p.dir = options["dir"].as<std::string>();
  p.round_trips = options["round-trips"].as<int>();
  p.async_events = options["async-events"].as<int>();
  p.sessions = options["sessions"].as<int>();
  p.repeat = options["repeat"].as<int>();
  if (p.round_trips < 1) return make_error(EINVAL, "--round-trips must be at least 1");
  if (p.async_events < 1) return make_error(EINVAL, "--async-events must be at least 1");
  if (p.sessions < 1) return make_error(EINVAL, "--sessions must be at least 1");
  if (p.repeat < 1) return make_error(EINVAL, "--repeat must be at least 1");
  if (context.size() < 2) return make_error(EINVAL, "run it with at least 2 ranks (mpiexec -n 2)");
  return p;
}

int run_events(Context &context) {
  auto params = events_params(context);
  if (!params.ok()) return context.usage_error(params.error().message);
  const EventsParams &p = *params;
  context.progress("{} ranks, {} round trips, {} async events, {} sessions per rank, {} runs",
                   context.size(), p.round_trips, p.async_events, p.sessions, p.repeat);
  return run_on_scratch(context, {p.dir, 1, 1 << 20}, [&](const ScratchFs &) -> Result<Json> {
    EventsBenchmark benchmark(context, p);
    PDM_TRY(benchmark.run());
    return benchmark.report();
  });
}

}  // namespace

Benchmark events_benchmark() {
  Benchmark b;
  b.name = "events";
  b.summary = "DMAPI event round trips against an MPI ping-pong, throughput, session create";
  b.description =
      "Makes a scratch pdm file system under --dir and mounts it on every rank. A DM\n"
      "application written against <pdm/dmapi.h> creates its sessions, sets their\n"
      "dispositions and event lists, and answers with dm_get_events/dm_respond_event.\n"
      "Rank 0 raises the events through the EventGate that pfs's event points call, so\n"
      "the figures are the event path without the file operation around it:\n"
      "\n"
      "  mpi_ping_pong      rank 0 and rank 1 bounce a 64-byte message with\n"
      "                     MPI_Send/MPI_Recv: the baseline of the same run\n"
      "  sync_round_trip    rank 0 raises a synchronous event (CREATE), a session on\n"
      "                     rank 1 answers CONTINUE; per-event latency at rank 0\n"
      "  local_round_trip   the same with the session on rank 0 (a thread of its own)\n"
      "  async_throughput   rank 0 raises --async-events asynchronous events (POSTCREATE);\n"
      "                     timed until the session on rank 1 has taken them all\n"
      "  session_create     each rank in turn creates (and destroys) --sessions sessions:\n"
      "                     the latency of dm_create_session, a message to the manager and\n"
      "                     a broadcast every rank acknowledges\n"
      "\n"
      "Latencies are p50/p99/max in microseconds over all runs. The target is the\n"
      "synchronous round trip's p50 at most 2x the ping-pong's (target.met).\n"
      "Needs at least 2 ranks. The report is one JSON object on stdout from rank 0.\n"
      "A quick run for a smoke test: pdm-bench events --round-trips 50 --async-events 200\n"
      "--sessions 2 --repeat 1\n";
  b.add_options = add_events_options;
  b.run = run_events;
  return b;
}

}  // namespace pdm::bench

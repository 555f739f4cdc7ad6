#include "tests/failure/failure_support.h"

#include <fcntl.h>
#include <pdm/pdm.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include <gtest/gtest.h>

#include "pfs/config/mkfs.h"
#include "runtime/node/process_node.h"

namespace pdm::failure_test {

int world_rank() {
  int r = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &r);
  return r;
}

int world_size() {
  int s = 0;
  MPI_Comm_size(MPI_COMM_WORLD, &s);
  return s;
}

std::string make_and_mount() {
  char buffer[256] = {};
  if (world_rank() == 0) {
    std::string tmpl = (std::filesystem::temp_directory_path() / "pdm-failure-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) std::abort();
    std::snprintf(buffer, sizeof buffer, "%s", tmpl.c_str());
    pfs::MkfsOptions options;
    options.config_path = tmpl + "/fs.conf";
    for (int v = 0; v < 4; ++v) options.volumes.push_back(tmpl + "/vol" + std::to_string(v));
    options.stripe_size = 64 * 1024;
    if (auto fs = pfs::make_file_system(options); !fs.ok()) {
      std::fprintf(stderr, "mkfs failed: %s\n", fs.error().message.c_str());
      std::abort();
    }
  }
  MPI_Bcast(buffer, sizeof buffer, MPI_CHAR, 0, MPI_COMM_WORLD);
  const std::string root = buffer;
  if (pdm_start(MPI_COMM_WORLD, (root + "/fs.conf").c_str()) != 0) {
    std::fprintf(stderr, "pdm_start failed: %s\n", pdm_last_error());
    std::abort();
  }
  return root;
}

void write_verdict(const char *verdict) {
  const char *dir = std::getenv("PDM_FAILURE_VERDICTS");
  if (dir == nullptr || *dir == '\0') return;
  const std::string path = std::string(dir) + "/rank-" + std::to_string(world_rank());
  if (std::FILE *file = std::fopen(path.c_str(), "w"); file != nullptr) {
    std::fputs(verdict, file);
    std::fclose(file);
  }
}

void die() {
  write_verdict("killed");
  std::fflush(nullptr);
  ::kill(::getpid(), SIGKILL);
  for (;;) ::pause();
}

MPI_Comm survivors(const std::vector<int> &dead) {
  MPI_Group world = MPI_GROUP_NULL;
  MPI_Group live = MPI_GROUP_NULL;
  MPI_Comm_group(MPI_COMM_WORLD, &world);
  MPI_Group_excl(world, static_cast<int>(dead.size()), dead.data(), &live);
  MPI_Comm comm = MPI_COMM_NULL;
  MPI_Comm_create_group(MPI_COMM_WORLD, live, 4242, &comm);
  MPI_Group_free(&live);
  MPI_Group_free(&world);
  return comm;
}

bool eventually(const std::function<bool()> &done, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

dm::ControlPlane &control() {
  return node::process_node()->control();
}

dm::SessionId create_session(const std::string &info) {
  dm::Update u;
  u.kind = dm::Update::Kind::kCreateSession;
  u.session.info = info;
  auto done = control().submit(u);
  EXPECT_TRUE(done.ok()) << done.error().message;
  return done.ok() ? done->session.id : 0;
}

std::optional<dm::Session> session(dm::SessionId id) {
  return control().read([&](const dm::SessionTable &t) -> std::optional<dm::Session> {
    const auto *s = t.session(id);
    if (s == nullptr) return std::nullopt;
    return *s;
  });
}

void expect_write_and_read_back(const std::string &path, std::size_t size, char fill) {
  const std::string text(size, fill);
  const int fd = pdm_open(path.c_str(), O_CREAT | O_RDWR, 0640);
  ASSERT_GE(fd, 0) << path << ": " << pdm_last_error();
  EXPECT_EQ(pdm_pwrite(fd, text.data(), text.size(), 0), static_cast<ssize_t>(text.size()))
      << pdm_last_error();
  std::string back(text.size(), '\0');
  EXPECT_EQ(pdm_pread(fd, back.data(), back.size(), 0), static_cast<ssize_t>(back.size()))
      << pdm_last_error();
  EXPECT_EQ(back, text) << path;
  EXPECT_EQ(pdm_close(fd), 0);
}

dm::SessionId make_create_session(int node, std::optional<dm::api::Session> &session,
                                  dm::api::EventType type) {
  namespace api = dm::api;
  dm::SessionId id = 0;
  if (world_rank() == node) {
    const dm::EventSet create = api::event_bit(type);
    auto made = api::Session::create("doomed-hsm");
    EXPECT_TRUE(made.ok()) << made.error().message;
    if (made.ok()) {
      session.emplace(std::move(made).value());
      EXPECT_TRUE(session->set_disposition(create).ok());
      EXPECT_TRUE(session->set_eventlist(create).ok());
      id = session->id();
    }
  }
  MPI_Bcast(&id, 1, MPI_INT, node, MPI_COMM_WORLD);
  return id;
}

dm::SessionId make_standby(int node, const std::string &group,
                           std::optional<dm::api::Session> &session) {
  dm::SessionId id = 0;
  if (world_rank() == node) {
    auto made = dm::api::Session::create("standby-hsm");
    EXPECT_TRUE(made.ok()) << made.error().message;
    if (made.ok()) {
      session.emplace(std::move(made).value());
      EXPECT_TRUE(session->join_group(group).ok());
      EXPECT_TRUE(session->set_standby(true).ok());
      id = session->id();
    }
  }
  MPI_Bcast(&id, 1, MPI_INT, node, MPI_COMM_WORLD);
  return id;
}

void assume_orphan(dm::SessionId id, std::optional<dm::api::Session> &session) {
  ASSERT_TRUE(eventually([&] {
    auto s = failure_test::session(id);
    return s && s->state == dm::SessionState::kOrphaned;
  })) << "session "
      << id << " was never orphaned";
  auto assumed = dm::api::Session::assume(id, "taker");
  ASSERT_TRUE(assumed.ok()) << assumed.error().message;
  session.emplace(std::move(assumed).value());
}

void expect_no_events(const dm::api::Session &session, const std::string &after) {
  auto more = session.get_events(8, false);
  EXPECT_FALSE(more.ok()) << more->size() << " events " << after;
  if (!more.ok()) {
    EXPECT_EQ(more.error().code, EAGAIN);
  }
}

std::vector<dm::api::Event> take_events(const dm::api::Session &session, std::size_t count,
                                        const std::string &what) {
  std::vector<dm::api::Event> got;
  EXPECT_TRUE(eventually([&] {
    auto events = session.get_events(8, false);
    if (events.ok()) got.insert(got.end(), events->begin(), events->end());
    return got.size() >= count;
  })) << "got "
      << got.size() << " of " << count << " " << what;
  return got;
}

void end_session(std::optional<dm::api::Session> &session) {
  EXPECT_TRUE(session->set_eventlist(0).ok());
  EXPECT_TRUE(session->set_disposition(0).ok());
  session.reset();
}

void make_file_of_this_rank(const std::string &prefix) {
  const std::string path = prefix + std::to_string(world_rank());
  const int fd = pdm_open(path.c_str(), O_CREAT | O_WRONLY, 0640);
  ASSERT_GE(fd, 0) << path << ": " << pdm_last_error();
  ASSERT_EQ(pdm_close(fd), 0) << path << ": " << pdm_last_error();
}

void expect_file_of_every_rank(const std::string &prefix) {
  for (int rank = 0; rank < world_size(); ++rank) {
    EXPECT_TRUE(node::process_node()->fs().stat(prefix + std::to_string(rank)).ok())
        << "lost the file rank " << rank << " made before the kills";
  }
}

void expect_orphaned(const std::vector<dm::SessionId> &ids, const std::vector<int> &dead) {
  for (int rank : dead) {
    const auto id = ids[static_cast<std::size_t>(rank)];
    EXPECT_TRUE(eventually([&] {
      auto s = session(id);
      return s && s->state == dm::SessionState::kOrphaned;
    })) << "session "
        << id << " of dead rank " << rank << " is not orphaned";
  }
}

void remove_file_system(const std::string &root) {
  std::error_code ignored;
  std::filesystem::remove_all(root, ignored);
}

}  // namespace pdm::failure_test

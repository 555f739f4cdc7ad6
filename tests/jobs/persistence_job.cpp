// The two jobs of the persistence scenario (tests/jobs/persistence.sh): what
// one job writes, a later job with a different number of ranks (so every
// volume has another owner) reads back intact.
//
//   persistence_job write FS MANIFEST   every rank makes files, then rank 0
//                                       writes what the namespace must now
//                                       hold to MANIFEST (outside pdm)
//   persistence_job verify FS MANIFEST  checks pdm against MANIFEST
//
// The manifest has one line per name: "dir PATH", "file PATH SIZE XXH64" or
// "absent PATH" (a name that must not exist: unlinked, or renamed away).
// It comes from a model of the namespace that rank 0 updates with the same
// operations the ranks apply to pdm, never from reading pdm back.
#include <dirent.h>
#include <fcntl.h>
#include <pdm/pdm.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "tests/jobs/job_util.h"

namespace pdm::jobs {
namespace {

// Not a multiple of the stripe size, so chunks straddle volumes.
constexpr std::size_t kSharedChunk = 100'003;
constexpr int kSharedChunks = 32;
constexpr int kDirs = 4, kSubdirs = 3, kFilesPerSubdir = 10;
constexpr int kTreeFiles = kDirs * kSubdirs * kFilesPerSubdir;

std::string tree_subdir(int d, int s) {
  return fmt::format("/tree/d{}/s{}", d, s);
}
std::string tree_file(int k) {
  const int d = k / (kFilesPerSubdir * kSubdirs);
  const int s = (k / kFilesPerSubdir) % kSubdirs;
  return fmt::format("{}/f{}", tree_subdir(d, s), k % kFilesPerSubdir);
}
// From 0 to ~9 KB, empty files included.
std::size_t tree_file_size(int k) {
  return static_cast<std::size_t>(k) * 1237 % 9001;
}

// What the namespace holds, as the writer job means it to be.
struct Model {
  std::set<std::string> dirs{"/"};
  std::map<std::string, std::vector<std::byte>> files;
  std::set<std::string> absent;

  void rename(const std::string &from, const std::string &to) {
    auto moved = [&](const std::string &name) {
      return name == from || name.starts_with(from + "/");
    };
    auto renamed = [&](const std::string &name) { return to + name.substr(from.size()); };
    std::set<std::string> new_dirs;
    for (const auto &dir : dirs) new_dirs.insert(moved(dir) ? renamed(dir) : dir);
    std::map<std::string, std::vector<std::byte>> new_files;
    for (auto &[name, content] : files) {
      if (!moved(name)) new_files.insert_or_assign(name, std::move(content));
    }
    // Moved names go in last: a renamed file replaces the one at its target.
    for (auto &[name, content] : files) {
      if (moved(name)) new_files.insert_or_assign(renamed(name), std::move(content));
    }
    dirs = std::move(new_dirs);
    files = std::move(new_files);
    absent.insert(from);
    absent.erase(to);
  }
  void unlink(const std::string &path) {
    files.erase(path);
    absent.insert(path);
  }
};

bool call(int result, std::string_view what) {
  if (result == 0) return true;
  report("{}: {} ({})", what, std::strerror(errno), pdm_last_error());
  return false;
}

bool make_file(const std::string &path, std::uint64_t seed, std::size_t length) {
  const int fd = pdm_open(path.c_str(), O_CREAT | O_EXCL | O_WRONLY, 0644);
  if (fd < 0) return call(-1, "pdm_open(O_CREAT|O_EXCL) " + path);
  bool ok = pdm_write_all(fd, pattern(seed, 0, length), 0, path);
  return call(pdm_close(fd), "pdm_close " + path) && ok;
}

bool truncate_file(const std::string &path, std::uint64_t length) {
  const int fd = pdm_open(path.c_str(), O_WRONLY, 0);
  if (fd < 0) return call(-1, "pdm_open " + path);
  bool ok = call(pdm_ftruncate(fd, static_cast<off_t>(length)),
                 fmt::format("pdm_ftruncate {} to {}", path, length));
  ok = call(pdm_fsync(fd), "pdm_fsync " + path) && ok;
  return call(pdm_close(fd), "pdm_close " + path) && ok;
}

// One change to the namespace: `apply` runs on the rank the step is given
// to, `expect` on rank 0 (the model's keeper).
struct Step {
  std::function<bool()> apply;
  std::function<void(Model &)> expect;
};

// Runs the steps, step i on rank i % size, then agrees on the outcome.
bool run_steps(const std::vector<Step> &steps, Model &model) {
  bool ok = true;
  for (std::size_t i = 0; i < steps.size(); ++i) {
    if (static_cast<int>(i % size()) == rank()) ok = steps[i].apply() && ok;
    if (rank() == 0) steps[i].expect(model);
  }
  return all(ok);
}

std::string manifest_text(const Model &model) {
  std::string text;
  for (const auto &dir : model.dirs) text += fmt::format("dir {}\n", dir);
  for (const auto &[name, content] : model.files) {
    text += fmt::format("file {} {} {:016x}\n", name, content.size(), checksum(content));
  }
  for (const auto &name : model.absent) text += fmt::format("absent {}\n", name);
  return text;
}

int write_job(const std::string &fs_config, const std::string &manifest) {
  if (!call(pdm_start(MPI_COMM_WORLD, fs_config.c_str()), "pdm_start " + fs_config)) return 1;
  Model model;
  std::vector<Step> steps;

  // 1. The directories, a level at a time (a parent exists before its children).
  auto mkdir = [](std::string dir) {
    return Step{[=] { return call(pdm_mkdir(dir.c_str(), 0755), "pdm_mkdir " + dir); },
                [=](Model &m) { m.dirs.insert(dir); }};
  };
  bool ok = run_steps({mkdir("/tree"), mkdir("/renamed")}, model);
  for (int d = 0; d < kDirs; ++d) steps.push_back(mkdir(fmt::format("/tree/d{}", d)));
  ok = ok && run_steps(steps, model);
  steps.clear();
  for (int d = 0; d < kDirs; ++d) {
    for (int s = 0; s < kSubdirs; ++s) steps.push_back(mkdir(tree_subdir(d, s)));
  }
  ok = ok && run_steps(steps, model);
  steps.clear();

  // 2. One file written by every rank in disjoint chunks, in an order that
  //    extends it out of order; many small files; the files step 3 changes.
  if (ok) {
    const std::string shared = "/shared.dat";
    const int fd = pdm_open(shared.c_str(), O_CREAT | O_RDWR, 0644);
    bool mine_ok = fd >= 0 || call(-1, "pdm_open(O_CREAT) " + shared);
    if (fd >= 0) {
      for (int chunk = kSharedChunks - 1; chunk >= 0; --chunk) {
        if (chunk % size() != rank()) continue;
        const std::uint64_t offset = chunk * kSharedChunk;
        mine_ok = pdm_write_all(fd, pattern(1, offset, kSharedChunk), offset, shared) && mine_ok;
      }
      mine_ok = call(pdm_fsync(fd), "pdm_fsync " + shared) && mine_ok;
      mine_ok = call(pdm_close(fd), "pdm_close " + shared) && mine_ok;
    }
    if (rank() == 0) model.files[shared] = pattern(1, 0, kSharedChunks * kSharedChunk);
    ok = all(mine_ok);

    for (int k = 0; k < kTreeFiles; ++k) {
      const std::string path = tree_file(k);
      const std::size_t length = tree_file_size(k);
      steps.push_back({[=] { return make_file(path, 1000 + k, length); },
                       [=](Model &m) { m.files[path] = pattern(1000 + k, 0, length); }});
    }
    const struct {
      std::string path;
      std::uint64_t seed;
      std::size_t length;
    } singles[] = {
        {"/big_unlinked", 2, (1u << 20) + 7}, {"/trunc_down", 3, 300'000}, {"/trunc_up", 4, 5'000}};
    for (const auto &single : singles) {
      steps.push_back(
          {[=] { return make_file(single.path, single.seed, single.length); },
           [=](Model &m) { m.files[single.path] = pattern(single.seed, 0, single.length); }});
    }
    ok = ok && run_steps(steps, model);
    steps.clear();
  }

  // 3. Renames (across directories, over an existing file, of a directory),
  //    unlinks and truncates, each by one rank.
  if (ok) {
    auto rename = [](std::string from, std::string to) {
      return Step{[=] {
                    return call(pdm_rename(from.c_str(), to.c_str()),
                                fmt::format("pdm_rename {} {}", from, to));
                  },
                  [=](Model &m) { m.rename(from, to); }};
    };
    auto unlink = [](std::string path) {
      return Step{[=] { return call(pdm_unlink(path.c_str()), "pdm_unlink " + path); },
                  [=](Model &m) { m.unlink(path); }};
    };
    auto truncate = [](std::string path, std::size_t length) {
      // An extension reads as zeros, which resize() appends.
      return Step{[=] { return truncate_file(path, length); },
                  [=](Model &m) { m.files[path].resize(length); }};
    };
    steps = {rename(tree_file(5), "/renamed/moved.dat"),
             rename(tree_file(62), tree_file(63)),
             rename("/tree/d3/s2", "/tree/d3/moved_s2"),
             unlink(tree_file(41)),
             unlink("/big_unlinked"),
             truncate("/trunc_down", 123'457),
             truncate("/trunc_up", 200'000)};
    ok = run_steps(steps, model);
  }

  if (!call(pdm_stop(), "pdm_stop")) ok = false;
  ok = all(ok);
  // The manifest is written only once the job has unmounted successfully.
  if (ok && rank() == 0) ok = write_local_file(manifest, manifest_text(model));
  return all(ok) ? 0 : 1;
}

struct Expected {
  std::set<std::string> dirs;
  struct File {
    std::string path;
    std::uint64_t size = 0;
    std::uint64_t hash = 0;
  };
  std::vector<File> files;
  std::vector<std::string> absent;
};

std::optional<Expected> read_manifest(const std::string &path) {
  auto text = read_local_file(path);
  if (!text) {
    report("cannot read the manifest {}", path);
    return std::nullopt;
  }
  Expected expected;
  std::istringstream lines(*text);
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream fields(line);
    std::string kind, name;
    fields >> kind >> name;
    if (kind == "dir") {
      expected.dirs.insert(name);
    } else if (kind == "file") {
      Expected::File file{name};
      fields >> file.size >> std::hex >> file.hash;
      if (!fields) {
        report("manifest {}: bad line '{}'", path, line);
        return std::nullopt;
      }
      expected.files.push_back(file);
    } else if (kind == "absent") {
      expected.absent.push_back(name);
    } else {
      report("manifest {}: bad line '{}'", path, line);
      return std::nullopt;
    }
  }
  if (expected.files.empty()) {
    report("manifest {} lists no files", path);
    return std::nullopt;
  }
  return expected;
}

bool check_file(const Expected::File &file) {
  const auto size = pdm_file_size(file.path);
  if (!size) {
    report("{}: pdm_stat failed: {} ({})", file.path, std::strerror(errno), pdm_last_error());
    return false;
  }
  if (*size != file.size) {
    report("{}: size {}, expected {}", file.path, *size, file.size);
    return false;
  }
  const auto content = pdm_read_file(file.path);
  if (!content) return false;
  if (content->size() != file.size || checksum(*content) != file.hash) {
    report("{}: read {} bytes with XXH64 {:016x}, expected {} bytes with {:016x}", file.path,
           content->size(), checksum(*content), file.size, file.hash);
    return false;
  }
  return true;
}

// Every name under dir, recursively: "dir PATH" and "file PATH" entries.
bool walk(const std::string &dir, std::set<std::string> &names) {
  PDM_DIR *stream = pdm_opendir(dir.c_str());
  if (stream == nullptr) return call(-1, "pdm_opendir " + dir);
  bool ok = true;
  std::vector<std::string> subdirs;
  errno = 0;
  while (struct dirent *entry = pdm_readdir(stream)) {
    const std::string path = (dir == "/" ? "" : dir) + "/" + entry->d_name;
    const bool is_dir = entry->d_type == DT_DIR;
    names.insert((is_dir ? "dir " : "file ") + path);
    if (is_dir) subdirs.push_back(path);
  }
  if (errno != 0) ok = call(-1, "pdm_readdir " + dir);
  ok = call(pdm_closedir(stream), "pdm_closedir " + dir) && ok;
  for (const auto &subdir : subdirs) ok = walk(subdir, names) && ok;
  return ok;
}

bool check_listing(const Expected &expected) {
  std::set<std::string> want, have;
  for (const auto &dir : expected.dirs) {
    if (dir != "/") want.insert("dir " + dir);
  }
  for (const auto &file : expected.files) want.insert("file " + file.path);
  bool ok = walk("/", have);
  for (const auto &name : want) {
    if (!have.count(name)) ok = false, report("listing: missing {}", name);
  }
  for (const auto &name : have) {
    if (!want.count(name)) ok = false, report("listing: unexpected {}", name);
  }
  return ok;
}

int verify_job(const std::string &fs_config, const std::string &manifest) {
  const auto expected = read_manifest(manifest);
  if (!all(expected.has_value())) return 1;
  if (!call(pdm_start(MPI_COMM_WORLD, fs_config.c_str()), "pdm_start " + fs_config)) return 1;
  bool ok = true;
  for (std::size_t i = 0; i < expected->files.size(); ++i) {
    if (static_cast<int>(i % size()) == rank()) ok = check_file(expected->files[i]) && ok;
  }
  for (std::size_t i = 0; i < expected->absent.size(); ++i) {
    if (static_cast<int>(i % size()) != rank()) continue;
    const std::string &path = expected->absent[i];
    struct stat st {};
    errno = 0;
    if (pdm_stat(path.c_str(), &st) == 0 || errno != ENOENT) {
      report("{}: expected ENOENT from pdm_stat, got {}", path,
             errno == 0 ? "success" : std::strerror(errno));
      ok = false;
    }
  }
  if (rank() == 0) ok = check_listing(*expected) && ok;
  ok = all(ok);
  if (!call(pdm_stop(), "pdm_stop")) ok = false;
  if (rank() == 0 && ok) {
    std::printf("verified %zu files, %zu directories, %zu absent names on %d ranks\n",
                expected->files.size(), expected->dirs.size(), expected->absent.size(), size());
  }
  return all(ok) ? 0 : 1;
}

}  // namespace
}  // namespace pdm::jobs

int main(int argc, char **argv) {
  pdm::jobs::init_mpi(argc, argv);
  int code = 2;
  const std::string mode = argc == 4 ? argv[1] : "";
  if (mode == "write") {
    code = pdm::jobs::write_job(argv[2], argv[3]);
  } else if (mode == "verify") {
    code = pdm::jobs::verify_job(argv[2], argv[3]);
  } else if (pdm::jobs::rank() == 0) {
    std::fprintf(stderr, "usage: persistence_job write|verify FS_CONFIG MANIFEST\n");
  }
  MPI_Finalize();
  return code;
}

#include "pfs/fsck/fsck.h"

#include <sys/stat.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <deque>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <unordered_map>

#include "pfs/config/lease.h"
#include "pfs/config/volume.h"
#include "pfs/layout.h"
#include "pfs/meta/meta_store.h"

namespace pdm::pfs {
namespace {

namespace fs = std::filesystem;

struct Dentry {
  InodeNumber parent = 0;
  std::string name;
  InodeNumber child = 0;
};

// An object file found on a volume.
struct ObjectFile {
  std::string path;
  InodeNumber ino = 0;
  std::uint64_t length = 0;
};

// "0000000000000a2f" -> 0xa2f; nullopt unless exactly 16 lower-case hex digits
// (what object_path writes).
std::optional<InodeNumber> parse_object_name(std::string_view name) {
  if (name.size() != 16) return std::nullopt;
  if (!std::all_of(name.begin(), name.end(),
                   [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); })) {
    return std::nullopt;
  }
  InodeNumber ino = 0;
  const auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), ino, 16);
  if (ec != std::errc() || end != name.data() + name.size()) return std::nullopt;
  return ino;
}

class Checker {
 public:
  explicit Checker(const FsConfig &config) : config_(config) {}

  Status run(const FsckOptions &options) {
    if (auto volumes = check_volumes(config_); !volumes.ok()) {
      error("{}; nothing else was checked, as the volumes may belong to another file system",
            strip_prefix(volumes.error().message));
      return {};
    }
    PDM_TRY(load_metadata(options));
    check_namespace();
    check_inodes();
    for (std::uint32_t v = 0; v < config_.volumes.size(); ++v) PDM_TRY(check_objects(v));
    return {};
  }

  FsckReport take_report() { return std::move(report_); }

 private:
  template <typename... Args>
  void add(Severity severity, fmt::format_string<Args...> format, Args &&...args) {
    report_.findings.push_back({severity, fmt::format(format, std::forward<Args>(args)...)});
  }
  template <typename... Args>
  void error(fmt::format_string<Args...> format, Args &&...args) {
    add(Severity::error, format, std::forward<Args>(args)...);
  }
  template <typename... Args>
  void warning(fmt::format_string<Args...> format, Args &&...args) {
    add(Severity::warning, format, std::forward<Args>(args)...);
  }
  template <typename... Args>
  void note(fmt::format_string<Args...> format, Args &&...args) {
    add(Severity::note, format, std::forward<Args>(args)...);
  }

  // Library messages that start with "pdm: " are meant for the top level;
  // inside a finding the prefix would repeat.
  static std::string strip_prefix(const std::string &message) {
    constexpr std::string_view kPrefix = "pdm: ";
    if (message.starts_with(kPrefix)) return message.substr(kPrefix.size());
    return message;
  }

  // How findings name an inode: its path when reachable from the root.
  std::string name_of(InodeNumber ino) const {
    if (auto it = paths_.find(ino); it != paths_.end()) {
      return fmt::format("{} (inode {})", it->second, ino);
    }
    return fmt::format("inode {}", ino);
  }

  static std::string_view kind_of(const Inode &inode) {
    if (inode.is_dir()) return "directory";
    if (inode.is_file()) return "file";
    return "inode of unknown type";
  }

  Status load_metadata(const FsckOptions &options) {
    const std::string dir = config_.metadata_dir();
    std::error_code ec;
    // MetaStore::open creates a missing store; fsck must not, so look first.
    // mkfs leaves meta/ empty: the first mount creates the store.
    if (!fs::exists(fs::path(dir) / "data.mdb", ec)) {
      if (ec) return make_error(ec.value(), "metadata store {}: {}", dir, ec.message());
      note(
          "metadata store {} does not exist yet (the file system was never mounted): it has "
          "no files",
          dir);
      return {};
    }
    MetaStoreOptions store_options;
    store_options.dir = dir;
    store_options.map_size = options.meta_map_size;
    store_options.default_stripe_size = config_.stripe_size;
    store_options.volume_count = static_cast<std::uint32_t>(config_.volumes.size());
    PDM_ASSIGN_OR_RETURN(auto store, MetaStore::open(store_options));
    have_store_ = true;
    PDM_TRY(store->for_each_inode([this](const Inode &inode) { inodes_[inode.ino] = inode; }));
    PDM_TRY(store->for_each_dentry(
        [this](InodeNumber parent, std::string_view name, InodeNumber child) {
          dentries_.push_back({parent, std::string(name), child});
        }));
    PDM_ASSIGN_OR_RETURN(auto orphans, store->orphans());
    orphans_.insert(orphans.begin(), orphans.end());
    return {};
  }

  const Inode *find(InodeNumber ino) const {
    auto it = inodes_.find(ino);
    return it == inodes_.end() ? nullptr : &it->second;
  }

  void check_namespace() {
    if (!have_store_) return;
    const Inode *root = find(kRootInode);
    if (root == nullptr) {
      error("the root directory (inode {}) does not exist", kRootInode);
    } else if (!root->is_dir()) {
      error("the root (inode {}) is a {}, not a directory", kRootInode, kind_of(*root));
    }

    std::unordered_map<InodeNumber, std::vector<const Dentry *>> children;
    for (const Dentry &dentry : dentries_) {
      const Inode *parent = find(dentry.parent);
      const Inode *child = find(dentry.child);
      if (parent == nullptr) {
        error("entry '{}' of inode {} -> inode {}: its directory (inode {}) does not exist",
              dentry.name, dentry.parent, dentry.child, dentry.parent);
      } else if (!parent->is_dir()) {
        error("entry '{}' of inode {} -> inode {}: inode {} is a {}, not a directory", dentry.name,
              dentry.parent, dentry.child, dentry.parent, kind_of(*parent));
      }
      if (child == nullptr) {
        // Reported once the paths are known (below), so that it names the entry's path.
        dangling_.push_back(&dentry);
      } else {
        ++names_[dentry.child];
        if (child->is_dir() && parent != nullptr) ++subdirectories_[dentry.parent];
      }
      children[dentry.parent].push_back(&dentry);
    }

    // Breadth-first from the root: the path of every reachable inode. The
    // visited set keeps a directory cycle from looping.
    if (root != nullptr && root->is_dir()) {
      // emplace, not operator= on a const char*: GCC 12 at -O2 reports a
      // false -Wrestrict in std::string's assign there.
      paths_.emplace(kRootInode, std::string(1, '/'));
      std::deque<InodeNumber> queue{kRootInode};
      while (!queue.empty()) {
        const InodeNumber dir = queue.front();
        queue.pop_front();
        const std::string &dir_path = paths_[dir];
        for (const Dentry *dentry : children[dir]) {
          const Inode *child = find(dentry->child);
          if (child == nullptr || paths_.contains(dentry->child)) continue;
          paths_.emplace(dentry->child, dir_path == "/"
                                            ? fmt::format("/{}", dentry->name)
                                            : fmt::format("{}/{}", dir_path, dentry->name));
          if (child->is_dir()) queue.push_back(dentry->child);
        }
      }
    }

    for (const Dentry *dentry : dangling_) {
      auto parent = paths_.find(dentry->parent);
      const std::string where =
          parent == paths_.end()
              ? fmt::format("entry '{}' of inode {}", dentry->name, dentry->parent)
              : (parent->second == "/" ? "/" : parent->second + "/") + dentry->name;
      error("{} names inode {}, which does not exist", where, dentry->child);
    }
  }

  void check_layout(const Inode &inode) {
    if (auto stripe = check_stripe_size(inode.stripe_size); !stripe.ok()) {
      error("{}: stripe size {} is not valid", name_of(inode.ino), inode.stripe_size);
      bad_layout_.insert(inode.ino);
    }
    if (inode.first_volume >= config_.volumes.size()) {
      error("{}: its first volume {} does not exist (the file system has {} volumes)",
            name_of(inode.ino), inode.first_volume, config_.volumes.size());
      bad_layout_.insert(inode.ino);
    }
  }

  void check_inodes() {
    if (!have_store_) return;
    report_.inodes = inodes_.size();
    for (const auto &[ino, inode] : inodes_) {
      if (ino == 0) error("an inode record has number 0");
      const std::uint64_t names = names_.contains(ino) ? names_[ino] : 0;
      if (inode.is_dir()) {
        ++report_.directories;
      } else if (inode.is_file()) {
        ++report_.files;
        report_.bytes += inode.size;
        check_layout(inode);
      } else {
        error("{}: mode {:o} is neither a file nor a directory", name_of(ino), inode.mode);
      }

      const bool orphan = orphans_.contains(ino);
      if (inode.nlink == 0) {
        if (orphan) {
          note(
              "{} ({}, {} bytes): unlinked, pending destroy (its objects are destroyed at the "
              "next mount)",
              name_of(ino), kind_of(inode), inode.size);
        } else {
          error(
              "{}: nlink is 0 but it is not in the orphan list, so it would never be "
              "destroyed",
              name_of(ino));
        }
        if (names > 0) error("{}: nlink is 0 but {} entries name it", name_of(ino), names);
        continue;
      }
      if (orphan) {
        error(
            "{}: in the orphan list but nlink is {}, so its objects would be destroyed while "
            "it is linked",
            name_of(ino), inode.nlink);
      }
      if (inode.is_dir()) {
        const std::uint64_t subdirectories =
            subdirectories_.contains(ino) ? subdirectories_[ino] : 0;
        if (inode.nlink != 2 + subdirectories) {
          error("{}: nlink is {}, but a directory with {} subdirectories has nlink {}",
                name_of(ino), inode.nlink, subdirectories, 2 + subdirectories);
        }
        const std::uint64_t expected_names = ino == kRootInode ? 0 : 1;
        if (names != expected_names) {
          error("{}: {} entries name this directory (expected {})", name_of(ino), names,
                expected_names);
        }
      } else if (inode.nlink != names) {
        error("{}: nlink is {}, but {} entries name it", name_of(ino), inode.nlink, names);
      }
      if (!paths_.contains(ino)) {
        error("{} ({}, nlink {}): not reachable from the root", name_of(ino), kind_of(inode),
              inode.nlink);
      }
    }
    for (InodeNumber ino : orphans_) {
      if (!inodes_.contains(ino))
        error("the orphan list names inode {}, which does not exist", ino);
    }
  }

  Status check_objects(std::uint32_t volume) {
    const std::string root = object_root(config_.volumes[volume]);
    std::vector<ObjectFile> objects;
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(root, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      const fs::directory_entry &entry = *it;
      const bool top_level = it.depth() == 0;
      if (entry.is_directory(ec) && !entry.is_symlink(ec)) {
        if (!top_level)
          warning("{}: unexpected directory in the objects tree", entry.path().string());
        continue;
      }
      const std::string path = entry.path().string();
      struct stat st {};
      if (::lstat(path.c_str(), &st) != 0) {
        const int err = errno;
        return make_error(err, "volume {}: cannot stat {}: {}", config_.volumes[volume], path,
                          std::strerror(err));
      }
      const auto ino = parse_object_name(entry.path().filename().string());
      if (!S_ISREG(st.st_mode) || top_level || !ino ||
          entry.path().parent_path().filename() != fmt::format("{:02x}", *ino % 256)) {
        warning("{}: not an object file (an object is objects/xx/<16 hex digits>, a regular file)",
                path);
        continue;
      }
      objects.push_back({path, *ino, static_cast<std::uint64_t>(st.st_size)});
    }
    if (ec) {
      return make_error(ec.value(), "volume {}: cannot scan {}: {}", config_.volumes[volume], root,
                        ec.message());
    }
    std::sort(objects.begin(), objects.end(),
              [](const ObjectFile &a, const ObjectFile &b) { return a.ino < b.ino; });

    const auto volume_count = static_cast<std::uint32_t>(config_.volumes.size());
    for (const ObjectFile &object : objects) {
      ++report_.objects;
      report_.object_bytes += object.length;
      const Inode *inode = find(object.ino);
      if (inode == nullptr) {
        warning(
            "{}: object of inode {}, which does not exist ({} bytes): unreferenced object, "
            "reclaimable",
            object.path, object.ino, object.length);
        continue;
      }
      if (!inode->is_file()) {
        warning(
            "{}: object of {}, which is a {} and has no data: unreferenced object, "
            "reclaimable",
            object.path, name_of(object.ino), kind_of(*inode));
        continue;
      }
      if (bad_layout_.contains(object.ino)) continue;
      const Layout layout(inode->stripe_size, volume_count, inode->first_volume);
      const std::uint64_t needed = layout.object_length_for(inode->size, volume);
      if (object.length > needed) {
        warning(
            "{}: object of {} is {} bytes, but a file of {} bytes needs {} on volume {}: "
            "bytes beyond end of file",
            object.path, name_of(object.ino), object.length, inode->size, needed, volume);
      }
    }
    return {};
  }

  const FsConfig &config_;
  FsckReport report_;
  bool have_store_ = false;
  std::map<InodeNumber, Inode> inodes_;
  std::vector<Dentry> dentries_;
  std::set<InodeNumber> orphans_;
  std::unordered_map<InodeNumber, std::uint64_t> names_;           // entries naming an inode
  std::unordered_map<InodeNumber, std::uint64_t> subdirectories_;  // per directory
  std::unordered_map<InodeNumber, std::string> paths_;             // reachable inodes
  std::vector<const Dentry *> dangling_;                           // entries of missing inodes
  std::set<InodeNumber> bad_layout_;
};

}  // namespace

std::string_view to_string(Severity severity) {
  switch (severity) {
    case Severity::error:
      return "error";
    case Severity::warning:
      return "warning";
    case Severity::note:
      return "note";
  }
  return "unknown";
}

std::size_t FsckReport::count(Severity severity) const {
  return static_cast<std::size_t>(
      std::count_if(findings.begin(), findings.end(),
                    [severity](const Finding &f) { return f.severity == severity; }));
}

Result<FsckReport> fsck(const FsConfig &config, const FsckOptions &options) {
  if (config.volumes.empty()) return make_error(EINVAL, "{}: lists no volumes", config.path);
  // The lease first: the metadata store is opened without LMDB locks, so a
  // mounted file system must be refused before anything is read.
  PDM_ASSIGN_OR_RETURN(auto lease, MountLease::acquire(config.volumes.front(), config.fs_id));
  Checker checker(config);
  PDM_TRY(checker.run(options));
  FsckReport report = checker.take_report();
  // A lease that still names a holder whose lock is gone: the last job died
  // (or was killed) mounted. Said first: it explains the notes and warnings
  // such a death leaves (unlinked inodes not destroyed, bytes past a size).
  if (const auto &stale = lease.recovered()) {
    report.findings.insert(
        report.findings.begin(),
        Finding{Severity::note,
                fmt::format("the last job to mount the file system (pid {} on host {}, since {}) "
                            "did not unmount it: it died or was killed",
                            stale->pid, stale->host, stale->since_text())});
  }
  return report;
}

}  // namespace pdm::pfs

// Inode: the metadata of one file or directory, as kept in the metadata store
// and sent over the wire. Inode numbers and generations are never reused, so
// (fs id, ino, generation) names one file for its whole life (DMAPI handles).
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <string>

#include "runtime/mpi/codec.h"

namespace pdm::pfs {

using InodeNumber = std::uint64_t;
inline constexpr InodeNumber kRootInode = 1;
inline constexpr std::size_t kMaxNameLength = 255;   // NAME_MAX
inline constexpr std::size_t kMaxPathLength = 4096;  // PATH_MAX

// Nanoseconds since the Unix epoch.
using TimeNs = std::int64_t;
TimeNs now_ns();

struct Inode {
  InodeNumber ino = 0;
  std::uint64_t generation = 0;
  std::uint32_t mode = 0;  // S_IFREG or S_IFDIR | permission bits
  std::uint32_t uid = 0;
  std::uint32_t gid = 0;
  std::uint32_t nlink = 0;  // 0: unlinked, waiting for its objects to be destroyed
  std::uint64_t size = 0;
  TimeNs atime = 0;
  TimeNs mtime = 0;
  TimeNs ctime = 0;
  std::uint32_t stripe_size = 0;   // bytes per stripe unit
  std::uint32_t first_volume = 0;  // volume holding stripe 0

  bool is_dir() const { return S_ISDIR(mode); }
  bool is_file() const { return S_ISREG(mode); }

  void encode(mpi::Encoder &out) const;
  static Result<Inode> decode(mpi::Decoder &in);
  bool operator==(const Inode &) const = default;
};

struct DirEntry {
  std::string name;
  InodeNumber ino = 0;
  std::uint32_t mode = 0;

  void encode(mpi::Encoder &out) const;
  static Result<DirEntry> decode(mpi::Decoder &in);
  bool operator==(const DirEntry &) const = default;
};

}  // namespace pdm::pfs

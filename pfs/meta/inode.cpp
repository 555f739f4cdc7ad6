#include "pfs/meta/inode.h"

#include <chrono>

namespace pdm::pfs {

TimeNs now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

namespace {
constexpr std::uint8_t kInodeFormat = 1;
}

void Inode::encode(mpi::Encoder &out) const {
  out.put(kInodeFormat)
      .put(ino)
      .put(generation)
      .put(mode)
      .put(uid)
      .put(gid)
      .put(nlink)
      .put(size)
      .put(atime)
      .put(mtime)
      .put(ctime)
      .put(stripe_size)
      .put(first_volume);
}

Result<Inode> Inode::decode(mpi::Decoder &in) {
  PDM_ASSIGN_OR_RETURN(auto format, in.get<std::uint8_t>());
  if (format != kInodeFormat) return make_error(EPROTO, "inode: unknown format {}", format);
  Inode i;
  PDM_ASSIGN_OR_RETURN(i.ino, in.get<InodeNumber>());
  PDM_ASSIGN_OR_RETURN(i.generation, in.get<std::uint64_t>());
  PDM_ASSIGN_OR_RETURN(i.mode, in.get<std::uint32_t>());
  PDM_ASSIGN_OR_RETURN(i.uid, in.get<std::uint32_t>());
  PDM_ASSIGN_OR_RETURN(i.gid, in.get<std::uint32_t>());
  PDM_ASSIGN_OR_RETURN(i.nlink, in.get<std::uint32_t>());
  PDM_ASSIGN_OR_RETURN(i.size, in.get<std::uint64_t>());
  PDM_ASSIGN_OR_RETURN(i.atime, in.get<TimeNs>());
  PDM_ASSIGN_OR_RETURN(i.mtime, in.get<TimeNs>());
  PDM_ASSIGN_OR_RETURN(i.ctime, in.get<TimeNs>());
  PDM_ASSIGN_OR_RETURN(i.stripe_size, in.get<std::uint32_t>());
  PDM_ASSIGN_OR_RETURN(i.first_volume, in.get<std::uint32_t>());
  return i;
}

void DirEntry::encode(mpi::Encoder &out) const {
  out.put_string(name).put(ino).put(mode);
}

Result<DirEntry> DirEntry::decode(mpi::Decoder &in) {
  DirEntry e;
  PDM_ASSIGN_OR_RETURN(e.name, in.get_string(kMaxNameLength));
  PDM_ASSIGN_OR_RETURN(e.ino, in.get<InodeNumber>());
  PDM_ASSIGN_OR_RETURN(e.mode, in.get<std::uint32_t>());
  return e;
}

}  // namespace pdm::pfs

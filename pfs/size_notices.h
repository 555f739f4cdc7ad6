// SizeNotices: lets clients cache file sizes safely. A file's size only
// grows through writes (which every client sees by asking when it reads past
// the size it knows) and shrinks only through truncation; a shrinking
// truncate is announced to every rank before it returns, by bumping a
// cluster-wide shrink epoch. A size a client learned under the current epoch
// is therefore a valid lower bound, and a read inside it needs no metadata
// call. pfs owns this interface; the runtime implements it with the session
// manager's broadcast (the same one that replicates the session table).
#pragma once

#include <cstdint>

#include "runtime/base/result.h"

namespace pdm::pfs {

class SizeNotices {
 public:
  virtual ~SizeNotices() = default;
  // The number of shrinks every rank has heard of (a local read).
  virtual std::uint64_t shrink_epoch() const = 0;
  // Tells every rank that a file shrank; returns once every rank knows.
  virtual Status announce_shrink() = 0;
};

}  // namespace pdm::pfs

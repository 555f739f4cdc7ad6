// ShrinkNotices: pfs's SizeNotices over the control plane. The shrink epoch
// is part of the replicated session table, so announcing a shrink is one
// update that returns once every rank applied it — after that no rank uses a
// file size it cached before the shrink.
#pragma once

#include "pfs/size_notices.h"
#include "runtime/dm/control_plane.h"

namespace pdm::dm {

class ShrinkNotices : public pfs::SizeNotices {
 public:
  explicit ShrinkNotices(ControlPlane &control) : control_(control) {}

  std::uint64_t shrink_epoch() const override {
    return control_.read([](const SessionTable &t) { return t.shrink_epoch(); });
  }
  Status announce_shrink() override {
    Update notice;
    notice.kind = Update::Kind::kShrinkNotice;
    PDM_TRY(control_.submit(notice));
    return {};
  }

 private:
  ControlPlane &control_;
};

}  // namespace pdm::dm

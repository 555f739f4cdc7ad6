// Volume ownership: a pure function of the view, so every rank holding the
// same view agrees without messages. Volume v is served by the live member
// at position v % size of the view; the metadata volume is volume 0. When a
// member leaves the view, its volumes move to survivors (the volumes are
// shared directories, so nothing is copied).
#pragma once

#include <cstdint>

#include "runtime/cluster/view.h"

namespace pdm::pfs {

inline constexpr std::uint32_t kMetadataVolume = 0;

inline int owner_of(std::uint32_t volume, const cluster::View &view) {
  return view.members()[volume % view.size()];
}

inline int metadata_owner(const cluster::View &view) {
  return owner_of(kMetadataVolume, view);
}

}  // namespace pdm::pfs

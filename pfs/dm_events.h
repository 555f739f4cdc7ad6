// The XDSM event numbers pfs raises (the values of DM_EVENT_* in
// <pdm/dmapi.h>, which pfs does not include: it knows events, not the C API).
#pragma once

namespace pdm::pfs::dm_event {

inline constexpr int kMount = 1;
inline constexpr int kPreunmount = 2;
inline constexpr int kUnmount = 3;
inline constexpr int kCreate = 5;
inline constexpr int kClose = 6;
inline constexpr int kPostcreate = 7;
inline constexpr int kRemove = 8;
inline constexpr int kPostremove = 9;
inline constexpr int kRename = 10;
inline constexpr int kPostrename = 11;
inline constexpr int kRead = 16;
inline constexpr int kWrite = 17;
inline constexpr int kTruncate = 18;
inline constexpr int kAttribute = 19;
inline constexpr int kDestroy = 20;
inline constexpr int kNospace = 21;
inline constexpr int kUser = 22;

// The events pfs's event points raise today (dm_get_config_events reports
// exactly these; extend it with every new event point).
inline constexpr unsigned long long kGenerated =
    (1ull << kCreate) | (1ull << kPostcreate) | (1ull << kRemove) | (1ull << kPostremove) |
    (1ull << kRename) | (1ull << kPostrename) | (1ull << kRead) | (1ull << kWrite) |
    (1ull << kTruncate) | (1ull << kDestroy);

}  // namespace pdm::pfs::dm_event

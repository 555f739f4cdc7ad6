// The XDSM event numbers pfs raises (the values of DM_EVENT_* in
// <pdm/dmapi.h>, which pfs does not include: it knows events, not the C API).
#pragma once

#include <array>
#include <string_view>

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
// MOUNT goes to a session when it takes the MOUNT disposition (the file
// system is mounted before any session exists), PREUNMOUNT/UNMOUNT when the
// job unmounts, USER through dm_send_msg.
inline constexpr unsigned long long kGenerated =
    (1ull << kCreate) | (1ull << kPostcreate) | (1ull << kRemove) | (1ull << kPostremove) |
    (1ull << kRename) | (1ull << kPostrename) | (1ull << kRead) | (1ull << kWrite) |
    (1ull << kTruncate) | (1ull << kAttribute) | (1ull << kDestroy) | (1ull << kMount) |
    (1ull << kPreunmount) | (1ull << kUnmount) | (1ull << kClose) | (1ull << kNospace) |
    (1ull << kUser);

// Lower-case XDSM names by event number (DM_EVENT_READ = 16 is "read"), for
// tools and logs; events pdm does not have keep their XDSM names too.
inline constexpr std::array<std::string_view, 23> kNames = {
    "cancel",   "mount",      "preunmount", "unmount",     "debut",  "create",
    "close",    "postcreate", "remove",     "postremove",  "rename", "postrename",
    "link",     "postlink",   "symlink",    "postsymlink", "read",   "write",
    "truncate", "attribute",  "destroy",    "nospace",     "user"};

inline std::string_view name(int event) {
  return event >= 0 && event < static_cast<int>(kNames.size()) ? kNames[event] : "unknown";
}

}  // namespace pdm::pfs::dm_event

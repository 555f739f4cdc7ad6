// pdm.gone: the archive copies that no file names any more, with the time
// they were first known to be unneeded. A DM attribute of the root
// directory, one "<location> <ns> [removed]" line per copy ("removed": the
// recall agent noted it when the file was removed, so the time is the
// removal's; without it `pdm-hsm remove` found the copy an orphan in a scan
// and the time is that scan's). `pdm-hsm remove` drops a copy once the grace
// period has passed since that time.
//
// Both writers, the recall agent (REMOVE events, on any rank) and `pdm-hsm
// remove` (rank 0), change the list only under DM_RIGHT_EXCL on the root
// directory, so that neither loses the other's lines.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "runtime/base/result.h"
#include "runtime/dm/api/right.h"
#include "runtime/dm/api/session.h"

namespace pdm::hsm {

namespace api = pdm::dm::api;

inline constexpr const char *kGoneAttribute = "pdm.gone";

struct GoneCopy {
  std::int64_t since_ns = 0;  // when it was first known gone
  bool at_removal = false;    // noted by the recall agent at the file's removal
  bool operator==(const GoneCopy &) const = default;
};
using GoneList = std::map<std::string, GoneCopy>;  // location -> when

// The root's list (empty without the attribute). token: one that holds a
// right on the root, or none.
Result<GoneList> read_gone(const api::Session &session, const api::Handle &root,
                           dm::Token token = api::kNoToken);
// Replaces the root's list (an empty list removes the attribute). A DM
// attribute holds at most pfs::kMaxDmAttrValue bytes (64 KiB, some 800
// copies): a longer list keeps its oldest lines (fitting). A copy left out
// is found again by `remove`'s scan and noted then: its grace period starts
// later, so it is kept longer, never dropped early.
Status write_gone(const api::Session &session, const api::Handle &root, const GoneList &gone,
                  dm::Token token = api::kNoToken);

// The oldest entries of `gone` whose text fits in max_bytes.
GoneList fitting(const GoneList &gone, std::size_t max_bytes);

// The text of a list and back (lines that do not parse are skipped).
std::string encode_gone(const GoneList &gone);
GoneList decode_gone(const std::string &text);

// Adds `locations`, removed at `now_ns`, to the root's list; `token` must
// hold DM_RIGHT_EXCL on the root. A location already listed keeps its time.
Status note_removed(const api::Session &session, const api::Handle &root, dm::Token token,
                    const std::vector<std::string> &locations, std::int64_t now_ns);

}  // namespace pdm::hsm

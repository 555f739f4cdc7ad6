#include "apps/hsm/agent/gone_list.h"

#include <algorithm>
#include <sstream>

#include <fmt/format.h>

#include "runtime/dm/api/objects.h"

namespace pdm::hsm {
namespace {

constexpr std::string_view kAtRemoval = "removed";

bool is_missing(const Error &error) {
  return error.code == ENOENT || error.code == ENODATA;
}

}  // namespace

std::string encode_gone(const GoneList &gone) {
  std::string text;
  for (const auto &[location, copy] : gone) {
    text += fmt::format("{} {}{}\n", location, copy.since_ns,
                        copy.at_removal ? fmt::format(" {}", kAtRemoval) : "");
  }
  return text;
}

GoneList decode_gone(const std::string &text) {
  GoneList gone;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream in(line);
    std::string location, how;
    GoneCopy copy;
    if (!(in >> location >> copy.since_ns)) continue;
    copy.at_removal = (in >> how) && how == kAtRemoval;
    gone[location] = copy;
  }
  return gone;
}

Result<GoneList> read_gone(const api::Session &session, const api::Handle &root, dm::Token token) {
  auto value = api::get_attr(session, root, kGoneAttribute, token);
  if (!value.ok()) {
    if (is_missing(value.error())) return GoneList{};
    return value.error();
  }
  return decode_gone(*value);
}

GoneList fitting(const GoneList &gone, std::size_t max_bytes) {
  if (encode_gone(gone).size() <= max_bytes) return gone;
  std::vector<std::pair<std::string, GoneCopy>> by_age(gone.begin(), gone.end());
  std::stable_sort(by_age.begin(), by_age.end(), [](const auto &a, const auto &b) {
    return a.second.since_ns < b.second.since_ns;
  });
  GoneList kept;
  std::size_t bytes = 0;
  for (const auto &[location, copy] : by_age) {
    const std::size_t line = encode_gone({{location, copy}}).size();
    if (bytes + line > max_bytes) break;
    kept.emplace(location, copy);
    bytes += line;
  }
  return kept;
}

Status write_gone(const api::Session &session, const api::Handle &root, const GoneList &gone,
                  dm::Token token) {
  if (gone.empty()) {
    auto removed = api::remove_attr(session, root, kGoneAttribute, token);
    if (!removed.ok() && !is_missing(removed.error())) return removed;
    return {};
  }
  return api::set_attr(session, root, kGoneAttribute,
                       encode_gone(fitting(gone, pfs::kMaxDmAttrValue)), token);
}

Status note_removed(const api::Session &session, const api::Handle &root, dm::Token token,
                    const std::vector<std::string> &locations, std::int64_t now_ns) {
  PDM_ASSIGN_OR_RETURN(GoneList gone, read_gone(session, root, token));
  bool changed = false;
  for (const std::string &location : locations) {
    changed = gone.emplace(location, GoneCopy{now_ns, true}).second || changed;
  }
  if (!changed) return {};
  return write_gone(session, root, gone, token);
}

}  // namespace pdm::hsm

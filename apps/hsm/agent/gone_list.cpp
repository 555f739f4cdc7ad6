#include "apps/hsm/agent/gone_list.h"

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

Status write_gone(const api::Session &session, const api::Handle &root, const GoneList &gone,
                  dm::Token token) {
  if (gone.empty()) {
    auto removed = api::remove_attr(session, root, kGoneAttribute, token);
    if (!removed.ok() && !is_missing(removed.error())) return removed;
    return {};
  }
  return api::set_attr(session, root, kGoneAttribute, encode_gone(gone), token);
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

#include "runtime/dm/rights_table.h"

namespace pdm::dm {

Right RightsTable::held(std::uint64_t ino, Token token) const {
  auto object = objects_.find(ino);
  if (object == objects_.end()) return Right::kNull;
  auto holder = object->second.find(token);
  return holder == object->second.end() ? Right::kNull : holder->second.right;
}

bool RightsTable::conflicts(std::uint64_t ino, Right wanted, Token except) const {
  auto object = objects_.find(ino);
  if (object == objects_.end() || wanted == Right::kNull) return false;
  for (const auto &[token, holder] : object->second) {
    if (token == except) continue;
    if (wanted == Right::kExcl || holder.right == Right::kExcl) return true;
  }
  return false;
}

bool RightsTable::excludes(std::uint64_t ino, pfs::AccessKind kind) const {
  auto object = objects_.find(ino);
  if (object == objects_.end()) return false;
  for (const auto &[token, holder] : object->second) {
    if (holder.right == Right::kExcl || kind == pfs::AccessKind::kModify) return true;
  }
  return false;
}

bool RightsTable::token_holds_any(Token token) const {
  for (const auto &[ino, holders] : objects_) {
    if (holders.count(token) != 0) return true;
  }
  return false;
}

Status RightsTable::validate(const RightChange &c) const {
  using Op = RightChange::Op;
  if (c.ino == 0) return make_error(EINVAL, "rights are held on objects (inode 0)");
  if (c.token == 0) return make_error(EINVAL, "rights are held by a token (token 0)");
  const Right now = held(c.ino, c.token);
  switch (c.op) {
    case Op::kRequest:
      if (c.right != Right::kShared && c.right != Right::kExcl) {
        return make_error(EINVAL, "request of right {}: only SHARED and EXCL can be requested",
                          static_cast<int>(c.right));
      }
      if (now >= c.right) return {};
      if (conflicts(c.ino, c.right, c.token)) {
        return make_error(EAGAIN, "inode {}: another token holds a conflicting right", c.ino);
      }
      return {};
    case Op::kRelease:
      if (now == Right::kNull) {
        return make_error(EACCES, "token {} holds no right on inode {}", c.token, c.ino);
      }
      return {};
    case Op::kUpgrade:
      if (now == Right::kNull) {
        return make_error(EPERM, "token {} holds no right on inode {} to upgrade", c.token, c.ino);
      }
      if (now == Right::kShared && conflicts(c.ino, Right::kExcl, c.token)) {
        return make_error(EAGAIN, "inode {}: another token holds a right", c.ino);
      }
      return {};
    case Op::kDowngrade:
      if (now == Right::kNull) {
        return make_error(EPERM, "token {} holds no right on inode {} to downgrade", c.token,
                          c.ino);
      }
      return {};
  }
  return make_error(EINVAL, "unknown right operation {}", static_cast<int>(c.op));
}

void RightsTable::set(std::uint64_t ino, Token token, SessionId session, Right right) {
  if (right == Right::kNull) {
    auto object = objects_.find(ino);
    if (object == objects_.end()) return;
    object->second.erase(token);
    if (object->second.empty()) objects_.erase(object);
    return;
  }
  objects_[ino][token] = Holder{session, right};
}

void RightsTable::apply(const RightChange &c) {
  using Op = RightChange::Op;
  const Right now = held(c.ino, c.token);
  switch (c.op) {
    case Op::kRequest:
      if (now < c.right) set(c.ino, c.token, c.session, c.right);
      break;
    case Op::kRelease:
      set(c.ino, c.token, c.session, Right::kNull);
      break;
    case Op::kUpgrade:
      set(c.ino, c.token, c.session, Right::kExcl);
      break;
    case Op::kDowngrade:
      set(c.ino, c.token, c.session, Right::kShared);
      break;
  }
}

void RightsTable::drop_token(Token token) {
  for (auto object = objects_.begin(); object != objects_.end();) {
    object->second.erase(token);
    object = object->second.empty() ? objects_.erase(object) : std::next(object);
  }
}

void RightsTable::move_token(Token token, SessionId session) {
  for (auto &[ino, holders] : objects_) {
    auto it = holders.find(token);
    if (it != holders.end()) it->second.session = session;
  }
}

void RightsTable::move_session(SessionId from, SessionId to) {
  for (auto &[ino, holders] : objects_) {
    for (auto &[token, holder] : holders) {
      if (holder.session == from) holder.session = to;
    }
  }
}

void RightsTable::drop_session(SessionId session) {
  for (auto object = objects_.begin(); object != objects_.end();) {
    std::erase_if(object->second,
                  [&](const auto &entry) { return entry.second.session == session; });
    object = object->second.empty() ? objects_.erase(object) : std::next(object);
  }
}

std::vector<HeldRight> RightsTable::all() const {
  std::vector<HeldRight> out;
  for (const auto &[ino, holders] : objects_) {
    for (const auto &[token, holder] : holders) {
      out.push_back({ino, token, holder.session, holder.right});
    }
  }
  return out;
}

Result<RightsTable> RightsTable::from(const std::vector<HeldRight> &rights) {
  RightsTable table;
  for (const auto &r : rights) {
    if (r.ino == 0 || r.token == 0 || r.right == Right::kNull || r.right > Right::kExcl) {
      return make_error(EPROTO, "snapshot: invalid right on inode {}", r.ino);
    }
    table.set(r.ino, r.token, r.session, r.right);
  }
  return table;
}

}  // namespace pdm::dm

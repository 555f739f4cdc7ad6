#include "runtime/dm/session_table.h"

#include <algorithm>

#include "pfs/dm_events.h"

namespace pdm::dm {

namespace ev = pfs::dm_event;

EventSet disposable_events() {
  EventSet set = 0;
  for (int e : {ev::kMount, ev::kPreunmount, ev::kUnmount, ev::kCreate, ev::kClose, ev::kPostcreate,
                ev::kRemove, ev::kPostremove, ev::kRename, ev::kPostrename, ev::kRead, ev::kWrite,
                ev::kTruncate, ev::kAttribute, ev::kDestroy, ev::kNospace}) {
    set |= event_bit(e);
  }
  return set;
}

EventSet supported_events() {
  return disposable_events() | event_bit(ev::kUser);
}

const Session *SessionTable::session(SessionId id) const {
  auto it = sessions_.find(id);
  return it == sessions_.end() ? nullptr : &it->second;
}

SessionId SessionTable::successor(SessionId id) const {
  // A chain of takeovers is at most as long as the map: bounded even if a
  // replica were corrupt.
  for (std::size_t hops = 0; hops <= taken_over_.size(); ++hops) {
    if (sessions_.contains(id)) return id;
    auto it = taken_over_.find(id);
    if (it == taken_over_.end()) return 0;
    id = it->second;
  }
  return 0;
}

const Session *SessionTable::standby_for(SessionId id) const {
  const Session *orphan = session(id);
  if (orphan == nullptr || orphan->state != SessionState::kOrphaned || orphan->group.empty()) {
    return nullptr;
  }
  // The standby that stands in for the fewest sessions already (ties: the
  // lowest id), so that a rank dying with several members of the group
  // spreads them over the standbys instead of piling them on one. Decided
  // from the table alone: every replica would choose the same.
  const Session *chosen = nullptr;
  std::size_t chosen_load = 0;
  for (const Session *m : members(orphan->group)) {
    if (m->id == id || !m->standby || m->state != SessionState::kActive) continue;
    const auto load = static_cast<std::size_t>(
        std::count_if(taken_over_.begin(), taken_over_.end(),
                      [&](const auto &entry) { return entry.second == m->id; }));
    if (chosen == nullptr || load < chosen_load) {
      chosen = m;
      chosen_load = load;
    }
  }
  return chosen;
}

std::vector<const Session *> SessionTable::members(const std::string &group) const {
  std::vector<const Session *> out;
  if (group.empty()) return out;
  for (const auto &[id, s] : sessions_) {
    if (s.group == group) out.push_back(&s);
  }
  return out;
}

GroupOptions SessionTable::group_options(const std::string &group) const {
  auto it = groups_.find(group);
  return it == groups_.end() ? GroupOptions{} : it->second;
}

DispTarget SessionTable::disposition(FsId fs, int event) const {
  if (event < 0 || event >= kEventTypes) return {};
  auto it = fs_.find(fs);
  return it == fs_.end() ? DispTarget{} : it->second.dispositions[static_cast<std::size_t>(event)];
}

EventSet SessionTable::disposed_to(FsId fs, SessionId session) const {
  EventSet set = 0;
  auto it = fs_.find(fs);
  if (it == fs_.end()) return set;
  for (int e = 0; e < kEventTypes; ++e) {
    if (it->second.dispositions[static_cast<std::size_t>(e)].session == session)
      set |= event_bit(e);
  }
  return set;
}

EventSet SessionTable::eventlist(FsId fs) const {
  auto it = fs_.find(fs);
  return it == fs_.end() ? 0 : it->second.eventlist;
}

std::optional<EventSet> SessionTable::object_eventlist(FsId fs, std::uint64_t ino,
                                                       std::uint64_t generation) const {
  auto it = objects_.find({fs, ino});
  if (it == objects_.end() || it->second.generation != generation) return std::nullopt;
  return it->second.events;
}

EventSet SessionTable::object_events_union(FsId fs) const {
  auto it = object_union_.find(fs);
  return it == object_union_.end() ? 0 : it->second;
}

void SessionTable::recompute_object_union(FsId fs) {
  EventSet set = 0;
  for (auto it = objects_.lower_bound({fs, 0}); it != objects_.end() && it->first.first == fs;
       ++it) {
    set |= it->second.events;
  }
  if (set == 0) {
    object_union_.erase(fs);
  } else {
    object_union_[fs] = set;
  }
}

Status SessionTable::preload_object_eventlists(const std::vector<ObjectEventList> &lists) {
  if (version_ != 0) {
    return make_error(EPROTO, "per-file event lists preloaded at table version {}", version_);
  }
  for (const auto &l : lists) {
    if (l.ino == 0 || (l.events & ~supported_events())) {
      return make_error(EPROTO, "stored event list of inode {} is invalid", l.ino);
    }
    objects_[{l.fs, l.ino}] = l;
  }
  for (const auto &l : lists) recompute_object_union(l.fs);
  return {};
}

Status SessionTable::validate_disposition(const Update &u) const {
  const bool to_group = !u.group.empty();
  if (to_group == (u.session.id != 0)) {
    return make_error(EINVAL, "a disposition names either one session or one group");
  }
  if (!to_group && session(u.session.id) == nullptr) {
    return make_error(ESRCH, "session {} does not exist", u.session.id);
  }
  if (to_group && members(u.group).empty()) {
    return make_error(ESRCH, "session group '{}' has no members", u.group);
  }
  if (u.events & ~disposable_events()) {
    return make_error(EINVAL, "event set {:#x} holds events pdm cannot dispose", u.events);
  }
  // XDSM: the global handle takes only the MOUNT event.
  if (u.fs == kGlobalFs && (u.events & ~event_bit(ev::kMount))) {
    return make_error(EINVAL, "only DM_EVENT_MOUNT can be disposed on the global handle");
  }
  // B9: an event type of a file system is disposed to at most one session or
  // group. pdm refuses (EBUSY) to take one that another active holder has;
  // the disposition of an orphaned session can be taken over.
  const DispTarget wanted{to_group ? 0 : u.session.id, u.group};
  auto it = fs_.find(u.fs);
  if (it == fs_.end()) return {};
  for (int e = 0; e < kEventTypes; ++e) {
    if (!(u.events & event_bit(e))) continue;
    const DispTarget &held = it->second.dispositions[static_cast<std::size_t>(e)];
    if (held.empty() || held == wanted) continue;
    bool holder_active = false;
    if (held.session != 0) {
      const Session *s = session(held.session);
      holder_active = s != nullptr && s->state == SessionState::kActive;
    } else {
      for (const Session *m : members(held.group)) {
        holder_active |= m->state == SessionState::kActive;
      }
    }
    if (holder_active) {
      return make_error(EBUSY, "event {} of file system {:#x} is already disposed to {}", e, u.fs,
                        held.session != 0 ? fmt::format("session {}", held.session)
                                          : fmt::format("group '{}'", held.group));
    }
  }
  return {};
}

Status SessionTable::validate(const Update &u) const {
  using Kind = Update::Kind;
  switch (u.kind) {
    case Kind::kCreateSession:
      if (u.session.id != last_session_id_ + 1) {
        return make_error(EINVAL, "session id {} is not the next id {}", u.session.id,
                          last_session_id_ + 1);
      }
      [[fallthrough]];
    case Kind::kModifySession:
      if (u.session.info.size() > kMaxSessionInfo) {
        return make_error(E2BIG, "session info of {} bytes exceeds DM_SESSION_INFO_LEN ({})",
                          u.session.info.size(), kMaxSessionInfo);
      }
      if (u.session.group.size() > kMaxGroupName) {
        return make_error(E2BIG, "group name of {} bytes exceeds {}", u.session.group.size(),
                          kMaxGroupName);
      }
      if (u.kind == Kind::kModifySession && session(u.session.id) == nullptr) {
        return make_error(ESRCH, "session {} does not exist", u.session.id);
      }
      if (u.session.standby && u.session.group.empty()) {
        return make_error(EINVAL, "session {}: only a member of a group can be a standby",
                          u.session.id);
      }
      if (u.session.node < 0)
        return make_error(EINVAL, "session node {} is invalid", u.session.node);
      if (u.events & ~supported_events()) {
        return make_error(EINVAL, "event set {:#x} holds events pdm cannot generate", u.events);
      }
      return {};
    case Kind::kAssumeSession: {
      const Session *old = session(u.session.id);
      if (old == nullptr && taken_over_.contains(u.session.id)) {
        return make_error(ESRCH, "session {} was taken over by its standby, session {}",
                          u.session.id, successor(u.session.id));
      }
      if (old == nullptr) return make_error(ESRCH, "session {} does not exist", u.session.id);
      if (old->state == SessionState::kActive && old->node != u.session.node) {
        return make_error(EBUSY, "session {} is active on rank {}", u.session.id, old->node);
      }
      if (u.session.info.size() > kMaxSessionInfo) {
        return make_error(E2BIG, "session info exceeds DM_SESSION_INFO_LEN");
      }
      return {};
    }
    case Kind::kDestroySession:
      if (session(u.session.id) == nullptr) {
        return make_error(ESRCH, "session {} does not exist", u.session.id);
      }
      return {};
    case Kind::kSetDisposition:
      return validate_disposition(u);
    case Kind::kSetEventList:
      if (u.events & ~supported_events()) {
        return make_error(EINVAL, "event set {:#x} holds events pdm cannot generate", u.events);
      }
      return {};
    case Kind::kSetGroupOptions:
      if (u.group.empty() || u.group.size() > kMaxGroupName) {
        return make_error(EINVAL, "invalid group name '{}'", u.group);
      }
      return {};
    case Kind::kChangeRight:
      if (session(u.right.session) == nullptr) {
        return make_error(ESRCH, "session {} does not exist", u.right.session);
      }
      return rights_.validate(u.right);
    case Kind::kSetObjectEventList:
      if (u.fs == kGlobalFs || u.ino == 0) {
        return make_error(EINVAL, "a per-file event list names a file system and an inode");
      }
      if (u.events & ~supported_events()) {
        return make_error(EINVAL, "event set {:#x} holds events pdm cannot generate", u.events);
      }
      return {};
    case Kind::kDropObjectEventList:
    case Kind::kOrphanNode:
    case Kind::kShrinkNotice:
    case Kind::kReleaseToken:
      return {};
    case Kind::kMoveToken:
      if (session(u.right.session) == nullptr) {
        return make_error(ESRCH, "session {} does not exist", u.right.session);
      }
      return {};
    case Kind::kTakeOver: {
      const Session *orphan = session(u.session.id);
      const Session *standby = session(u.into);
      if (orphan == nullptr || standby == nullptr) {
        return make_error(ESRCH, "takeover of session {} by session {}: no such session",
                          u.session.id, u.into);
      }
      if (orphan->state != SessionState::kOrphaned) {
        return make_error(EBUSY, "session {} is not orphaned", u.session.id);
      }
      if (orphan->group.empty() || standby->group != orphan->group || !standby->standby ||
          standby->state != SessionState::kActive || standby->id == orphan->id) {
        return make_error(EINVAL, "session {} is not an active standby of session {}'s group",
                          u.into, u.session.id);
      }
      return {};
    }
  }
  return make_error(EINVAL, "unknown session table update {}", static_cast<int>(u.kind));
}

void SessionTable::clear_dispositions_of(SessionId id) {
  for (auto &[fs, state] : fs_) {
    for (auto &target : state.dispositions) {
      if (target.session == id) target = {};
    }
  }
}

Status SessionTable::apply(const Update &u) {
  if (u.version != version_ + 1) {
    return make_error(EPROTO, "session table update {} applied at version {}", u.version, version_);
  }
  PDM_TRY(validate(u));
  using Kind = Update::Kind;
  switch (u.kind) {
    case Kind::kCreateSession: {
      Session s = u.session;
      s.state = SessionState::kActive;
      sessions_[s.id] = s;
      last_session_id_ = s.id;
      break;
    }
    case Kind::kAssumeSession: {
      Session &s = sessions_[u.session.id];
      s.node = u.session.node;
      s.info = u.session.info;
      s.state = SessionState::kActive;
      break;
    }
    case Kind::kModifySession: {
      Session &s = sessions_[u.session.id];
      const std::string old_group = s.group;
      s.info = u.session.info;
      s.group = u.session.group;
      s.standby = u.session.standby;
      // The last member's leave also disables the group's events: in one
      // version, so no replica ever has them enabled with no member.
      if (u.events != 0 && !old_group.empty() && old_group != s.group &&
          members(old_group).empty()) {
        if (auto fs = fs_.find(u.fs); fs != fs_.end()) fs->second.eventlist &= ~u.events;
      }
      break;
    }
    case Kind::kTakeOver: {
      // The standby answers for the session from now on: the events its
      // sources keep follow successor() there, with their tokens; its
      // dispositions (the partition stays whole) and its tokens' rights are
      // the standby's. The group keeps the standby, so its dispositions stay.
      sessions_.erase(u.session.id);
      taken_over_[u.session.id] = u.into;
      for (auto &[fs, state] : fs_) {
        for (auto &target : state.dispositions) {
          if (target.session == u.session.id) target.session = u.into;
        }
      }
      rights_.move_session(u.session.id, u.into);
      break;
    }
    case Kind::kDestroySession: {
      const std::string group = sessions_[u.session.id].group;
      sessions_.erase(u.session.id);
      clear_dispositions_of(u.session.id);
      rights_.drop_session(u.session.id);
      // A group's dispositions go with its last member.
      if (!group.empty() && members(group).empty()) {
        for (auto &[fs, state] : fs_) {
          for (auto &target : state.dispositions) {
            if (target.group == group) target = {};
          }
        }
        groups_.erase(group);
      }
      break;
    }
    case Kind::kSetDisposition: {
      FsState &state = fs_[u.fs];
      const DispTarget wanted{u.group.empty() ? u.session.id : 0, u.group};
      for (int e = 0; e < kEventTypes; ++e) {
        auto &target = state.dispositions[static_cast<std::size_t>(e)];
        if (u.events & event_bit(e)) {
          target = wanted;
        } else if (target == wanted) {
          target = {};  // XDSM: the set replaces what the session held
        }
      }
      break;
    }
    case Kind::kSetEventList:
      fs_[u.fs].eventlist = u.events;
      break;
    case Kind::kSetGroupOptions:
      groups_[u.group] = u.options;
      break;
    case Kind::kOrphanNode:
      for (auto &[id, s] : sessions_) {
        if (s.node == u.node) s.state = SessionState::kOrphaned;
      }
      break;
    case Kind::kShrinkNotice:
      ++shrink_epoch_;
      break;
    case Kind::kChangeRight:
      rights_.apply(u.right);
      break;
    case Kind::kReleaseToken:
      rights_.drop_token(u.right.token);
      break;
    case Kind::kMoveToken:
      rights_.move_token(u.right.token, u.right.session);
      break;
    case Kind::kSetObjectEventList:
      objects_[{u.fs, u.ino}] = ObjectEventList{u.fs, u.ino, u.generation, u.events};
      recompute_object_union(u.fs);
      break;
    case Kind::kDropObjectEventList: {
      auto it = objects_.find({u.fs, u.ino});
      if (it != objects_.end() && it->second.generation == u.generation) objects_.erase(it);
      recompute_object_union(u.fs);
      break;
    }
  }
  version_ = u.version;
  return {};
}

SessionTable::Snapshot SessionTable::snapshot() const {
  Snapshot out;
  out.version = version_;
  out.last_session_id = last_session_id_;
  out.shrink_epoch = shrink_epoch_;
  out.rights = rights_.all();
  for (const auto &[id, s] : sessions_) out.sessions.push_back(s);
  for (const auto &[name, options] : groups_) out.groups.push_back({name, options});
  for (const auto &[fs, state] : fs_) {
    out.file_systems.push_back(
        {fs, std::vector<DispTarget>(state.dispositions.begin(), state.dispositions.end()),
         state.eventlist});
  }
  for (const auto &[key, list] : objects_) out.object_eventlists.push_back(list);
  for (const auto &[id, into] : taken_over_) out.taken_over.push_back({id, into});
  return out;
}

Result<SessionTable> SessionTable::from_snapshot(const Snapshot &snapshot) {
  SessionTable table;
  table.version_ = snapshot.version;
  table.last_session_id_ = snapshot.last_session_id;
  table.shrink_epoch_ = snapshot.shrink_epoch;
  for (const auto &s : snapshot.sessions) {
    if (s.id <= 0 || s.id > snapshot.last_session_id) {
      return make_error(EPROTO, "snapshot: session id {} out of range", s.id);
    }
    table.sessions_[s.id] = s;
  }
  for (const auto &g : snapshot.groups) table.groups_[g.name] = g.options;
  for (const auto &f : snapshot.file_systems) {
    if (f.dispositions.size() != kEventTypes) {
      return make_error(EPROTO, "snapshot: {} dispositions for file system {:#x}",
                        f.dispositions.size(), f.fs);
    }
    FsState &state = table.fs_[f.fs];
    std::copy(f.dispositions.begin(), f.dispositions.end(), state.dispositions.begin());
    state.eventlist = f.eventlist;
  }
  PDM_ASSIGN_OR_RETURN(table.rights_, RightsTable::from(snapshot.rights));
  for (const auto &l : snapshot.object_eventlists) table.objects_[{l.fs, l.ino}] = l;
  for (const auto &l : snapshot.object_eventlists) table.recompute_object_union(l.fs);
  for (const auto &t : snapshot.taken_over) table.taken_over_[t.session] = t.into;
  return table;
}

}  // namespace pdm::dm

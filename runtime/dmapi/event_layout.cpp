#include "runtime/dmapi/event_layout.h"

#include <pdm/dmapi.h>

#include <cstring>
#include <string>

namespace pdm::dmapi {
namespace {

constexpr std::size_t align8(std::size_t n) {
  return (n + 7) / 8 * 8;
}

// The bytes of one event structure and its tail, built in place.
class Builder {
 public:
  explicit Builder(std::size_t fixed) : out_(align8(fixed), 0) {}
  dm_vardata_t put(const void *data, std::size_t length) {
    dm_vardata_t field{};
    field.vd_offset = static_cast<int>(out_.size());
    field.vd_length = static_cast<unsigned int>(length);
    // resize + memcpy, not insert: GCC 12 reports a false -Warray-bounds on insert here.
    const std::size_t at = out_.size();
    out_.resize(at + length);
    if (length > 0) std::memcpy(out_.data() + at, data, length);
    return field;
  }
  dm_vardata_t put(const HandleBytes &h) { return put(h.data(), h.size()); }
  dm_vardata_t put(const std::string &name) {
    return name.empty() ? dm_vardata_t{} : put(name.c_str(), name.size() + 1);
  }
  template <typename Structure>
  std::vector<char> finish(const Structure &structure) {
    std::memcpy(out_.data(), &structure, sizeof structure);
    out_.resize(align8(out_.size()), 0);
    return std::move(out_);
  }

 private:
  std::vector<char> out_;
};

}  // namespace

std::vector<char> render_event_data(const dm::EventMessage &m, FsId fsid) {
  auto object = [&](const dm::EventObjectWire &o) {
    return Handle::object(fsid, o.ino, o.generation).encode();
  };
  const auto fs_handle = Handle::file_system(fsid).encode();
  switch (m.type) {
    case DM_EVENT_USER: {
      std::vector<char> out(m.data.begin(), m.data.end());
      out.resize(align8(out.size()), 0);
      return out;
    }
    case DM_EVENT_DESTROY: {
      Builder b(sizeof(dm_destroy_event_t));
      dm_destroy_event_t ev{};
      ev.ds_handle = b.put(object(m.object1));
      return b.finish(ev);
    }
    case DM_EVENT_READ:
    case DM_EVENT_WRITE:
    case DM_EVENT_TRUNCATE: {
      Builder b(sizeof(dm_data_event_t));
      dm_data_event_t ev{};
      ev.de_offset = static_cast<dm_off_t>(m.offset);
      ev.de_length = m.length;
      ev.de_handle = b.put(object(m.object1));
      return b.finish(ev);
    }
    case DM_EVENT_MOUNT: {
      Builder b(sizeof(dm_mount_event_t));
      dm_mount_event_t ev{};
      ev.me_mode = static_cast<mode_t>(m.mode);
      ev.me_handle1 = b.put(fs_handle);
      if (m.object2.ino != 0) {
        ev.me_handle2 = b.put(object(m.object2));
        ev.me_roothandle = b.put(object(m.object2));
      }
      ev.me_name1 = b.put(m.name1);
      ev.me_name2 = b.put(m.name2);
      return b.finish(ev);
    }
    default: {
      Builder b(sizeof(dm_namesp_event_t));
      dm_namesp_event_t ev{};
      ev.ne_mode = static_cast<mode_t>(m.mode);
      ev.ne_retcode = m.retcode;
      if (m.type == DM_EVENT_PREUNMOUNT || m.type == DM_EVENT_UNMOUNT) {
        ev.ne_handle1 = b.put(fs_handle);
      } else if (m.object1.ino != 0) {
        ev.ne_handle1 = b.put(object(m.object1));
      }
      if (m.object2.ino != 0) ev.ne_handle2 = b.put(object(m.object2));
      ev.ne_name1 = b.put(m.name1);
      ev.ne_name2 = b.put(m.name2);
      return b.finish(ev);
    }
  }
}

std::vector<char> render_message(const dm::EventMessage &m, FsId fsid) {
  const std::vector<char> data = render_event_data(m, fsid);
  const std::size_t header = align8(sizeof(dm_eventmsg_t));
  std::vector<char> out(header + data.size(), 0);
  if (!data.empty()) std::memcpy(out.data() + header, data.data(), data.size());
  dm_eventmsg_t msg{};
  msg._link = 0;
  msg.ev_type = static_cast<dm_eventtype_t>(m.type);
  msg.ev_token = m.token;
  msg.ev_sequence = m.sequence;
  msg.ev_data.vd_offset = static_cast<int>(header);
  msg.ev_data.vd_length =
      static_cast<unsigned int>(m.type == DM_EVENT_USER ? m.data.size() : data.size());
  std::memcpy(out.data(), &msg, sizeof msg);
  return out;
}

}  // namespace pdm::dmapi

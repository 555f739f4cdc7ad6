#include "runtime/dm/api/objects.h"

#include <pdm/dmapi.h>

#include <algorithm>

#include "pfs/meta/dm_attr_protocol.h"
#include "pfs/meta/meta_store.h"
#include "runtime/dmapi/dm_object.h"
#include "runtime/node/process_node.h"

namespace pdm::dm::api {
namespace {

namespace msg = pdm::pfs::dm_attr_msg;
using pdm::dmapi::Object;

// The object, checked as the C functions check it (dm_attrs.cpp target()).
Result<Object> target(const Session &s, const Handle &handle, Token token, dm::Right needed) {
  if (handle.validate().ok() == false) return Error{EBADF, "not a valid handle"};
  const auto bytes = handle.encode();
  PDM_ASSIGN_OR_RETURN(auto object, pdm::dmapi::object_of(bytes.data(), bytes.size()));
  PDM_TRY(pdm::dmapi::check_session(*object.node, s.id()));
  PDM_ASSIGN_OR_RETURN(object.right,
                       pdm::dmapi::check_right(*object.node, s.id(), token, object.ino, needed));
  return object;
}

Status check_name(std::string_view name) {
  if (name.empty() || name.size() > DM_ATTR_NAME_SIZE) {
    return make_error(EINVAL, "DM attribute name '{}': 1 to {} bytes", name, DM_ATTR_NAME_SIZE);
  }
  return {};
}

}  // namespace

Result<std::string> get_attr(const Session &s, const Handle &object, std::string_view name,
                             Token token) {
  PDM_TRY(check_name(name));
  PDM_ASSIGN_OR_RETURN(auto o, target(s, object, token, dm::Right::kShared));
  return pdm::dmapi::meta_call<std::string>(
      o, msg::kGetDmattr, pfs::DmattrRequest{o.ino, o.generation, std::string(name), false});
}

Result<std::vector<Result<std::string>>> get_attr_of_each(const Session &s,
                                                          std::span<const Handle> objects,
                                                          std::string_view name) {
  PDM_TRY(check_name(name));
  node::Node *node = node::process_node();
  if (node == nullptr) return Error{EINVAL, "pdm is not started: call pdm_start first"};
  PDM_TRY(pdm::dmapi::check_session(*node, s.id()));
  std::vector<Result<std::string>> out(objects.size(), Error{EBADF, "not a valid handle"});
  // Which objects go in the requests (out's index), and as what.
  std::vector<std::size_t> asked;
  std::vector<pfs::ObjectRequest> requests;
  for (std::size_t i = 0; i < objects.size(); ++i) {
    if (!objects[i].validate().ok()) continue;
    const auto bytes = objects[i].encode();
    auto object = pdm::dmapi::object_of(bytes.data(), bytes.size());
    if (!object.ok()) {
      out[i] = object.error();
      continue;
    }
    asked.push_back(i);
    requests.push_back({object->ino, object->generation});
  }
  for (std::size_t first = 0; first < requests.size(); first += kAttrOfEachBatch) {
    const std::size_t last = std::min(requests.size(), first + kAttrOfEachBatch);
    pfs::DmattrOfEachRequest request{{requests.begin() + static_cast<std::ptrdiff_t>(first),
                                      requests.begin() + static_cast<std::ptrdiff_t>(last)},
                                     std::string(name)};
    PDM_ASSIGN_OR_RETURN(auto answers, node->fs().meta_call<std::vector<pfs::DmattrOrError>>(
                                           msg::kGetDmattrOfEach, request));
    if (answers.size() != last - first) {
      return make_error(EPROTO, "{} answers to {} DM attribute requests", answers.size(),
                        last - first);
    }
    for (std::size_t k = first; k < last; ++k) {
      auto &answer = answers[k - first];
      out[asked[k]] = answer.error == 0 ? Result<std::string>(std::move(answer.value_or_message))
                                        : Error{answer.error, std::move(answer.value_or_message)};
    }
  }
  return out;
}

Status set_attr(const Session &s, const Handle &object, std::string_view name,
                std::string_view value, Token token, bool set_dtime) {
  PDM_TRY(check_name(name));
  if (value.size() > pfs::kMaxDmAttrValue) {
    return make_error(E2BIG, "a DM attribute value of {} bytes exceeds {}", value.size(),
                      pfs::kMaxDmAttrValue);
  }
  PDM_ASSIGN_OR_RETURN(auto o, target(s, object, token, dm::Right::kExcl));
  return pdm::dmapi::meta_status(
      o, msg::kSetDmattr,
      pfs::SetDmattrRequest{o.ino, o.generation, std::string(name), std::string(value), set_dtime});
}

Status remove_attr(const Session &s, const Handle &object, std::string_view name, Token token,
                   bool set_dtime) {
  PDM_TRY(check_name(name));
  PDM_ASSIGN_OR_RETURN(auto o, target(s, object, token, dm::Right::kExcl));
  return pdm::dmapi::meta_status(
      o, msg::kRemoveDmattr, pfs::DmattrRequest{o.ino, o.generation, std::string(name), set_dtime});
}

Result<std::vector<Region>> get_regions(const Session &s, const Handle &file, Token token) {
  PDM_ASSIGN_OR_RETURN(auto o, target(s, file, token, dm::Right::kShared));
  PDM_ASSIGN_OR_RETURN(auto state, o.node->fs().dm_state(o.ino, o.generation));
  return state.state.regions;
}

Status set_regions(const Session &s, const Handle &file, std::vector<Region> regions, Token token) {
  if (regions.size() > pfs::kMaxManagedRegions) {
    return Error{E2BIG, "set_regions: more than DM_CONFIG_MAX_MANAGED_REGIONS"};
  }
  PDM_ASSIGN_OR_RETURN(auto o, target(s, file, token, dm::Right::kExcl));
  return o.node->fs().set_regions(o.ino, o.generation, std::move(regions));
}

Result<std::size_t> read_invisible(const Session &s, const Handle &file, std::uint64_t offset,
                                   std::span<std::byte> out, Token token) {
  PDM_ASSIGN_OR_RETURN(auto o, target(s, file, token, dm::Right::kShared));
  return o.node->fs().read_invisible(o.ino, o.generation, offset, out);
}

Result<std::size_t> write_invisible(const Session &s, const Handle &file, std::uint64_t offset,
                                    std::span<const std::byte> data, bool sync, Token token) {
  PDM_ASSIGN_OR_RETURN(auto o, target(s, file, token, dm::Right::kExcl));
  return o.node->fs().write_invisible(o.ino, o.generation, offset, data, sync);
}

Status punch_hole(const Session &s, const Handle &file, std::uint64_t offset, std::uint64_t length,
                  Token token) {
  PDM_ASSIGN_OR_RETURN(auto o, target(s, file, token, dm::Right::kExcl));
  return o.node->fs().punch_hole(o.ino, o.generation, offset, length);
}

Result<ByteRange> probe_hole(const Session &s, const Handle &file, std::uint64_t offset,
                             std::uint64_t length, Token token) {
  PDM_ASSIGN_OR_RETURN(auto o, target(s, file, token, dm::Right::kShared));
  return o.node->fs().probe_hole(o.ino, o.generation, offset, length);
}

Result<FileAttributes> stat(const Session &s, const Handle &object, Token token) {
  PDM_ASSIGN_OR_RETURN(auto o, target(s, object, token, dm::Right::kShared));
  PDM_ASSIGN_OR_RETURN(
      auto attrs, pdm::dmapi::meta_call<pfs::ObjectAttrs>(o, msg::kGetObject,
                                                          pfs::ObjectRequest{o.ino, o.generation}));
  return FileAttributes{attrs.inode, attrs.has_dmattrs};
}

Result<std::vector<Attribute>> list_attrs(const Session &s, const Handle &object, Token token) {
  PDM_ASSIGN_OR_RETURN(auto o, target(s, object, token, dm::Right::kShared));
  return pdm::dmapi::meta_call<std::vector<pfs::DmAttr>>(o, msg::kListDmattrs,
                                                         pfs::ObjectRequest{o.ino, o.generation});
}

Result<pfs::Inode> set_stat(const Session &s, const Handle &object, const pfs::AttrChange &change,
                            std::optional<pfs::TimeNs> ctime, Token token) {
  PDM_ASSIGN_OR_RETURN(auto o, target(s, object, token, dm::Right::kExcl));
  return o.node->fs().dm_set_attr(o.ino, o.generation, change, ctime);
}

Result<DirectoryPage> list_directory(const Session &s, const Handle &directory,
                                     std::uint64_t position, std::uint32_t max, Token token) {
  if (max == 0) return Error{EINVAL, "list_directory: max is 0"};
  PDM_ASSIGN_OR_RETURN(auto o, target(s, directory, token, dm::Right::kShared));
  auto page = pdm::dmapi::meta_call<pfs::DirAttrsPage>(
      o, msg::kDirAttrs, pfs::DirAttrsRequest{o.ino, o.generation, position, max});
  if (!page.ok() && page.error().code == ENOTDIR) {
    return Error{EINVAL, "list_directory: not a directory's handle"};  // as dm_get_dirattrs
  }
  return page;
}

Result<std::vector<Extent>> allocation(const Session &s, const Handle &file, std::uint64_t offset,
                                       Token token) {
  PDM_ASSIGN_OR_RETURN(auto o, target(s, file, token, dm::Right::kShared));
  return o.node->fs().extents(o.ino, o.generation, offset);
}

Status sync(const Session &s, const Handle &file, Token token) {
  PDM_ASSIGN_OR_RETURN(auto o, target(s, file, token, dm::Right::kExcl));
  return o.node->fs().sync_object(o.ino, o.generation);
}

}  // namespace pdm::dm::api

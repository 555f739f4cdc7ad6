// XDSM DM attributes (dm_set_dmattr, dm_get_dmattr, dm_remove_dmattr,
// dm_getall_dmattr): named values a DM application keeps with a file or
// directory (an HSM's file state and archive location). They live in the
// metadata store ("dmattrs"), each call one request to the metadata rank and
// one LMDB transaction, so they survive the job and a crash, are seen by
// every rank at once, and go with the inode when it is destroyed.
#include <pdm/dmapi.h>

#include <cstring>

#include "pfs/meta/dm_attr_protocol.h"
#include "runtime/dmapi/dm_object.h"
#include "runtime/node/c_boundary.h"

using pdm::Error;
using pdm::cboundary::fail;
using pdm::cboundary::guarded;
using pdm::cboundary::to_int;
namespace pfs = pdm::pfs;
namespace msg = pdm::pfs::dm_attr_msg;

namespace {

constexpr std::size_t align8(std::size_t n) {
  return (n + 7) / 8 * 8;
}

// The name's bytes up to the first NUL (a name shorter than
// DM_ATTR_NAME_SIZE is NUL-padded, as in SGI's libdm).
std::string name_of(const dm_attrname_t *name) {
  const auto *chars = reinterpret_cast<const char *>(name->an_chars);
  return std::string(chars, strnlen(chars, DM_ATTR_NAME_SIZE));
}

// The object of a call by session sid with token, which must hold `needed`.
pdm::Result<pdm::dmapi::Object> target(dm_sessid_t sid, const void *hanp, size_t hlen,
                                       dm_token_t token, pdm::dm::Right needed) {
  PDM_ASSIGN_OR_RETURN(auto object, pdm::dmapi::object_of(hanp, hlen));
  PDM_TRY(pdm::dmapi::check_session(*object.node, sid));
  PDM_ASSIGN_OR_RETURN(object.right,
                       pdm::dmapi::check_right(*object.node, sid, token, object.ino, needed));
  return object;
}

// One dm_attrlist_t and its value, 8-byte aligned.
std::size_t entry_size(const pfs::DmAttr &attr) {
  return align8(sizeof(dm_attrlist_t) + attr.value.size());
}

}  // namespace

extern "C" {

int dm_set_dmattr(dm_sessid_t sid, void *hanp, size_t hlen, dm_token_t token,
                  dm_attrname_t *attrnamep, int setdtime, size_t buflen, void *bufp) {
  return guarded(
      [&] {
        if (attrnamep == nullptr || (bufp == nullptr && buflen > 0)) {
          return fail(Error{EFAULT, "dm_set_dmattr: null pointer"});
        }
        if (buflen > pfs::kMaxDmAttrValue) {
          return fail(Error{E2BIG, "dm_set_dmattr: a value of " + std::to_string(buflen) +
                                       " bytes exceeds DM_CONFIG_MAX_ATTRIBUTE_SIZE"});
        }
        auto object = target(sid, hanp, hlen, token, pdm::dm::Right::kExcl);
        if (!object.ok()) return fail(object.error());
        pfs::SetDmattrRequest request{
            object->ino, object->generation, name_of(attrnamep),
            buflen > 0 ? std::string(static_cast<const char *>(bufp), buflen) : std::string(),
            setdtime != 0};
        return to_int(pdm::dmapi::meta_status(*object, msg::kSetDmattr, request));
      },
      -1);
}

int dm_get_dmattr(dm_sessid_t sid, void *hanp, size_t hlen, dm_token_t token,
                  dm_attrname_t *attrnamep, size_t buflen, void *bufp, size_t *rlenp) {
  return guarded(
      [&] {
        if (attrnamep == nullptr || rlenp == nullptr || (bufp == nullptr && buflen > 0)) {
          return fail(Error{EFAULT, "dm_get_dmattr: null pointer"});
        }
        auto object = target(sid, hanp, hlen, token, pdm::dm::Right::kShared);
        if (!object.ok()) return fail(object.error());
        auto value = pdm::dmapi::meta_call<std::string>(
            *object, msg::kGetDmattr,
            pfs::DmattrRequest{object->ino, object->generation, name_of(attrnamep), false});
        if (!value.ok()) return fail(value.error());
        *rlenp = value->size();
        if (value->size() > buflen) {
          return fail(Error{
              E2BIG, "dm_get_dmattr: the value has " + std::to_string(value->size()) + " bytes"});
        }
        if (!value->empty()) std::memcpy(bufp, value->data(), value->size());
        return 0;
      },
      -1);
}

int dm_remove_dmattr(dm_sessid_t sid, void *hanp, size_t hlen, dm_token_t token, int setdtime,
                     dm_attrname_t *attrnamep) {
  return guarded(
      [&] {
        if (attrnamep == nullptr) return fail(Error{EFAULT, "dm_remove_dmattr: null name"});
        auto object = target(sid, hanp, hlen, token, pdm::dm::Right::kExcl);
        if (!object.ok()) return fail(object.error());
        return to_int(
            pdm::dmapi::meta_status(*object, msg::kRemoveDmattr,
                                    pfs::DmattrRequest{object->ino, object->generation,
                                                       name_of(attrnamep), setdtime != 0}));
      },
      -1);
}

// Every attribute as a dm_attrlist_t followed by its value, chained by _link
// (DM_STEP_TO_NEXT), in name order; E2BIG with the size of them all.
int dm_getall_dmattr(dm_sessid_t sid, void *hanp, size_t hlen, dm_token_t token, size_t buflen,
                     void *bufp, size_t *rlenp) {
  return guarded(
      [&] {
        if (rlenp == nullptr || (bufp == nullptr && buflen > 0)) {
          return fail(Error{EFAULT, "dm_getall_dmattr: null pointer"});
        }
        auto object = target(sid, hanp, hlen, token, pdm::dm::Right::kShared);
        if (!object.ok()) return fail(object.error());
        auto attrs = pdm::dmapi::meta_call<std::vector<pfs::DmAttr>>(
            *object, msg::kListDmattrs, pfs::ObjectRequest{object->ino, object->generation});
        if (!attrs.ok()) return fail(attrs.error());
        std::size_t total = 0;
        for (const auto &attr : *attrs) total += entry_size(attr);
        *rlenp = total;
        if (total > buflen) {
          return fail(Error{
              E2BIG, "dm_getall_dmattr: the attributes take " + std::to_string(total) + " bytes"});
        }
        char *at = static_cast<char *>(bufp);
        for (std::size_t i = 0; i < attrs->size(); ++i) {
          const pfs::DmAttr &attr = (*attrs)[i];
          const std::size_t size = entry_size(attr);
          std::memset(at, 0, size);
          auto *entry = reinterpret_cast<dm_attrlist_t *>(at);
          entry->_link = i + 1 < attrs->size() ? static_cast<int>(size) : 0;
          std::memcpy(entry->al_name.an_chars, attr.name.data(), attr.name.size());
          entry->al_data.vd_offset = static_cast<int>(sizeof(dm_attrlist_t));
          entry->al_data.vd_length = static_cast<unsigned int>(attr.value.size());
          if (!attr.value.empty()) {
            std::memcpy(at + sizeof(dm_attrlist_t), attr.value.data(), attr.value.size());
          }
          at += size;
        }
        return 0;
      },
      -1);
}

}  // extern "C"

#include "pfs/meta/dm_attr_handlers.h"

#include <algorithm>

#include "pfs/meta/dm_attr_protocol.h"
#include "runtime/mpi/typed_rpc.h"

namespace pdm::pfs {

void register_dm_attr_handlers(mpi::RpcEngine &engine, std::function<MetaService *()> service) {
  using mpi::make_handler;
  using mpi::Request;
  // An operation on the store, refused when this rank does not serve metadata.
  auto on = [service](auto op) {
    return [service, op](const auto &req, const Request &) {
      MetaService *meta = service();
      using Out = decltype(op(meta->store(), req));
      if (meta == nullptr) return Out(make_error(ESTALE, "this rank does not serve metadata"));
      return op(meta->store(), req);
    };
  };
  engine.register_handler(dm_attr_msg::kGetObject,
                          make_handler<ObjectRequest>(
                              on([](MetaStore &s, const ObjectRequest &r) -> Result<ObjectAttrs> {
                                PDM_ASSIGN_OR_RETURN(auto object,
                                                     s.get_object(r.ino, r.generation));
                                return ObjectAttrs{std::move(object.first), object.second};
                              })));
  engine.register_handler(
      dm_attr_msg::kSetDmattr,
      make_handler<SetDmattrRequest>(on([](MetaStore &s, const SetDmattrRequest &r) {
        return s.set_dmattr(r.ino, r.generation, r.name, r.value, r.set_dtime);
      })));
  engine.register_handler(dm_attr_msg::kGetDmattr,
                          make_handler<DmattrRequest>(on([](MetaStore &s, const DmattrRequest &r) {
                            return s.get_dmattr(r.ino, r.generation, r.name);
                          })));
  engine.register_handler(
      dm_attr_msg::kGetDmattrOfEach,
      make_handler<DmattrOfEachRequest>(
          on([](MetaStore &s, const DmattrOfEachRequest &r) -> Result<std::vector<DmattrOrError>> {
            std::vector<DmattrOrError> out;
            out.reserve(r.objects.size());
            for (const ObjectRequest &o : r.objects) {
              auto value = s.get_dmattr(o.ino, o.generation, r.name);
              out.push_back(value.ok() ? DmattrOrError{0, std::move(value).value()}
                                       : DmattrOrError{value.error().code, value.error().message});
            }
            return out;
          })));
  engine.register_handler(dm_attr_msg::kRemoveDmattr,
                          make_handler<DmattrRequest>(on([](MetaStore &s, const DmattrRequest &r) {
                            return s.remove_dmattr(r.ino, r.generation, r.name, r.set_dtime);
                          })));
  engine.register_handler(dm_attr_msg::kListDmattrs,
                          make_handler<ObjectRequest>(on([](MetaStore &s, const ObjectRequest &r) {
                            return s.list_dmattrs(r.ino, r.generation);
                          })));
  engine.register_handler(
      dm_attr_msg::kSetFileattr,
      make_handler<SetFileattrRequest>(on([](MetaStore &s, const SetFileattrRequest &r) {
        return s.dm_set_attr(r.ino, r.generation, r.change, r.ctime);
      })));
  engine.register_handler(
      dm_attr_msg::kDirAttrs,
      make_handler<DirAttrsRequest>(on([](MetaStore &s, const DirAttrsRequest &r) {
        // A bounded response whatever the caller's buffer (the C layer asks
        // for about as many as its buffer can hold).
        constexpr std::uint32_t kMaxPage = 4096;
        return s.dir_attrs(r.dir, r.generation, r.skip, std::min(r.max_entries, kMaxPage));
      })));
  engine.register_handler(dm_attr_msg::kPathOf,
                          make_handler<PathOfRequest>(on([](MetaStore &s, const PathOfRequest &r) {
                            return s.path_of(r.dir, r.dir_generation, r.target,
                                             r.target_generation);
                          })));
}

}  // namespace pdm::pfs

#include "pfs/meta/meta_handlers.h"

#include "pfs/meta/group_holders.h"
#include "pfs/meta/meta_protocol.h"
#include "runtime/mpi/typed_rpc.h"

namespace pdm::pfs {

void register_meta_handlers(mpi::RpcEngine &engine, std::function<MetaService *()> service) {
  using mpi::Empty;
  using mpi::make_handler;
  using mpi::Request;
  // Wraps an operation on the service, refusing when this rank does not own it.
  auto on = [service](auto op) {
    return [service, op](const auto &req, const Request &) {
      MetaService *meta = service();
      using Out = decltype(op(*meta, req));
      if (meta == nullptr) return Out(make_error(ESTALE, "this rank does not serve metadata"));
      return op(*meta, req);
    };
  };
  engine.register_handler(meta_msg::kResolve,
                          make_handler<PathRequest>(on([](MetaService &m, const PathRequest &r) {
                            return m.resolve(r.path);
                          })));
  engine.register_handler(meta_msg::kGetattr,
                          make_handler<InodeRequest>(on([](MetaService &m, const InodeRequest &r) {
                            return m.getattr(r.ino);
                          })));
  // Opens are counted per rank (the request's source), so that a dead
  // rank's opens can end with it.
  engine.register_handler(
      meta_msg::kOpen,
      make_handler<OpenRequest>([service](const OpenRequest &r, const Request &request) {
        MetaService *meta = service();
        if (meta == nullptr)
          return Result<Created>(make_error(ESTALE, "this rank does not serve metadata"));
        return meta->open(r, request.source);
      }));
  engine.register_handler(
      meta_msg::kClose,
      make_handler<CloseRequest>([service](const CloseRequest &r, const Request &request) {
        MetaService *meta = service();
        if (meta == nullptr)
          return Result<Unlinked>(make_error(ESTALE, "this rank does not serve metadata"));
        return meta->close(r.ino, r.was_read, request.source);
      }));
  engine.register_handler(
      meta_msg::kCloseFor,
      make_handler<CloseForRequest>(
          [service, &engine](const CloseForRequest &r, const Request &request) {
            MetaService *meta = service();
            if (meta == nullptr)
              return Result<Unlinked>(make_error(ESTALE, "this rank does not serve metadata"));
            if (auto bad = check_holders(r.holders, request.source, *engine.membership().current());
                !bad.ok()) {
              return Result<Unlinked>(std::move(bad).error());
            }
            return meta->close(r.ino, r.was_read, r.holders);
          }));
  engine.register_handler(meta_msg::kMkdir,
                          make_handler<MkdirRequest>(on([](MetaService &m, const MkdirRequest &r) {
                            return m.mkdir(r.path, r.mode, r.uid, r.gid);
                          })));
  engine.register_handler(meta_msg::kUnlink,
                          make_handler<PathRequest>(on([](MetaService &m, const PathRequest &r) {
                            return m.unlink(r.path);
                          })));
  engine.register_handler(
      meta_msg::kRmdir, make_handler<PathRequest>(on(
                            [](MetaService &m, const PathRequest &r) { return m.rmdir(r.path); })));
  engine.register_handler(
      meta_msg::kRename, make_handler<RenameRequest>(on([](MetaService &m, const RenameRequest &r) {
        return m.rename(r.from, r.to);
      })));
  engine.register_handler(
      meta_msg::kReaddir,
      make_handler<ReaddirRequest>(on([](MetaService &m, const ReaddirRequest &r) {
        return m.readdir(r.path, r.after, r.max_entries);
      })));
  engine.register_handler(
      meta_msg::kSetattr,
      make_handler<SetattrRequest>(
          on([](MetaService &m, const SetattrRequest &r) { return m.set_attr(r.ino, r.change); })));
  engine.register_handler(
      meta_msg::kExtend, make_handler<ExtendRequest>(on([](MetaService &m, const ExtendRequest &r) {
        return m.extend(r.ino, r.end);
      })));
  engine.register_handler(meta_msg::kForget,
                          make_handler<InodeRequest>(on([](MetaService &m, const InodeRequest &r) {
                            return m.forget(r.ino);
                          })));
  engine.register_handler(
      meta_msg::kOrphans,
      make_handler<Empty>(on([](MetaService &m, const Empty &) { return m.unopened_orphans(); })));
  engine.register_handler(
      meta_msg::kSync,
      make_handler<Empty>(on([](MetaService &m, const Empty &) { return m.sync(); })));
  engine.register_handler(
      meta_msg::kStats,
      make_handler<Empty>(on([](MetaService &m, const Empty &) { return m.stats(); })));
  engine.register_handler(
      meta_msg::kSetEventList,
      make_handler<SetEventListRequest>(on([](MetaService &m, const SetEventListRequest &r) {
        return m.store().set_eventlist(r.ino, r.generation, r.events);
      })));
  engine.register_handler(meta_msg::kEventLists,
                          make_handler<Empty>(on([](MetaService &m, const Empty &) {
                            return m.store().eventlists();
                          })));
}

}  // namespace pdm::pfs

#include "actors/driver_worker.hpp"

#include "actors/error.hpp"

namespace sbx {

driver_worker_actor::behavior_type
driver_worker(driver_worker_actor::stateful_pointer<driver_worker_state> self,
              std::shared_ptr<driver> drv) {
  self->state.drv = std::move(drv);
  auto ok = [](caf::error err) -> caf::result<atom::ok_atom> {
    if (err)
      return err;
    return atom::ok_v;
  };
  return {
    [self](atom::create, const sandbox_spec& spec)
      -> caf::result<sandbox_process> {
      auto p = self->state.drv->create(spec);
      if (!p)
        return std::move(p.error());
      return *p;
    },
    [self, ok](atom::pause, const std::string& id, bool frozen) {
      return ok(frozen ? self->state.drv->pause(id)
                       : self->state.drv->resume(id));
    },
    [self, ok](atom::shutdown, const std::string& id) {
      return ok(self->state.drv->stop(id));
    },
    [self](atom::restart, const std::string& id)
      -> caf::result<sandbox_process> {
      auto p = self->state.drv->restart(id);
      if (!p)
        return std::move(p.error());
      return *p;
    },
    [self, ok](atom::destroy, const std::string& id) {
      return ok(self->state.drv->destroy(id));
    },
    [self](atom::stats, const std::string& id) -> caf::result<sandbox_stats> {
      auto u = self->state.drv->usage(id);
      if (!u)
        return std::move(u.error());
      sandbox_stats s;
      s.cpu_usec = u->cgroup.cpu_usec;
      s.memory_bytes = u->cgroup.memory_bytes;
      s.memory_limit = u->cgroup.memory_limit;
      s.oom_kills = u->cgroup.oom_kills;
      s.pids = u->cgroup.pids;
      s.disk_bytes = u->disk_bytes;
      s.disk_limit = u->disk_limit;
      return s;
    },
  };
}

} // namespace sbx

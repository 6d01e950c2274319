#include "actors/supervisor.hpp"

#include "actors/cache.hpp"
#include "actors/database.hpp"
#include "actors/error.hpp"
#include "runtime/log/log.hpp"

#include <caf/actor_system.hpp>
#include <caf/exit_reason.hpp>
#include <caf/typed_event_based_actor.hpp>

namespace sbx {

namespace {

using self_ptr = supervisor_actor::stateful_pointer<supervisor_state>;

std::vector<component> components_of(const supervisor_config& cfg) {
  std::vector<component> result;
  if (cfg.db)
    result.push_back({"database",
                      [db = cfg.db, stats = cfg.stats](caf::actor_system& sys) {
                        return caf::actor_cast<caf::actor>(
                          sys.spawn<caf::detached>(database, db, stats));
                      },
                      "postgres"});
  if (cfg.cache)
    result.push_back({"cache",
                      [c = cfg.cache, stats = cfg.stats](caf::actor_system& sys) {
                        return caf::actor_cast<caf::actor>(
                          sys.spawn<caf::detached>(cache, c, stats));
                      },
                      "redis"});
  for (auto& c : cfg.components)
    result.push_back(c);
  return result;
}

/// Stops the last running component; the down handler continues with the
/// one before it.
void stop_next(self_ptr self) {
  auto& cs = self->state.components;
  while (!cs.empty() && !cs.back().handle)
    cs.pop_back();
  if (cs.empty()) {
    log::get("supervisor")->info("all components stopped");
    self->state.stopped.deliver(atom::ok_v);
    self->quit();
    return;
  }
  log::get("supervisor")->info("stopping {}", cs.back().name);
  self->send_exit(cs.back().handle, caf::exit_reason::user_shutdown);
}

} // namespace

supervisor_actor::behavior_type
supervisor(supervisor_actor::stateful_pointer<supervisor_state> self,
           supervisor_config cfg) {
  auto lg = log::get("supervisor");
  self->state.cfg = cfg;
  self->state.components = components_of(cfg);
  for (auto& c : self->state.components) {
    c.handle = c.make(self->system());
    if (!c.handle) {
      lg->error("cannot start {}", c.name);
      continue;
    }
    self->monitor(c.handle);
    if (cfg.on_start)
      cfg.on_start(c.name, c.handle);
    lg->info("started {}", c.name);
  }
  self->set_down_handler([self, lg](caf::down_msg& msg) {
    auto& cs = self->state.components;
    auto i = std::find_if(cs.begin(), cs.end(), [&](const component& c) {
      return c.handle && c.handle.address() == msg.source;
    });
    if (i == cs.end())
      return;
    if (self->state.stopping) {
      if (&*i == &cs.back()) {
        cs.pop_back();
        stop_next(self);
      } else {
        i->handle = nullptr;
      }
      return;
    }
    if (i->restarts >= self->state.cfg.max_restarts) {
      lg->error("{} died ({}) and ran out of restarts", i->name,
                caf::to_string(msg.reason));
      i->handle = nullptr;
      return;
    }
    ++i->restarts;
    lg->error("{} died ({}); restarting it (restart {})", i->name,
              caf::to_string(msg.reason), i->restarts);
    i->handle = i->make(self->system());
    if (i->handle) {
      self->monitor(i->handle);
      if (self->state.cfg.on_start)
        self->state.cfg.on_start(i->name, i->handle);
    }
  });
  return {
    [self](atom::get_atom, atom::ready) -> caf::result<readiness> {
      struct collector {
        readiness result;
        size_t pending = 0;
        caf::typed_response_promise<readiness> rp;
        void done() {
          if (--pending > 0)
            return;
          result.ready = std::all_of(result.checks.begin(),
                                     result.checks.end(),
                                     [](const check& c) { return c.ok; });
          rp.deliver(std::move(result));
        }
      };
      auto st = std::make_shared<collector>();
      st->rp = self->make_response_promise<readiness>();
      for (auto& c : self->state.components) {
        if (c.check.empty())
          continue;
        auto idx = st->result.checks.size();
        st->result.checks.push_back({c.check, false, ""});
        if (!c.handle) {
          st->result.checks[idx].message = c.name + " is not running";
          continue;
        }
        ++st->pending;
        self->request(c.handle, self->state.cfg.probe_timeout, atom::ping_v)
          .then(
            [st, idx](atom::ok_atom) {
              st->result.checks[idx].ok = true;
              st->done();
            },
            [st, idx](caf::error& err) {
              st->result.checks[idx].message = message_of(err);
              st->done();
            });
      }
      if (st->pending == 0) {
        ++st->pending;
        st->done();
      }
      return st->rp;
    },
    [self](atom::shutdown) -> caf::result<atom::ok_atom> {
      self->state.stopped = self->make_response_promise<atom::ok_atom>();
      if (!self->state.stopping) {
        self->state.stopping = true;
        stop_next(self);
      }
      return self->state.stopped;
    },
  };
}

} // namespace sbx

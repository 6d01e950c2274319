#include "actors/billing.hpp"

#include "actors/error.hpp"
#include "runtime/log/log.hpp"

#include <caf/send.hpp>

#include <set>

namespace sbx {

billing_actor::behavior_type
billing(billing_actor::stateful_pointer<billing_state> self,
        billing_config cfg) {
  self->state.cfg = std::move(cfg);
  return {
    [self](atom::usage,
           std::vector<usage_record>& xs) -> caf::result<atom::ok_atom> {
      auto& cfg = self->state.cfg;
      auto db = cfg.database ? cfg.database() : database_actor{};
      if (!db)
        return make_error(ec::unavailable, "PostgreSQL is not reachable");
      std::set<std::string> teams;
      for (auto& x : xs)
        teams.insert(x.team_id);
      auto rp = self->make_response_promise<atom::ok_atom>();
      self->request(db, cfg.timeout, atom::put_v, std::move(xs))
        .then(
          [self, rp, db, teams](uint64_t) mutable {
            rp.deliver(atom::ok_v);
            // The month's total, counted by PostgreSQL: exact however many
            // times a batch arrived.
            auto& cfg = self->state.cfg;
            for (auto& team : teams)
              self->request(db, cfg.timeout, atom::get_v, atom::usage_v, team)
                .then(
                  [self, team](uint64_t month_ms) {
                    if (auto s = self->state.cfg.scheduler
                                   ? self->state.cfg.scheduler()
                                   : scheduler_actor{})
                      caf::anon_send(s, atom::usage_v, team, month_ms);
                  },
                  [](caf::error&) {});
          },
          [rp](caf::error& err) mutable {
            log::get("billing")->warn("usage not stored yet ({}); the node "
                                      "sends it again",
                                      message_of(err));
            rp.deliver(std::move(err));
          });
      return rp;
    },
  };
}

} // namespace sbx

#include "actors/database.hpp"

#include "actors/error.hpp"
#include "actors/user.hpp"
#include "runtime/log/log.hpp"
#include "runtime/metrics/metrics.hpp"

namespace sbx {

database_actor::behavior_type
database(database_actor::stateful_pointer<database_state> self,
         std::shared_ptr<store> db, metrics* stats) {
  self->state.db = std::move(db);
  self->state.stats = stats;
  return {
    [self](atom::ping) -> caf::result<atom::ok_atom> {
      if (auto err = self->state.db->ping()) {
        if (self->state.stats)
          self->state.stats->count_backend_error("postgres");
        return err;
      }
      return atom::ok_v;
    },
    [self](atom::key, const std::string& hash) -> caf::result<api_key_info> {
      auto rec = self->state.db->find_api_key(hash);
      if (!rec) {
        if (self->state.stats && rec.error() != ec::unauthenticated)
          self->state.stats->count_backend_error("postgres");
        return std::move(rec.error());
      }
      return api_key_info{rec->key_id, rec->team_id, rec->team_slug,
                          rec->scopes};
    },
    [self](atom::put, const sandbox_info& info) -> caf::result<atom::ok_atom> {
      sandbox_record rec{info.id,        info.team,      info.template_id,
                         info.node,      info.metadata,  info.vcpu,
                         info.memory_mb, info.disk_mb,   info.state,
                         info.started_at_ms, info.end_reason};
      if (auto err = self->state.db->record_sandbox(rec)) {
        // Lost records are a gap in history, not an outage: log and go on.
        log::get("database")->warn("cannot record sandbox {}: {}", info.id,
                                   message_of(err));
        if (self->state.stats)
          self->state.stats->count_backend_error("postgres");
        return err;
      }
      return atom::ok_v;
    },
    [self](atom::list, atom::live) -> caf::result<std::vector<sandbox_info>> {
      auto recs = self->state.db->live_sandboxes();
      if (!recs)
        return std::move(recs.error());
      std::vector<sandbox_info> result;
      for (auto& r : *recs) {
        sandbox_info x;
        x.id = r.id;
        x.template_id = r.template_id;
        x.team = r.team_id;
        x.node = r.node;
        x.state = r.state;
        x.metadata = r.metadata;
        x.vcpu = r.vcpu;
        x.memory_mb = r.memory_mb;
        x.disk_mb = r.disk_mb;
        x.started_at_ms = r.created_at_ms;
        result.push_back(std::move(x));
      }
      return result;
    },
    [self](atom::get_atom, atom::limits,
           const std::string& team) -> caf::result<team_limits> {
      auto rec = self->state.db->find_team(team);
      if (!rec)
        return std::move(rec.error());
      return limits_of(rec->plan, rec->limits);
    },
  };
}

} // namespace sbx

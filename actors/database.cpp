#include "actors/database.hpp"

#include "actors/error.hpp"
#include "actors/user.hpp"
#include "runtime/log/log.hpp"
#include "runtime/metrics/metrics.hpp"

#include <chrono>

namespace sbx {

namespace {

using self_ptr = database_actor::stateful_pointer<database_state>;

/// Runs one store call, recording its latency and, when the database failed
/// (not when the answer is "no such thing"), an error.
template <class F>
auto timed(self_ptr self, F f) {
  auto start = std::chrono::steady_clock::now();
  auto result = f(*self->state.db);
  if (auto stats = self->state.stats) {
    stats->observe_backend("postgres",
                           std::chrono::duration<double>(
                             std::chrono::steady_clock::now() - start)
                             .count());
    caf::error err;
    if constexpr (std::is_same_v<decltype(result), caf::error>)
      err = result;
    else if (!result)
      err = result.error();
    if (err == ec::unavailable || err == ec::internal)
      stats->count_backend_error("postgres");
  }
  return result;
}

/// An expected value as a handler's result.
template <class T>
caf::result<T> unwrap(caf::expected<T>&& x) {
  if (!x)
    return std::move(x.error());
  return std::move(*x);
}

team_info to_team_info(team_record&& r) {
  team_info x;
  x.limits = limits_of(r.plan, r.limits);
  x.id = std::move(r.id);
  x.slug = std::move(r.slug);
  x.name = std::move(r.name);
  x.plan = std::move(r.plan);
  x.overrides = std::move(r.limits);
  x.balance_micros = r.balance_micros;
  x.created_at_ms = r.created_at_ms;
  return x;
}

} // namespace

database_actor::behavior_type
database(database_actor::stateful_pointer<database_state> self,
         std::shared_ptr<store> db, metrics* stats) {
  self->state.db = std::move(db);
  self->state.stats = stats;
  if (stats)
    stats->track_backend("postgres");
  return {
    [self](atom::ping) -> caf::result<atom::ok_atom> {
      if (auto err = timed(self, [](store& db) { return db.ping(); }))
        return err;
      return atom::ok_v;
    },
    [self](atom::key, const std::string& hash) -> caf::result<api_key_info> {
      auto rec = timed(self,
                       [&](store& db) { return db.find_api_key(hash); });
      if (!rec)
        return std::move(rec.error());
      return api_key_info{rec->key_id, rec->team_id, rec->team_slug,
                          rec->scopes, limits_of(rec->plan, rec->limits)};
    },
    [self](atom::put, const sandbox_info& info) -> caf::result<atom::ok_atom> {
      sandbox_record rec{info.id,        info.team,      info.template_id,
                         info.node,      info.metadata,  info.vcpu,
                         info.memory_mb, info.disk_mb,   info.state,
                         info.started_at_ms, info.end_reason, info.api_key_id};
      if (auto err = timed(self,
                           [&](store& db) { return db.record_sandbox(rec); })) {
        // Lost records are a gap in history, not an outage: log and go on.
        log::get("database")->warn("cannot record sandbox {}: {}", info.id,
                                   message_of(err));
        return err;
      }
      return atom::ok_v;
    },
    [self](atom::list, atom::live) -> caf::result<std::vector<sandbox_info>> {
      auto recs = timed(self, [](store& db) { return db.live_sandboxes(); });
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
        x.api_key_id = r.api_key_id;
        result.push_back(std::move(x));
      }
      return result;
    },
    [self](atom::get_atom, atom::limits,
           const std::string& team) -> caf::result<team_limits> {
      auto rec = timed(self, [&](store& db) { return db.find_team(team); });
      if (!rec)
        return std::move(rec.error());
      return limits_of(rec->plan, rec->limits);
    },
    [self](atom::get_atom, atom::team,
           const std::string& team) -> caf::result<team_info> {
      auto rec = timed(self, [&](store& db) { return db.find_team(team); });
      if (!rec)
        return std::move(rec.error());
      return to_team_info(std::move(*rec));
    },
    [self](atom::list, atom::teams) -> caf::result<std::vector<team_info>> {
      auto recs = timed(self, [](store& db) { return db.list_teams(); });
      if (!recs)
        return std::move(recs.error());
      std::vector<team_info> result;
      for (auto& r : *recs)
        result.push_back(to_team_info(std::move(r)));
      return result;
    },
    [self](atom::put, const team_change& x) -> caf::result<team_info> {
      auto rec = timed(self, [&](store& db) {
        return db.change_team(x.team, x.plan, x.overrides);
      });
      if (!rec)
        return std::move(rec.error());
      return to_team_info(std::move(*rec));
    },
    [self](atom::get_atom, atom::month,
           const std::string& team_id) -> caf::result<team_month> {
      auto rec = timed(self,
                       [&](store& db) { return db.team_month(team_id); });
      if (!rec)
        return std::move(rec.error());
      return std::move(*rec);
    },
    [self](atom::audit, const audit_entry& x) -> caf::result<atom::ok_atom> {
      if (auto err = timed(self,
                           [&](store& db) { return db.record_audit(x); })) {
        log::get("database")->error("cannot write the audit log ({} {} by "
                                    "{}): {}",
                                    x.action, x.target, x.actor_id,
                                    message_of(err));
        return err;
      }
      return atom::ok_v;
    },
    // -- usage -----------------------------------------------------------------
    [self](atom::put,
           const std::vector<usage_record>& xs) -> caf::result<uint64_t> {
      auto n = timed(self, [&](store& db) { return db.record_usage(xs); });
      if (!n)
        return std::move(n.error());
      return static_cast<uint64_t>(*n);
    },
    [self](atom::get_atom, atom::usage,
           const std::string& team) -> caf::result<uint64_t> {
      return unwrap(
        timed(self, [&](store& db) { return db.month_sandbox_ms(team); }));
    },
    [self](atom::list, atom::usage, const std::string& team, int64_t from_ms,
           int64_t to_ms) -> caf::result<std::vector<usage_day>> {
      return unwrap(timed(self, [&](store& db) {
        return db.usage_days(team, from_ms, to_ms);
      }));
    },
    // -- billing ---------------------------------------------------------------
    [self](atom::list, atom::invoice, const std::string& team,
           const std::string& month,
           const price_list& prices) -> caf::result<std::vector<invoice_line>> {
      return unwrap(timed(self, [&](store& db) {
        return db.invoice_lines(team, month, prices);
      }));
    },
    [self](atom::charge, const std::string& team, const std::string& month,
           const price_list& prices) -> caf::result<charge_result> {
      return unwrap(timed(self, [&](store& db) {
        return db.charge_usage(team, month, prices);
      }));
    },
    [self](atom::credit, const std::string& team, int64_t micros,
           const std::string& reference,
           const std::string& by) -> caf::result<charge_result> {
      return unwrap(timed(self, [&](store& db) {
        return db.credit(team, micros, reference, by);
      }));
    },
    [self](atom::put, const invoice& draft) -> caf::result<invoice> {
      return unwrap(
        timed(self, [&](store& db) { return db.finalize_invoice(draft); }));
    },
    [self](atom::get_atom, atom::invoice, const std::string& team,
           const std::string& month) -> caf::result<invoice> {
      return unwrap(
        timed(self, [&](store& db) { return db.final_invoice(team, month); }));
    },
    [self](atom::list, atom::invoices,
           const std::string& team) -> caf::result<std::vector<invoice>> {
      return unwrap(
        timed(self, [&](store& db) { return db.final_invoices(team); }));
    },
    [self](atom::list, atom::audit,
           const audit_query& q) -> caf::result<std::vector<audit_row>> {
      return unwrap(timed(self, [&](store& db) { return db.read_audit(q); }));
    },
    // -- accounts --------------------------------------------------------------
    [self](atom::create, atom::user, const std::string& email,
           const std::string& hash) -> caf::result<user_record, team_info> {
      auto r = timed(self,
                     [&](store& db) { return db.register_user(email, hash); });
      if (!r)
        return std::move(r.error());
      return {std::move(r->first), to_team_info(std::move(r->second))};
    },
    [self](atom::get_atom, atom::email,
           const std::string& email) -> caf::result<user_record> {
      return unwrap(
        timed(self, [&](store& db) { return db.find_user_by_email(email); }));
    },
    [self](atom::get_atom, atom::user, const std::string& id)
      -> caf::result<user_record, std::vector<membership_record>> {
      auto u = timed(self, [&](store& db) { return db.find_user(id); });
      if (!u)
        return std::move(u.error());
      auto ms = timed(self, [&](store& db) { return db.memberships(id); });
      if (!ms)
        return std::move(ms.error());
      u->password_hash.clear(); // nobody asking for a profile needs it
      return {std::move(*u), std::move(*ms)};
    },
    [self](atom::create, atom::session, const std::string& user_id,
           const std::string& refresh_hash, int64_t expires_at_ms,
           const std::string& remote) -> caf::result<std::string> {
      return unwrap(timed(self, [&](store& db) {
        return db.create_session(user_id, refresh_hash, expires_at_ms, remote);
      }));
    },
    [self](atom::get_atom, atom::session,
           const std::string& id) -> caf::result<session_record> {
      return unwrap(timed(self, [&](store& db) { return db.find_session(id); }));
    },
    [self](atom::rotate, const std::string& old_hash,
           const std::string& new_hash,
           int64_t expires_at_ms) -> caf::result<session_record> {
      return unwrap(timed(self, [&](store& db) {
        return db.rotate_session(old_hash, new_hash, expires_at_ms);
      }));
    },
    [self](atom::revoke, atom::session,
           const std::string& id) -> caf::result<atom::ok_atom> {
      if (auto err = timed(self,
                           [&](store& db) { return db.revoke_session(id); }))
        return err;
      return atom::ok_v;
    },
    // -- teams -----------------------------------------------------------------
    [self](atom::create, atom::team, const std::string& user_id,
           const std::string& slug,
           const std::string& name) -> caf::result<team_info> {
      auto t = timed(self, [&](store& db) {
        return db.create_team(user_id, slug, name);
      });
      if (!t)
        return std::move(t.error());
      return to_team_info(std::move(*t));
    },
    [self](atom::get_atom, atom::role, const std::string& team,
           const std::string& user_id) -> caf::result<team_info, std::string> {
      auto r = timed(self, [&](store& db) { return db.role_in(team, user_id); });
      if (!r)
        return std::move(r.error());
      return {to_team_info(std::move(r->first)), std::move(r->second)};
    },
    [self](atom::list, atom::members, const std::string& team_id)
      -> caf::result<std::vector<member_record>> {
      return unwrap(
        timed(self, [&](store& db) { return db.team_members(team_id); }));
    },
    [self](atom::put, atom::member, const std::string& team_id,
           const std::string& email, const std::string& role,
           const std::string& by) -> caf::result<member_record> {
      return unwrap(timed(self, [&](store& db) {
        return db.add_member(team_id, email, role, by);
      }));
    },
    [self](atom::put, atom::role, const std::string& team_id,
           const std::string& user_id,
           const std::string& role) -> caf::result<member_record> {
      return unwrap(timed(self, [&](store& db) {
        return db.set_role(team_id, user_id, role);
      }));
    },
    [self](atom::revoke, atom::member, const std::string& team_id,
           const std::string& member) -> caf::result<atom::ok_atom> {
      if (auto err = timed(self, [&](store& db) {
            return db.remove_member(team_id, member);
          }))
        return err;
      return atom::ok_v;
    },
    // -- API keys --------------------------------------------------------------
    [self](atom::put, const new_api_key& k) -> caf::result<api_key_row> {
      auth::api_key key{"", k.hash, k.prefix};
      return unwrap(timed(self, [&](store& db) {
        return db.create_api_key(k.team_id, k.created_by, k.name, key,
                                 k.scopes, k.expires_at_ms);
      }));
    },
    [self](atom::list, atom::api_key, const std::string& team_id)
      -> caf::result<std::vector<api_key_row>> {
      return unwrap(timed(self, [&](store& db) { return db.api_keys(team_id); }));
    },
    [self](atom::revoke, atom::api_key, const std::string& team_id,
           const std::string& key_id) -> caf::result<api_key_row> {
      return unwrap(timed(self, [&](store& db) {
        return db.revoke_api_key(team_id, key_id);
      }));
    },
  };
}

} // namespace sbx

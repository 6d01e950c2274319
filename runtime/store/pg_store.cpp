#include "actors/error.hpp"
#include "runtime/reconnect_gate.hpp"
#include "runtime/store/store.hpp"

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include <sstream>

namespace sbx {

namespace {

/// Any key below 2^31 will do: it only has to be the same in every process.
constexpr long long migration_lock_key = 0x5b5b0001;

class pg_store final : public store {
public:
  pg_store(std::string url, std::chrono::milliseconds timeout)
    : url_(with_timeouts(std::move(url), timeout)) {
    // nop
  }

  caf::error ping() override {
    return run([](pqxx::connection& c) -> caf::error {
      pqxx::nontransaction tx{c};
      tx.exec("SELECT 1");
      return caf::none;
    });
  }

  caf::expected<std::vector<std::string>>
  migrate(const std::vector<migration>& all) override {
    std::vector<std::string> applied_now;
    auto err = run([&](pqxx::connection& c) -> caf::error {
      {
        pqxx::work tx{c};
        tx.exec("CREATE TABLE IF NOT EXISTS schema_migrations ("
                "version integer PRIMARY KEY, name text NOT NULL, "
                "checksum text NOT NULL, "
                "applied_at timestamptz NOT NULL DEFAULT now())");
        tx.commit();
      }
      // One process migrates at a time; the others wait and then find
      // nothing left to do. The lock belongs to the session, so it spans the
      // transactions below (libpqxx allows one transaction object at a time).
      auto exec = [&](const std::string& sql) {
        pqxx::nontransaction tx{c};
        return tx.exec(sql);
      };
      exec("SELECT pg_advisory_lock(" + std::to_string(migration_lock_key)
           + ")");
      auto unlock = [&] {
        exec("SELECT pg_advisory_unlock(" + std::to_string(migration_lock_key)
             + ")");
      };
      std::vector<applied_migration> applied;
      for (auto row : exec("SELECT version, name, checksum FROM "
                           "schema_migrations"))
        applied.push_back({row[0].as<int>(), row[1].as<std::string>(),
                           row[2].as<std::string>()});
      auto todo = plan_migrations(all, applied);
      if (!todo) {
        unlock();
        return std::move(todo.error());
      }
      for (auto& m : *todo) {
        try {
          pqxx::work tx{c};
          tx.exec(m.sql);
          tx.exec_params("INSERT INTO schema_migrations (version, name, "
                         "checksum) VALUES ($1, $2, $3)",
                         m.version, m.name, m.checksum);
          tx.commit();
        } catch (const pqxx::sql_error& e) {
          unlock();
          return make_error(ec::migration_failed,
                            "migration " + m.name + " failed: " + e.what());
        }
        applied_now.push_back(m.name);
      }
      unlock();
      return caf::none;
    });
    if (err)
      return err;
    return applied_now;
  }

  caf::expected<std::optional<auth::api_key>>
  bootstrap(const key_sink& persist) override {
    std::optional<auth::api_key> created;
    auto err = run([&](pqxx::connection& c) -> caf::error {
      pqxx::work tx{c};
      auto team = tx.exec(
        "INSERT INTO teams (slug, name) VALUES ('default', 'Default team') "
        "ON CONFLICT (slug) DO NOTHING RETURNING id");
      if (team.empty())
        return caf::none; // bootstrapped before
      auto team_id = team[0][0].as<std::string>();
      auto key = auth::generate_api_key();
      auto key_id = tx.exec_params(
        "INSERT INTO api_keys (team_id, name, key_hash, key_prefix, scopes) "
        "VALUES ($1, 'bootstrap', $2, $3, '{*}') RETURNING id",
        team_id, key.hash, key.prefix)[0][0].as<std::string>();
      tx.exec_params(
        "INSERT INTO audit_log (team_id, actor_kind, actor_id, action, "
        "target) VALUES ($1::uuid, 'system', 'bootstrap', 'team.create', "
        "$1::text), ($1::uuid, 'system', 'bootstrap', 'api_key.create', $2)",
        team_id, key_id);
      // The key leaves the process before the commit: a crash in between
      // leaves no team behind, and the next start makes a new key.
      if (auto err = persist(key))
        return err;
      tx.commit();
      created = std::move(key);
      return caf::none;
    });
    if (err)
      return err;
    return created;
  }

  caf::expected<api_key_record>
  find_api_key(const std::string& hash) override {
    api_key_record rec;
    auto err = run([&](pqxx::connection& c) -> caf::error {
      pqxx::nontransaction tx{c};
      auto rows = tx.exec_params(
        "SELECT k.id, k.team_id, t.slug, array_to_string(k.scopes, ' '), "
        "k.revoked_at IS NOT NULL, "
        "k.expires_at IS NOT NULL AND k.expires_at <= now() "
        "FROM api_keys k JOIN teams t ON t.id = k.team_id "
        "WHERE k.key_hash = $1 AND t.deleted_at IS NULL",
        hash);
      if (rows.empty())
        return make_error(ec::unauthenticated, "invalid API key");
      auto row = rows[0];
      if (row[4].as<bool>())
        return make_error(ec::unauthenticated, "the API key was revoked");
      if (row[5].as<bool>())
        return make_error(ec::unauthenticated, "the API key has expired");
      rec.key_id = row[0].as<std::string>();
      rec.team_id = row[1].as<std::string>();
      rec.team_slug = row[2].as<std::string>();
      std::istringstream scopes{row[3].as<std::string>()};
      for (std::string s; scopes >> s;)
        rec.scopes.push_back(s);
      return caf::none;
    });
    if (err)
      return err;
    return rec;
  }

  caf::error record_sandbox(const sandbox_record& r) override {
    return run([&](pqxx::connection& c) -> caf::error {
      nlohmann::json meta(r.metadata);
      pqxx::work tx{c};
      // One row per sandbox: later states update it until it has ended.
      tx.exec_params(
        "INSERT INTO sandboxes (id, team_id, template_id, node, metadata, "
        "vcpu, memory_mb, disk_mb, state, created_at, ended_at, end_reason) "
        "VALUES ($1, $2::uuid, $3, $4, $5::jsonb, $6, $7, $8, $9, "
        "to_timestamp($10::double precision / 1000), "
        "CASE WHEN $9 = 'killed' THEN now() END, NULLIF($11, '')) "
        "ON CONFLICT (id) DO UPDATE SET state = EXCLUDED.state, "
        "metadata = EXCLUDED.metadata, "
        "ended_at = COALESCE(sandboxes.ended_at, EXCLUDED.ended_at), "
        "end_reason = COALESCE(sandboxes.end_reason, EXCLUDED.end_reason) "
        "WHERE sandboxes.ended_at IS NULL",
        r.id, r.team_id, r.template_id, r.node, meta.dump(),
        static_cast<int>(r.vcpu), static_cast<long long>(r.memory_mb),
        static_cast<long long>(r.disk_mb), r.state,
        static_cast<long long>(r.created_at_ms), r.end_reason);
      tx.commit();
      return caf::none;
    });
  }

  caf::expected<std::vector<sandbox_record>> live_sandboxes() override {
    std::vector<sandbox_record> result;
    auto err = run([&](pqxx::connection& c) -> caf::error {
      pqxx::nontransaction tx{c};
      auto rows = tx.exec(
        "SELECT id, team_id, template_id, COALESCE(node, ''), metadata::text, "
        "vcpu, memory_mb, disk_mb, state, "
        "(extract(epoch FROM created_at) * 1000)::bigint "
        "FROM sandboxes WHERE ended_at IS NULL");
      for (auto row : rows) {
        sandbox_record r;
        r.id = row[0].as<std::string>();
        r.team_id = row[1].as<std::string>();
        r.template_id = row[2].as<std::string>();
        r.node = row[3].as<std::string>();
        auto meta = nlohmann::json::parse(row[4].as<std::string>(), nullptr,
                                          false);
        if (meta.is_object())
          for (auto& [k, v] : meta.items())
            if (v.is_string())
              r.metadata[k] = v.get<std::string>();
        r.vcpu = row[5].as<unsigned>();
        r.memory_mb = row[6].as<uint64_t>();
        r.disk_mb = row[7].as<uint64_t>();
        r.state = row[8].as<std::string>();
        r.created_at_ms = row[9].as<int64_t>();
        result.push_back(std::move(r));
      }
      return caf::none;
    });
    if (err)
      return err;
    return result;
  }

  caf::expected<team_record> find_team(const std::string& team) override {
    std::vector<team_record> found;
    auto err = run([&](pqxx::connection& c) -> caf::error {
      pqxx::nontransaction tx{c};
      found = teams_of(tx.exec_params(team_query + " AND (t.id::text = $1 "
                                                   "OR t.slug = $1)",
                                      team));
      return caf::none;
    });
    if (err)
      return err;
    if (found.empty())
      return make_error(ec::not_found, "team " + team + " not found");
    return std::move(found.front());
  }

  caf::expected<std::vector<team_record>> list_teams() override {
    std::vector<team_record> found;
    auto err = run([&](pqxx::connection& c) -> caf::error {
      pqxx::nontransaction tx{c};
      found = teams_of(tx.exec(team_query + " ORDER BY t.slug"));
      return caf::none;
    });
    if (err)
      return err;
    return found;
  }

  caf::expected<team_record>
  change_team(const std::string& team, const std::string& plan,
              const std::map<std::string, int64_t>& overrides) override {
    auto set = nlohmann::json::object();
    auto removed = nlohmann::json::array();
    for (auto& [k, v] : overrides) {
      if (v > 0)
        set[k] = v;
      else
        removed.push_back(k);
    }
    auto err = run([&](pqxx::connection& c) -> caf::error {
      pqxx::work tx{c};
      auto rows = tx.exec_params(
        "UPDATE teams SET plan = COALESCE(NULLIF($2, ''), plan), "
        "limits = (limits - ARRAY(SELECT jsonb_array_elements_text($3::jsonb))) "
        "|| $4::jsonb "
        "WHERE (id::text = $1 OR slug = $1) AND deleted_at IS NULL",
        team, plan, removed.dump(), set.dump());
      if (rows.affected_rows() == 0)
        return make_error(ec::not_found, "team " + team + " not found");
      tx.commit();
      return caf::none;
    });
    if (err)
      return err;
    return find_team(team);
  }

  caf::expected<team_month_record>
  team_month(const std::string& team_id) override {
    team_month_record rec;
    auto err = run([&](pqxx::connection& c) -> caf::error {
      pqxx::nontransaction tx{c};
      // Each sandbox's running time inside this month, in whole seconds.
      auto row = tx.exec_params1(
        "WITH m AS (SELECT date_trunc('month', now() AT TIME ZONE 'UTC') "
        "AT TIME ZONE 'UTC' AS start), s AS ("
        "SELECT vcpu, memory_mb, created_at >= m.start AS new, "
        "GREATEST(0, extract(epoch FROM COALESCE(ended_at, now()) "
        "- GREATEST(created_at, m.start)))::bigint AS secs "
        "FROM sandboxes, m WHERE team_id::text = $1 "
        "AND (ended_at IS NULL OR ended_at >= m.start)) "
        "SELECT count(*) FILTER (WHERE new), COALESCE(sum(secs), 0), "
        "COALESCE(sum(secs * vcpu), 0), COALESCE(sum(secs * memory_mb), 0) "
        "FROM s",
        team_id);
      rec.sandboxes = row[0].as<uint64_t>();
      rec.sandbox_seconds = row[1].as<uint64_t>();
      rec.vcpu_seconds = row[2].as<uint64_t>();
      rec.memory_mb_seconds = row[3].as<uint64_t>();
      return caf::none;
    });
    if (err)
      return err;
    return rec;
  }

  caf::error record_audit(const audit_record& r) override {
    return run([&](pqxx::connection& c) -> caf::error {
      pqxx::work tx{c};
      tx.exec_params(
        "INSERT INTO audit_log (team_id, actor_kind, actor_id, action, "
        "target, details, remote_addr) VALUES (NULLIF($1, '')::uuid, $2, $3, "
        "$4, NULLIF($5, ''), $6::jsonb, NULLIF($7, '')::inet)",
        r.team_id, r.actor_kind, r.actor_id, r.action, r.target, r.details,
        r.remote_addr);
      tx.commit();
      return caf::none;
    });
  }

  caf::expected<size_t> end_live_sandboxes(const std::string& node,
                                           const std::string& reason) override {
    size_t n = 0;
    auto err = run([&](pqxx::connection& c) -> caf::error {
      pqxx::work tx{c};
      auto res = tx.exec_params(
        "UPDATE sandboxes SET state = 'killed', ended_at = now(), "
        "end_reason = $2 WHERE node = $1 AND ended_at IS NULL",
        node, reason);
      n = static_cast<size_t>(res.affected_rows());
      tx.commit();
      return caf::none;
    });
    if (err)
      return err;
    return n;
  }

private:
  /// Selects teams as teams_of reads them.
  inline static const std::string team_query
    = "SELECT t.id, t.slug, t.name, t.plan, t.limits::text, t.balance_micros, "
      "(extract(epoch FROM t.created_at) * 1000)::bigint FROM teams t "
      "WHERE t.deleted_at IS NULL";

  static std::vector<team_record> teams_of(const pqxx::result& rows) {
    std::vector<team_record> result;
    for (auto row : rows) {
      team_record rec;
      rec.id = row[0].as<std::string>();
      rec.slug = row[1].as<std::string>();
      rec.name = row[2].as<std::string>();
      rec.plan = row[3].as<std::string>();
      auto limits = nlohmann::json::parse(row[4].as<std::string>(), nullptr,
                                          false);
      if (limits.is_object())
        for (auto& [k, v] : limits.items())
          if (v.is_number_integer())
            rec.limits[k] = v.get<int64_t>();
      rec.balance_micros = row[5].as<int64_t>();
      rec.created_at_ms = row[6].as<int64_t>();
      result.push_back(std::move(rec));
    }
    return result;
  }

  static std::string with_timeouts(std::string url,
                                   std::chrono::milliseconds timeout) {
    auto secs = std::max<long long>(1, (timeout.count() + 999) / 1000);
    url += url.find('?') == std::string::npos ? '?' : '&';
    url += "connect_timeout=" + std::to_string(secs)
           + "&application_name=sandhive"
           + "&options=-c%20statement_timeout%3D"
           + std::to_string(timeout.count())
           + "&keepalives=1&keepalives_idle=5&keepalives_interval=2"
             "&keepalives_count=3";
    return url;
  }

  /// Runs `f` on a live connection, (re)connecting as needed, and turns
  /// libpqxx's exceptions into error values.
  template <class F>
  caf::error run(F f) {
    if (!conn_ || !conn_->is_open()) {
      if (!gate_.may_try())
        return make_error(ec::unavailable,
                          "PostgreSQL unavailable: " + gate_.last_error());
      try {
        conn_ = std::make_unique<pqxx::connection>(url_);
        gate_.succeeded();
      } catch (const std::exception& e) {
        conn_.reset();
        gate_.failed(first_line(e.what()));
        return make_error(ec::unavailable,
                          "PostgreSQL unavailable: " + gate_.last_error());
      }
    }
    try {
      return f(*conn_);
    } catch (const pqxx::broken_connection& e) {
      conn_.reset();
      gate_.failed(first_line(e.what()));
      return make_error(ec::unavailable,
                        "PostgreSQL connection lost: " + gate_.last_error());
    } catch (const pqxx::sql_error& e) {
      // A server that shuts down kills our session with an SQL error.
      if (conn_ && !conn_->is_open())
        conn_.reset();
      return make_error(ec::unavailable,
                        "PostgreSQL error: " + first_line(e.what()));
    } catch (const std::exception& e) {
      conn_.reset();
      return make_error(ec::unavailable,
                        "PostgreSQL error: " + first_line(e.what()));
    }
  }

  static std::string first_line(const std::string& x) {
    auto nl = x.find('\n');
    return nl == std::string::npos ? x : x.substr(0, nl);
  }

  std::string url_;
  std::unique_ptr<pqxx::connection> conn_;
  reconnect_gate gate_;
};

} // namespace

store_ptr make_pg_store(std::string url, std::chrono::milliseconds timeout) {
  return std::make_unique<pg_store>(std::move(url), timeout);
}

} // namespace sbx

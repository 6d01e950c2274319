#include "actors/error.hpp"
#include "runtime/store/pg_store.hpp"

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include <sstream>

namespace sbx {

namespace {

/// Any key below 2^31 will do: it only has to be the same in every process.
constexpr long long migration_lock_key = 0x5b5b0001;

} // namespace

pg_store::pg_store(std::string url, std::chrono::milliseconds timeout)
  : url_(with_timeouts(std::move(url), timeout)) {
  // nop
}

caf::error pg_store::ping() {
  return run([](pqxx::connection& c) -> caf::error {
    pqxx::nontransaction tx{c};
    tx.exec("SELECT 1");
    return caf::none;
  });
}

caf::expected<std::vector<std::string>>
pg_store::migrate(const std::vector<migration>& all) {
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
pg_store::bootstrap(const key_sink& persist) {
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
pg_store::find_api_key(const std::string& hash) {
  api_key_record rec;
  auto err = run([&](pqxx::connection& c) -> caf::error {
    pqxx::work tx{c};
    // "Last used" is not worth a WAL flush in the request that verifies a
    // key (see record_sandbox).
    tx.exec("SET LOCAL synchronous_commit TO OFF");
    auto rows = tx.exec_params(
      "SELECT k.id, k.team_id, t.slug, array_to_string(k.scopes, ' '), "
      "k.revoked_at IS NOT NULL, "
      "k.expires_at IS NOT NULL AND k.expires_at <= now(), t.plan, "
      "t.limits::text FROM api_keys k JOIN teams t ON t.id = k.team_id "
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
    rec.plan = row[6].as<std::string>();
    rec.limits = overrides_of(row[7].as<std::string>());
    // Verified keys are cached by the gateways, so this runs at most once
    // per key and cache period: "last used" is exact to a few seconds.
    tx.exec_params("UPDATE api_keys SET last_used_at = now() WHERE id = $1",
                   rec.key_id);
    tx.commit();
    return caf::none;
  });
  if (err)
    return err;
  return rec;
}

caf::error pg_store::record_sandbox(const sandbox_record& r) {
  return run([&](pqxx::connection& c) -> caf::error {
    nlohmann::json meta(r.metadata);
    pqxx::work tx{c};
    // A create waits for this row; waiting for its WAL flush too cost 1.0-
    // 1.6 ms at the median and 4-11 ms at p90 on this VM's disk (0.4 ms
    // without; bench/RESULTS.md). Committed without waiting for the flush, the
    // row is there for every later reader (a restarted control included);
    // only a crash of PostgreSQL itself within ~0.6 s can lose it, and then
    // its node ends the sandbox when it rejoins. Money (usage, ledger)
    // keeps the synchronous commit.
    tx.exec("SET LOCAL synchronous_commit TO OFF");
    // One row per sandbox: later states update it until it has ended.
    tx.exec_params(
      "INSERT INTO sandboxes (id, team_id, template_id, node, metadata, "
      "vcpu, memory_mb, disk_mb, state, created_at, ended_at, end_reason, "
      "api_key_id) "
      "VALUES ($1, $2::uuid, $3, $4, $5::jsonb, $6, $7, $8, $9, "
      "to_timestamp($10::double precision / 1000), "
      "CASE WHEN $9 = 'killed' THEN now() END, NULLIF($11, ''), "
      "NULLIF($12, '')::uuid) "
      "ON CONFLICT (id) DO UPDATE SET state = EXCLUDED.state, "
      "metadata = EXCLUDED.metadata, "
      "ended_at = COALESCE(sandboxes.ended_at, EXCLUDED.ended_at), "
      "end_reason = COALESCE(sandboxes.end_reason, EXCLUDED.end_reason) "
      "WHERE sandboxes.ended_at IS NULL",
      r.id, r.team_id, r.template_id, r.node, meta.dump(),
      static_cast<int>(r.vcpu), static_cast<long long>(r.memory_mb),
      static_cast<long long>(r.disk_mb), r.state,
      static_cast<long long>(r.created_at_ms), r.end_reason, r.api_key_id);
    tx.commit();
    return caf::none;
  });
}

caf::expected<std::vector<sandbox_record>> pg_store::live_sandboxes() {
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

caf::expected<size_t> pg_store::end_live_sandboxes(const std::string& node,
                                                   const std::string& reason) {
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

caf::error pg_store::record_audit(const audit_record& r) {
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

store_ptr make_pg_store(std::string url, std::chrono::milliseconds timeout) {
  return std::make_unique<pg_store>(std::move(url), timeout);
}

} // namespace sbx

// Users, console sessions, API keys and the audit log, on PostgreSQL.

#include "runtime/store/pg_store.hpp"

#include <sstream>

namespace sbx {

namespace {

/// "alice.smith+x@example.com" → "alice-smith-x": a team slug's first try.
std::string slug_from_email(const std::string& email) {
  std::string out;
  for (auto c : email.substr(0, email.find('@'))) {
    auto l = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if ((l >= 'a' && l <= 'z') || (l >= '0' && l <= '9'))
      out += l;
    else if (!out.empty() && out.back() != '-')
      out += '-';
  }
  while (!out.empty() && out.back() == '-')
    out.pop_back();
  if (out.size() > 40)
    out.resize(40);
  return out.empty() ? "team" : out;
}

user_record user_of(const pqxx::row& row) {
  return {row[0].as<std::string>(), row[1].as<std::string>(),
          row[2].as<std::string>(), row[3].as<int64_t>(), row[4].as<bool>()};
}

std::string user_query() {
  return "SELECT id, email, COALESCE(password_hash, ''), "
         "(extract(epoch FROM created_at) * 1000)::bigint, "
         "disabled_at IS NOT NULL FROM users ";
}

} // namespace

// -- audit --------------------------------------------------------------------

caf::expected<std::vector<audit_row>>
pg_store::read_audit(const audit_query& q) {
  std::vector<audit_row> out;
  auto err = run([&](pqxx::connection& c) -> caf::error {
    pqxx::nontransaction tx{c};
    auto rows = tx.exec_params(
      "SELECT id, " + ms("at")
        + ", actor_kind, actor_id, action, COALESCE(target, ''), "
          "COALESCE(team_id::text, ''), details::text, "
          "COALESCE(host(remote_addr), '') FROM audit_log "
          "WHERE team_id::text = $1 "
          "AND ($2::bigint = 0 "
          "OR at >= to_timestamp($2::double precision / 1000)) "
          "AND ($3::bigint = 0 "
          "OR at < to_timestamp($3::double precision / 1000)) "
          "AND ($4 = '' OR action = $4 "
          "OR (right($4, 1) = '.' AND starts_with(action, $4))) "
          "AND ($5::bigint = 0 OR id < $5::bigint) ORDER BY id DESC LIMIT $6",
      q.team_id, static_cast<long long>(q.from_ms),
      static_cast<long long>(q.to_ms), q.action,
      static_cast<long long>(q.before_id), static_cast<int>(q.limit));
    for (auto row : rows)
      out.push_back({row[0].as<int64_t>(), row[1].as<int64_t>(),
                     audit_record{row[2].as<std::string>(),
                                  row[3].as<std::string>(),
                                  row[4].as<std::string>(),
                                  row[5].as<std::string>(),
                                  row[6].as<std::string>(),
                                  row[7].as<std::string>(),
                                  row[8].as<std::string>()}});
    return caf::none;
  });
  if (err)
    return err;
  return out;
}

// -- users --------------------------------------------------------------------

caf::expected<std::pair<user_record, team_record>>
pg_store::register_user(const std::string& email,
                        const std::string& password_hash) {
  std::pair<user_record, team_record> out;
  auto err = run([&](pqxx::connection& c) -> caf::error {
    pqxx::work tx{c};
    try {
      out.first = user_of(tx.exec_params1(
        "INSERT INTO users (email, password_hash) VALUES ($1, $2) RETURNING "
        "id, email, password_hash, "
        "(extract(epoch FROM created_at) * 1000)::bigint, false",
        email, password_hash));
    } catch (const pqxx::unique_violation&) {
      return make_error(ec::already_exists,
                        "an account with this email exists; log in");
    }
    // Their own team, under the first free slug made from the address.
    auto base = slug_from_email(email);
    std::string team_id;
    for (int i = 1; team_id.empty() && i <= 50; ++i) {
      auto slug = i == 1 ? base : base + "-" + std::to_string(i);
      auto r = tx.exec_params("INSERT INTO teams (slug, name) VALUES ($1, $2) "
                              "ON CONFLICT (slug) DO NOTHING RETURNING id",
                              slug, email + "'s team");
      if (!r.empty())
        team_id = r[0][0].as<std::string>();
    }
    if (team_id.empty())
      return make_error(ec::conflict, "no free team name for " + base);
    tx.exec_params("INSERT INTO memberships (team_id, user_id, role) VALUES "
                   "($1, $2, 'owner')",
                   team_id, out.first.id);
    // Invitations sent before the account existed.
    tx.exec_params("INSERT INTO memberships (team_id, user_id, role) "
                   "SELECT team_id, $2, role FROM invitations "
                   "WHERE lower(email) = lower($1) ON CONFLICT DO NOTHING",
                   email, out.first.id);
    tx.exec_params("DELETE FROM invitations WHERE lower(email) = lower($1)",
                   email);
    out.second = teams_of(tx.exec_params(team_query + " AND t.id = $1",
                                         team_id))
                   .front();
    tx.commit();
    return caf::none;
  });
  if (err)
    return err;
  return out;
}

caf::expected<user_record>
pg_store::find_user_by_email(const std::string& email) {
  return find_one(user_query() + "WHERE lower(email) = lower($1)", user_of,
                  "no account with this email", email);
}

caf::expected<user_record> pg_store::find_user(const std::string& id) {
  return find_one(user_query() + "WHERE id::text = $1", user_of,
                  "no such user", id);
}

caf::expected<std::vector<membership_record>>
pg_store::memberships(const std::string& user_id) {
  std::vector<membership_record> out;
  auto err = run([&](pqxx::connection& c) -> caf::error {
    pqxx::nontransaction tx{c};
    for (auto row : tx.exec_params(
           "SELECT t.id, t.slug, t.name, m.role FROM memberships m JOIN "
           "teams t ON t.id = m.team_id WHERE m.user_id::text = $1 AND "
           "t.deleted_at IS NULL ORDER BY t.slug",
           user_id))
      out.push_back({row[0].as<std::string>(), row[1].as<std::string>(),
                     row[2].as<std::string>(), row[3].as<std::string>()});
    return caf::none;
  });
  if (err)
    return err;
  return out;
}

// -- sessions -----------------------------------------------------------------

caf::expected<std::string>
pg_store::create_session(const std::string& user_id,
                         const std::string& refresh_hash,
                         int64_t expires_at_ms,
                         const std::string& remote_addr) {
  std::string id;
  auto err = run([&](pqxx::connection& c) -> caf::error {
    pqxx::work tx{c};
    id = tx.exec_params1(
             "INSERT INTO sessions (user_id, refresh_hash, expires_at, "
             "remote_addr) VALUES ($1, $2, "
             "to_timestamp($3::double precision / 1000), "
             "NULLIF($4, '')::inet) RETURNING id",
             user_id, refresh_hash, static_cast<long long>(expires_at_ms),
             remote_addr)[0]
           .as<std::string>();
    tx.commit();
    return caf::none;
  });
  if (err)
    return err;
  return id;
}

caf::expected<session_record> pg_store::find_session(const std::string& id) {
  return find_one(
    "SELECT id, user_id, " + ms("expires_at")
      + ", revoked_at IS NOT NULL FROM sessions WHERE id::text = $1",
    [](const pqxx::row& row) {
      return session_record{row[0].as<std::string>(), row[1].as<std::string>(),
                            row[2].as<int64_t>(), row[3].as<bool>()};
    },
    "no such session", id);
}

caf::expected<session_record>
pg_store::rotate_session(const std::string& old_hash,
                         const std::string& new_hash, int64_t expires_at_ms) {
  std::optional<session_record> out;
  bool reused = false;
  auto err = run([&](pqxx::connection& c) -> caf::error {
    pqxx::work tx{c};
    auto rows = tx.exec_params(
      "UPDATE sessions SET refresh_hash = $2, previous_hash = $1, "
      "refreshed_at = now(), "
      "expires_at = to_timestamp($3::double precision / 1000) "
      "WHERE refresh_hash = $1 AND revoked_at IS NULL AND expires_at > now() "
      "RETURNING id, user_id, "
        + ms("expires_at"),
      old_hash, new_hash, static_cast<long long>(expires_at_ms));
    if (!rows.empty()) {
      out = session_record{rows[0][0].as<std::string>(),
                           rows[0][1].as<std::string>(),
                           rows[0][2].as<int64_t>(), false};
    } else {
      // A replaced token used again: someone else has it. End the session.
      reused = !tx.exec_params("UPDATE sessions SET revoked_at = now() "
                               "WHERE previous_hash = $1 AND revoked_at IS "
                               "NULL RETURNING id",
                               old_hash)
                  .empty();
    }
    tx.commit();
    return caf::none;
  });
  if (err)
    return err;
  if (reused)
    return make_error(ec::unauthenticated,
                      "this refresh token was used before, so the session is "
                      "ended; log in again");
  if (!out)
    return make_error(ec::unauthenticated,
                      "unknown, revoked or expired refresh token; log in "
                      "again");
  return std::move(*out);
}

caf::error pg_store::revoke_session(const std::string& id) {
  return run([&](pqxx::connection& c) -> caf::error {
    pqxx::work tx{c};
    tx.exec_params("UPDATE sessions SET revoked_at = now() WHERE id::text = $1 "
                   "AND revoked_at IS NULL",
                   id);
    tx.commit();
    return caf::none;
  });
}

// -- API keys -----------------------------------------------------------------

std::string pg_store::api_key_query() {
  return "SELECT k.id, k.name, k.key_prefix, array_to_string(k.scopes, ' '), "
         "COALESCE(u.email, ''), COALESCE(k.created_by::text, ''), "
         + ms("k.created_at") + ", " + ms("k.last_used_at") + ", "
         + ms("k.expires_at") + ", " + ms("k.revoked_at")
         + " FROM api_keys k LEFT JOIN users u ON u.id = k.created_by ";
}

std::vector<api_key_row> pg_store::api_keys_of(const pqxx::result& rows) {
  std::vector<api_key_row> out;
  for (auto row : rows) {
    api_key_row k;
    k.id = row[0].as<std::string>();
    k.name = row[1].as<std::string>();
    k.prefix = row[2].as<std::string>();
    std::istringstream scopes{row[3].as<std::string>()};
    for (std::string s; scopes >> s;)
      k.scopes.push_back(s);
    k.created_by = row[4].as<std::string>();
    k.created_by_id = row[5].as<std::string>();
    k.created_at_ms = row[6].as<int64_t>();
    k.last_used_at_ms = row[7].as<int64_t>();
    k.expires_at_ms = row[8].as<int64_t>();
    k.revoked_at_ms = row[9].as<int64_t>();
    out.push_back(std::move(k));
  }
  return out;
}

caf::expected<api_key_row>
pg_store::create_api_key(const std::string& team_id,
                         const std::string& created_by,
                         const std::string& name, const auth::api_key& key,
                         const std::vector<std::string>& scopes,
                         int64_t expires_at_ms) {
  std::vector<api_key_row> out;
  auto err = run([&](pqxx::connection& c) -> caf::error {
    pqxx::work tx{c};
    auto id = tx.exec_params1(
                  "INSERT INTO api_keys (team_id, created_by, name, key_hash, "
                  "key_prefix, scopes, expires_at) VALUES ($1, "
                  "NULLIF($2, '')::uuid, $3, $4, $5, "
                  "ARRAY(SELECT jsonb_array_elements_text($6::jsonb)), "
                  "CASE WHEN $7::bigint > 0 THEN "
                  "to_timestamp($7::double precision / 1000) END) "
                  "RETURNING id",
                  team_id, created_by, name, key.hash, key.prefix,
                  nlohmann::json(scopes).dump(),
                  static_cast<long long>(expires_at_ms))[0]
                .as<std::string>();
    out = api_keys_of(
      tx.exec_params(api_key_query() + "WHERE k.id = $1", id));
    tx.commit();
    return caf::none;
  });
  if (err)
    return err;
  return std::move(out.front());
}

caf::expected<std::vector<api_key_row>>
pg_store::api_keys(const std::string& team_id) {
  std::vector<api_key_row> out;
  auto err = run([&](pqxx::connection& c) -> caf::error {
    pqxx::nontransaction tx{c};
    out = api_keys_of(tx.exec_params(api_key_query()
                                       + "WHERE k.team_id::text = $1 "
                                         "ORDER BY k.created_at DESC",
                                     team_id));
    return caf::none;
  });
  if (err)
    return err;
  return out;
}

caf::expected<api_key_row>
pg_store::revoke_api_key(const std::string& team_id,
                         const std::string& key_id) {
  std::vector<api_key_row> out;
  auto err = run([&](pqxx::connection& c) -> caf::error {
    pqxx::work tx{c};
    tx.exec_params("UPDATE api_keys SET revoked_at = COALESCE(revoked_at, "
                   "now()) WHERE team_id::text = $1 AND id::text = $2",
                   team_id, key_id);
    out = api_keys_of(tx.exec_params(api_key_query()
                                       + "WHERE k.team_id::text = $1 AND "
                                         "k.id::text = $2",
                                     team_id, key_id));
    tx.commit();
    return caf::none;
  });
  if (err)
    return err;
  if (out.empty())
    return make_error(ec::not_found, "API key " + key_id + " not found");
  return std::move(out.front());
}

} // namespace sbx

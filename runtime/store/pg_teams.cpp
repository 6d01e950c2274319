#include "runtime/store/pg_store.hpp"

#include <nlohmann/json.hpp>

namespace sbx {

caf::expected<team_record> pg_store::find_team(const std::string& team) {
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

caf::expected<std::vector<team_record>> pg_store::list_teams() {
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
pg_store::change_team(const std::string& team, const std::string& plan,
            const std::map<std::string, int64_t>& overrides) {
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
pg_store::team_month(const std::string& team_id) {
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


caf::expected<team_record> pg_store::create_team(const std::string& user_id,
                                                 const std::string& slug,
                                                 const std::string& name) {
  std::vector<team_record> out;
  auto err = run([&](pqxx::connection& c) -> caf::error {
    pqxx::work tx{c};
    std::string id;
    try {
      id = tx.exec_params1("INSERT INTO teams (slug, name) VALUES ($1, $2) "
                           "RETURNING id",
                           slug, name)[0]
             .as<std::string>();
    } catch (const pqxx::unique_violation&) {
      return make_error(ec::already_exists,
                        "the team name '" + slug + "' is taken");
    }
    tx.exec_params("INSERT INTO memberships (team_id, user_id, role) VALUES "
                   "($1, $2, 'owner')",
                   id, user_id);
    out = teams_of(tx.exec_params(team_query + " AND t.id = $1", id));
    tx.commit();
    return caf::none;
  });
  if (err)
    return err;
  return std::move(out.front());
}

caf::expected<std::pair<team_record, std::string>>
pg_store::role_in(const std::string& team, const std::string& user_id) {
  std::vector<team_record> found;
  std::string role;
  auto err = run([&](pqxx::connection& c) -> caf::error {
    pqxx::nontransaction tx{c};
    found = teams_of(tx.exec_params(team_query + " AND (t.id::text = $1 "
                                                 "OR t.slug = $1)",
                                    team));
    if (found.empty())
      return caf::none;
    auto rows = tx.exec_params("SELECT role FROM memberships WHERE team_id = "
                               "$1 AND user_id::text = $2",
                               found.front().id, user_id);
    if (!rows.empty())
      role = rows[0][0].as<std::string>();
    return caf::none;
  });
  if (err)
    return err;
  // A team one is no member of is as unknown as one that does not exist.
  if (found.empty() || role.empty())
    return make_error(ec::not_found, "team " + team + " not found");
  return std::make_pair(std::move(found.front()), std::move(role));
}

caf::expected<std::vector<member_record>>
pg_store::team_members(const std::string& team_id) {
  std::vector<member_record> out;
  auto err = run([&](pqxx::connection& c) -> caf::error {
    pqxx::nontransaction tx{c};
    for (auto row : tx.exec_params(
           "SELECT u.id::text, u.email, m.role, false, " + ms("m.created_at")
             + " FROM memberships m JOIN users u ON u.id = m.user_id "
               "WHERE m.team_id::text = $1 "
               "UNION ALL SELECT '', i.email, i.role, true, "
             + ms("i.created_at")
             + " FROM invitations i WHERE i.team_id::text = $1 "
               "ORDER BY 4, 2",
           team_id))
      out.push_back({row[0].as<std::string>(), row[1].as<std::string>(),
                     row[2].as<std::string>(), row[3].as<bool>(),
                     row[4].as<int64_t>()});
    return caf::none;
  });
  if (err)
    return err;
  return out;
}

caf::expected<member_record>
pg_store::add_member(const std::string& team_id, const std::string& email,
                     const std::string& role, const std::string& invited_by) {
  member_record out;
  auto err = run([&](pqxx::connection& c) -> caf::error {
    pqxx::work tx{c};
    auto user = tx.exec_params("SELECT id, email FROM users WHERE "
                               "lower(email) = lower($1)",
                               email);
    if (user.empty()) {
      // No account yet: they join when they register.
      auto r = tx.exec_params(
        "INSERT INTO invitations (team_id, email, role, invited_by) VALUES "
        "($1, lower($2), $3, NULLIF($4, '')::uuid) "
        "ON CONFLICT (team_id, email) DO NOTHING RETURNING "
          + ms("created_at"),
        team_id, email, role, invited_by);
      if (r.empty())
        return make_error(ec::already_exists, email + " is invited already");
      out = {"", email, role, true, r[0][0].as<int64_t>()};
    } else {
      auto r = tx.exec_params("INSERT INTO memberships (team_id, user_id, "
                              "role) VALUES ($1, $2, $3) ON CONFLICT DO "
                              "NOTHING RETURNING "
                                + ms("created_at"),
                              team_id, user[0][0].as<std::string>(), role);
      if (r.empty())
        return make_error(ec::already_exists,
                          email + " is a member already");
      out = {user[0][0].as<std::string>(), user[0][1].as<std::string>(), role,
             false, r[0][0].as<int64_t>()};
    }
    tx.commit();
    return caf::none;
  });
  if (err)
    return err;
  return out;
}

namespace {

/// Whether taking `user_id`'s owner role away leaves the team an owner;
/// locks the team's owners until the transaction ends.
bool another_owner(pqxx::work& tx, const std::string& team_id,
                   const std::string& user_id) {
  auto owners = tx.exec_params("SELECT user_id::text FROM memberships WHERE "
                               "team_id::text = $1 AND role = 'owner' FOR "
                               "UPDATE",
                               team_id);
  for (auto row : owners)
    if (row[0].as<std::string>() != user_id)
      return true;
  return false;
}

} // namespace

caf::expected<member_record> pg_store::set_role(const std::string& team_id,
                                                const std::string& user_id,
                                                const std::string& role) {
  std::optional<member_record> out;
  auto err = run([&](pqxx::connection& c) -> caf::error {
    pqxx::work tx{c};
    if (role != "owner" && !another_owner(tx, team_id, user_id)) {
      auto r = tx.exec_params("SELECT role FROM memberships WHERE "
                              "team_id::text = $1 AND user_id::text = $2",
                              team_id, user_id);
      if (!r.empty() && r[0][0].as<std::string>() == "owner")
        return make_error(ec::conflict, "a team needs an owner: make someone "
                                        "else owner first");
    }
    auto rows = tx.exec_params(
      "UPDATE memberships m SET role = $3 FROM users u WHERE u.id = m.user_id "
      "AND m.team_id::text = $1 AND m.user_id::text = $2 RETURNING u.id::text, "
      "u.email, "
        + ms("m.created_at"),
      team_id, user_id, role);
    if (!rows.empty())
      out = member_record{rows[0][0].as<std::string>(),
                          rows[0][1].as<std::string>(), role, false,
                          rows[0][2].as<int64_t>()};
    tx.commit();
    return caf::none;
  });
  if (err)
    return err;
  if (!out)
    return make_error(ec::not_found, "no such member");
  return std::move(*out);
}

caf::error pg_store::remove_member(const std::string& team_id,
                                   const std::string& member) {
  return run([&](pqxx::connection& c) -> caf::error {
    pqxx::work tx{c};
    // An email names an invitation; anything else a member's user id.
    if (member.find('@') != std::string::npos) {
      if (tx.exec_params("DELETE FROM invitations WHERE team_id::text = $1 "
                         "AND email = lower($2) RETURNING email",
                         team_id, member)
            .empty())
        return make_error(ec::not_found, "no invitation for " + member);
      tx.commit();
      return caf::none;
    }
    auto r = tx.exec_params("SELECT role FROM memberships WHERE team_id::text "
                            "= $1 AND user_id::text = $2",
                            team_id, member);
    if (r.empty())
      return make_error(ec::not_found, "no such member");
    if (r[0][0].as<std::string>() == "owner"
        && !another_owner(tx, team_id, member))
      return make_error(ec::conflict, "a team needs an owner: make someone "
                                      "else owner first");
    tx.exec_params("DELETE FROM memberships WHERE team_id::text = $1 AND "
                   "user_id::text = $2",
                   team_id, member);
    tx.commit();
    return caf::none;
  });
}

} // namespace sbx

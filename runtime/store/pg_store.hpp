#pragma once

#include "actors/error.hpp"
#include "runtime/reconnect_gate.hpp"
#include "runtime/store/store.hpp"

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <utility>

namespace sbx {

/// The store on PostgreSQL (libpqxx): one connection, opened lazily and
/// again after it broke. Its methods live by subject in pg_store.cpp
/// (schema, sandboxes), pg_teams.cpp and pg_accounts.cpp.
class pg_store final : public store {
public:
  pg_store(std::string url, std::chrono::milliseconds timeout);
  caf::error ping() override;
  caf::expected<std::vector<std::string>>
  migrate(const std::vector<migration>& all) override;
  caf::expected<std::optional<auth::api_key>>
  bootstrap(const key_sink& persist) override;
  caf::expected<api_key_record>
  find_api_key(const std::string& hash) override;
  caf::error record_sandbox(const sandbox_record& r) override;
  caf::expected<std::vector<sandbox_record>> live_sandboxes() override;
  caf::expected<team_record> find_team(const std::string& team) override;
  caf::expected<std::vector<team_record>> list_teams() override;
  caf::expected<team_record>
  change_team(const std::string& team, const std::string& plan,
              const std::map<std::string, int64_t>& overrides) override;
  caf::expected<team_month_record>
  team_month(const std::string& team_id) override;
  caf::error record_audit(const audit_record& r) override;
  caf::expected<size_t> end_live_sandboxes(const std::string& node,
                                           const std::string& reason) override;

  // -- accounts (pg_accounts.cpp) ---------------------------------------------

  caf::expected<std::vector<audit_row>>
  read_audit(const audit_query& q) override;
  caf::expected<std::pair<user_record, team_record>>
  register_user(const std::string& email,
                const std::string& password_hash) override;
  caf::expected<user_record>
  find_user_by_email(const std::string& email) override;
  caf::expected<user_record> find_user(const std::string& id) override;
  caf::expected<std::vector<membership_record>>
  memberships(const std::string& user_id) override;
  caf::expected<std::string>
  create_session(const std::string& user_id, const std::string& refresh_hash,
                 int64_t expires_at_ms,
                 const std::string& remote_addr) override;
  caf::expected<session_record> find_session(const std::string& id) override;
  caf::expected<session_record>
  rotate_session(const std::string& old_hash, const std::string& new_hash,
                 int64_t expires_at_ms) override;
  caf::error revoke_session(const std::string& id) override;
  caf::expected<api_key_row>
  create_api_key(const std::string& team_id, const std::string& created_by,
                 const std::string& name, const auth::api_key& key,
                 const std::vector<std::string>& scopes,
                 int64_t expires_at_ms) override;
  caf::expected<std::vector<api_key_row>>
  api_keys(const std::string& team_id) override;
  caf::expected<api_key_row> revoke_api_key(const std::string& team_id,
                                            const std::string& key_id) override;

  // -- usage (pg_usage.cpp) ---------------------------------------------------

  caf::expected<size_t>
  record_usage(const std::vector<usage_record>& records) override;
  caf::expected<uint64_t> month_sandbox_ms(const std::string& team_id) override;
  caf::expected<std::vector<usage_day>>
  usage_days(const std::string& team_id, int64_t from_ms,
             int64_t to_ms) override;

  // -- billing (pg_billing.cpp) -----------------------------------------------

  caf::expected<std::vector<invoice_line>>
  invoice_lines(const std::string& team_id, const std::string& month,
                const price_list& prices) override;
  caf::expected<charge_result> charge_usage(const std::string& team_id,
                                            const std::string& month,
                                            const price_list& prices) override;
  caf::expected<charge_result> credit(const std::string& team,
                                      int64_t amount_micros,
                                      const std::string& reference,
                                      const std::string& created_by) override;
  caf::expected<invoice> finalize_invoice(const invoice& draft) override;
  caf::expected<invoice> final_invoice(const std::string& team_id,
                                       const std::string& month) override;
  caf::expected<std::vector<invoice>>
  final_invoices(const std::string& team_id) override;

  // -- teams (pg_teams.cpp) ---------------------------------------------------

  caf::expected<team_record> create_team(const std::string& user_id,
                                         const std::string& slug,
                                         const std::string& name) override;
  caf::expected<std::pair<team_record, std::string>>
  role_in(const std::string& team, const std::string& user_id) override;
  caf::expected<std::vector<member_record>>
  team_members(const std::string& team_id) override;
  caf::expected<member_record> add_member(const std::string& team_id,
                                          const std::string& email,
                                          const std::string& role,
                                          const std::string& invited_by) override;
  caf::expected<member_record> set_role(const std::string& team_id,
                                        const std::string& user_id,
                                        const std::string& role) override;
  caf::error remove_member(const std::string& team_id,
                           const std::string& member) override;

private:
  /// Unix milliseconds of a timestamptz column, 0 for NULL, in SQL.
  static std::string ms(const std::string& column) {
    return "COALESCE((extract(epoch FROM " + column + ") * 1000)::bigint, 0)";
  }

  /// A team's keys as api_keys_of reads them.
  static std::string api_key_query();
  static std::vector<api_key_row> api_keys_of(const pqxx::result& rows);
  /// Selects teams as teams_of reads them.
  inline static const std::string team_query
    = "SELECT t.id, t.slug, t.name, t.plan, t.limits::text, t.balance_micros, "
      "(extract(epoch FROM t.created_at) * 1000)::bigint FROM teams t "
      "WHERE t.deleted_at IS NULL";

  /// A team's limit overrides from their JSON column.
  static std::map<std::string, int64_t> overrides_of(const std::string& text) {
    std::map<std::string, int64_t> out;
    auto limits = nlohmann::json::parse(text, nullptr, false);
    if (limits.is_object())
      for (auto& [k, v] : limits.items())
        if (v.is_number_integer())
          out[k] = v.get<int64_t>();
    return out;
  }

  static std::vector<team_record> teams_of(const pqxx::result& rows) {
    std::vector<team_record> result;
    for (auto row : rows) {
      team_record rec;
      rec.id = row[0].as<std::string>();
      rec.slug = row[1].as<std::string>();
      rec.name = row[2].as<std::string>();
      rec.plan = row[3].as<std::string>();
      rec.limits = overrides_of(row[4].as<std::string>());
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

  /// The first row a read-only `query` answers (with `params`), as `read`
  /// makes it; not_found saying `missing` when there is none.
  template <class Read, class... Params>
  auto find_one(const std::string& query, Read read,
                const std::string& missing, const Params&... params)
    -> caf::expected<decltype(read(std::declval<const pqxx::row&>()))> {
    std::optional<decltype(read(std::declval<const pqxx::row&>()))> out;
    auto err = run([&](pqxx::connection& c) -> caf::error {
      pqxx::nontransaction tx{c};
      auto rows = tx.exec_params(query, params...);
      if (!rows.empty())
        out = read(rows[0]);
      return caf::none;
    });
    if (err)
      return err;
    if (!out)
      return make_error(ec::not_found, missing);
    return std::move(*out);
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

} // namespace sbx

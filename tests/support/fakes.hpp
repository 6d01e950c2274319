#pragma once

#include "actors/error.hpp"
#include "runtime/cache/cache_client.hpp"
#include "runtime/store/store.hpp"

#include <algorithm>
#include <cmath>
#include <atomic>
#include <map>
#include <mutex>

/// In-memory stand-ins for the outside services, for unit tests.
namespace sbx::test {

/// A store whose health the test controls and that remembers what it did.
class fake_store : public store {
public:
  caf::error ping() override {
    std::lock_guard<std::mutex> guard{mtx};
    ++pings;
    return down ? make_error(ec::unavailable, "PostgreSQL unavailable: fake")
                : caf::none;
  }

  caf::expected<std::vector<std::string>>
  migrate(const std::vector<migration>& all) override {
    std::lock_guard<std::mutex> guard{mtx};
    auto todo = plan_migrations(all, applied);
    if (!todo)
      return std::move(todo.error());
    std::vector<std::string> names;
    for (auto& m : *todo) {
      applied.push_back({m.version, m.name, m.checksum});
      names.push_back(m.name);
    }
    return names;
  }

  caf::expected<std::optional<auth::api_key>>
  bootstrap(const key_sink& persist) override {
    std::lock_guard<std::mutex> guard{mtx};
    if (!key_hash.empty())
      return std::optional<auth::api_key>{};
    auto key = auth::generate_api_key();
    if (auto err = persist(key))
      return err;
    key_hash = key.hash;
    return std::optional<auth::api_key>{key};
  }

  caf::expected<api_key_record>
  find_api_key(const std::string& hash) override {
    std::lock_guard<std::mutex> guard{mtx};
    if (down)
      return make_error(ec::unavailable, "PostgreSQL unavailable: fake");
    if (hash != key_hash || key_hash.empty())
      return make_error(ec::unauthenticated, "invalid API key");
    return api_key_record{"key-1", "team-1", "default", {"*"}};
  }

  caf::error record_sandbox(const sandbox_record& rec) override {
    std::lock_guard<std::mutex> guard{mtx};
    if (down)
      return make_error(ec::unavailable, "PostgreSQL unavailable: fake");
    sandboxes[rec.id] = rec;
    return caf::none;
  }

  caf::expected<std::vector<sandbox_record>> live_sandboxes() override {
    std::lock_guard<std::mutex> guard{mtx};
    std::vector<sandbox_record> result;
    for (auto& [id, r] : sandboxes)
      if (r.state != "killed")
        result.push_back(r);
    return result;
  }

  caf::expected<team_record> find_team(const std::string&) override {
    return team_record{"free", {}};
  }

  caf::expected<std::vector<team_record>> list_teams() override {
    return std::vector<team_record>{team_record{"free", {}}};
  }

  caf::expected<team_record>
  change_team(const std::string&, const std::string&,
              const std::map<std::string, int64_t>&) override {
    return team_record{"free", {}};
  }

  caf::expected<team_month_record> team_month(const std::string&) override {
    return team_month_record{};
  }

  caf::error record_audit(const audit_record& rec) override {
    std::lock_guard<std::mutex> guard{mtx};
    audit.push_back(rec);
    return caf::none;
  }

  // Accounts live in PostgreSQL only: the integration tests cover them.

  caf::expected<std::vector<audit_row>> read_audit(const audit_query&) override {
    return unsupported();
  }

  caf::expected<std::pair<user_record, team_record>>
  register_user(const std::string&, const std::string&) override {
    return unsupported();
  }

  caf::expected<user_record> find_user_by_email(const std::string&) override {
    return unsupported();
  }

  caf::expected<user_record> find_user(const std::string&) override {
    return unsupported();
  }

  caf::expected<std::vector<membership_record>>
  memberships(const std::string&) override {
    return unsupported();
  }

  caf::expected<std::string> create_session(const std::string&,
                                            const std::string&, int64_t,
                                            const std::string&) override {
    return unsupported();
  }

  caf::expected<session_record> find_session(const std::string&) override {
    return unsupported();
  }

  caf::expected<session_record> rotate_session(const std::string&,
                                               const std::string&,
                                               int64_t) override {
    return unsupported();
  }

  caf::error revoke_session(const std::string&) override {
    return unsupported();
  }

  caf::expected<team_record> create_team(const std::string&, const std::string&,
                                         const std::string&) override {
    return unsupported();
  }

  caf::expected<std::pair<team_record, std::string>>
  role_in(const std::string&, const std::string&) override {
    return unsupported();
  }

  caf::expected<std::vector<member_record>>
  team_members(const std::string&) override {
    return unsupported();
  }

  caf::expected<member_record> add_member(const std::string&,
                                          const std::string&,
                                          const std::string&,
                                          const std::string&) override {
    return unsupported();
  }

  caf::expected<member_record> set_role(const std::string&, const std::string&,
                                        const std::string&) override {
    return unsupported();
  }

  caf::error remove_member(const std::string&, const std::string&) override {
    return unsupported();
  }

  caf::expected<api_key_row>
  create_api_key(const std::string&, const std::string&, const std::string&,
                 const auth::api_key&, const std::vector<std::string>&,
                 int64_t) override {
    return unsupported();
  }

  caf::expected<std::vector<api_key_row>>
  api_keys(const std::string&) override {
    return unsupported();
  }

  caf::expected<api_key_row> revoke_api_key(const std::string&,
                                            const std::string&) override {
    return unsupported();
  }

  caf::expected<size_t>
  record_usage(const std::vector<usage_record>& records) override {
    std::lock_guard<std::mutex> guard{mtx};
    size_t n = 0;
    for (auto& r : records)
      n += usage.emplace(r.id, r).second ? 1 : 0;
    return n;
  }

  caf::expected<uint64_t> month_sandbox_ms(const std::string& team) override {
    std::lock_guard<std::mutex> guard{mtx};
    uint64_t ms = 0;
    for (auto& [id, r] : usage)
      if (r.team_id == team)
        ms += static_cast<uint64_t>(r.period_end_ms - r.period_start_ms);
    return ms;
  }

  caf::expected<std::vector<usage_day>>
  usage_days(const std::string&, int64_t, int64_t) override {
    return unsupported();
  }

  caf::expected<std::vector<invoice_line>>
  invoice_lines(const std::string&, const std::string&,
                const price_list&) override {
    return unsupported();
  }

  caf::expected<charge_result> charge_usage(const std::string&,
                                            const std::string&,
                                            const price_list&) override {
    return unsupported();
  }

  caf::expected<charge_result> credit(const std::string&, int64_t,
                                      const std::string&,
                                      const std::string&) override {
    return unsupported();
  }

  caf::expected<invoice> finalize_invoice(const invoice&) override {
    return unsupported();
  }

  caf::expected<invoice> final_invoice(const std::string&,
                                       const std::string&) override {
    return unsupported();
  }

  caf::expected<std::vector<invoice>>
  final_invoices(const std::string&) override {
    return unsupported();
  }

  std::map<std::string, usage_record> usage;

  static caf::error unsupported() {
    return make_error(ec::unavailable, "not in the fake store");
  }

  caf::expected<size_t> end_live_sandboxes(const std::string&,
                                           const std::string&) override {
    return size_t{0};
  }

  std::map<std::string, sandbox_record> sandboxes;
  std::vector<audit_record> audit;
  std::mutex mtx;
  bool down = false;
  int pings = 0;
  std::vector<applied_migration> applied;
  std::string key_hash;
};

/// A cache whose health the test controls.
class fake_cache : public cache_client {
public:
  caf::error ping() override {
    return down ? make_error(ec::unavailable, "Redis unavailable: fake")
                : caf::none;
  }

  /// Buckets on a clock the test moves (`now_ms`).
  caf::expected<bucket_take> take(const std::string& key, double rate,
                                  double burst, double cost) override {
    if (down)
      return make_error(ec::unavailable, "Redis unavailable: fake");
    std::lock_guard<std::mutex> guard{mtx};
    auto& b = buckets[key];
    if (b.ts < 0)
      b = {burst, now_ms};
    b.tokens = std::min(burst, b.tokens + (now_ms - b.ts) * rate / 1000);
    b.ts = now_ms;
    ++takes;
    if (cost < 0) {
      b.tokens = std::min(burst, b.tokens - cost);
      return bucket_take{0, 0, b.tokens};
    }
    auto granted = static_cast<unsigned>(
      std::max(0.0, std::min(cost, std::floor(b.tokens + 1e-9))));
    b.tokens -= granted;
    int64_t wait = 0;
    if (granted < cost)
      wait = static_cast<int64_t>(std::ceil((1 - b.tokens) * 1000 / rate));
    return bucket_take{granted, wait, b.tokens};
  }

  struct bucket {
    double tokens = 0;
    int64_t ts = -1;
  };

  std::atomic<bool> down{false};
  std::mutex mtx;
  std::map<std::string, bucket> buckets;
  /// Scripts run (takes and give-backs).
  std::atomic<int> takes{0};
  int64_t now_ms = 0;
};

} // namespace sbx::test

#include "runtime/store/store.hpp"

#include "actors/error.hpp"
#include "tests/support/services.hpp"

#include <pqxx/pqxx>

#include <chrono>
#include <map>

#include "tests/support/printers.hpp"

#include <boost/test/unit_test.hpp>

using namespace sbx;
using namespace std::chrono_literals;

namespace {

struct store_fixture {
  std::string url;
  store_ptr db;

  store_fixture() {
    auto name = std::string{"t_"}
                + boost::unit_test::framework::current_test_case().p_name.get();
    url = test::fresh_database(name.substr(0, 60));
    db = make_pg_store(url, 3s);
  }

  long long count(const std::string& sql) {
    pqxx::connection c{url};
    pqxx::nontransaction tx{c};
    return tx.exec(sql)[0][0].as<long long>();
  }

  static std::vector<migration> shipped() {
    return *parse_migrations(embedded_migrations());
  }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(store, store_fixture)

BOOST_AUTO_TEST_CASE(migrations_apply_once_on_an_empty_database) {
  auto first = db->migrate(shipped());
  BOOST_REQUIRE_MESSAGE(first, (first ? "" : message_of(first.error())));
  BOOST_REQUIRE_EQUAL(first->size(), shipped().size());
  BOOST_TEST((*first)[0] == "0001_initial.sql");
  for (auto table : {"teams", "users", "memberships", "api_keys", "templates",
                     "sandboxes", "usage_records", "audit_log"})
    BOOST_TEST(count(std::string{"SELECT count(*) FROM information_schema."
                                 "tables WHERE table_name = '"}
                     + table + "'")
                 == 1,
               table);
  // An already migrated database gets nothing new, from a new client too.
  auto again = make_pg_store(url, 3s)->migrate(shipped());
  BOOST_REQUIRE(again);
  BOOST_TEST(again->empty());
  BOOST_TEST(count("SELECT count(*) FROM schema_migrations")
             == static_cast<long long>(shipped().size()));
}

BOOST_AUTO_TEST_CASE(a_failing_migration_stops_and_leaves_nothing_behind) {
  auto ms = shipped();
  ms.push_back({ms.back().version + 1, "9999_broken.sql",
                "CREATE TABLE half_done (x int); SELECT * FROM no_such_table",
                "x"});
  auto result = db->migrate(ms);
  BOOST_REQUIRE(!result);
  BOOST_TEST(result.error() == ec::migration_failed);
  BOOST_TEST(message_of(result.error()).find("migration 9999_broken.sql failed")
             == 0u);
  BOOST_TEST(message_of(result.error()).find("no_such_table")
             != std::string::npos);
  // The good migrations before it are kept; the broken one left no trace.
  BOOST_TEST(count("SELECT count(*) FROM information_schema.tables WHERE "
                   "table_name = 'half_done'")
             == 0);
  BOOST_TEST(count("SELECT count(*) FROM schema_migrations")
             == static_cast<long long>(shipped().size()));
}

BOOST_AUTO_TEST_CASE(bootstrap_creates_team_and_key_exactly_once) {
  BOOST_REQUIRE(db->migrate(shipped()));
  std::string persisted;
  auto first = db->bootstrap([&](const auth::api_key& k) {
    persisted = k.secret;
    return caf::error{};
  });
  BOOST_REQUIRE(first);
  BOOST_REQUIRE(first->has_value());
  auto key = **first;
  BOOST_TEST(auth::is_api_key(key.secret));
  BOOST_TEST(persisted == key.secret);
  auto second = db->bootstrap([](const auth::api_key&) {
    BOOST_FAIL("a second key was made");
    return caf::error{};
  });
  BOOST_REQUIRE(second);
  BOOST_TEST(!second->has_value());
  BOOST_TEST(count("SELECT count(*) FROM teams WHERE slug = 'default'") == 1);
  BOOST_TEST(count("SELECT count(*) FROM api_keys") == 1);
  // Only the hash is stored.
  BOOST_TEST(count("SELECT count(*) FROM api_keys WHERE key_hash = '"
                   + key.hash + "'")
             == 1);
  BOOST_TEST(count("SELECT count(*) FROM api_keys WHERE key_hash = '"
                   + key.secret + "' OR key_prefix = '" + key.secret + "'")
             == 0);
  BOOST_TEST(count("SELECT count(*) FROM audit_log WHERE action IN "
                   "('team.create', 'api_key.create')")
             == 2);
}

BOOST_AUTO_TEST_CASE(usage_sent_twice_is_stored_once_and_summed_by_day) {
  BOOST_REQUIRE(db->migrate(shipped()));
  BOOST_REQUIRE(db->bootstrap([](const auth::api_key&) { return caf::error{}; }));
  auto team = db->find_team("default");
  BOOST_REQUIRE(team);
  auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
               .count();
  auto rec = [&](const std::string& id, const std::string& tpl,
                 int64_t start, int64_t ms) {
    return usage_record{id,    team->id, "sb-" + tpl, tpl,       "", "n1",
                        start, start + ms, 1000, uint64_t(512 * ms), 0,
                        uint64_t(2 * ms)};
  };
  std::vector<usage_record> batch{
    rec("00000000-0000-4000-8000-000000000001", "base", now - 60'000, 10'000),
    rec("00000000-0000-4000-8000-000000000002", "base", now - 50'000, 10'000),
    rec("00000000-0000-4000-8000-000000000003", "py", now - 40'000, 5'000)};
  auto n = db->record_usage(batch);
  BOOST_REQUIRE(n);
  BOOST_TEST(*n == 3u);
  // The same batch again (a node that never heard the answer): nothing new.
  n = db->record_usage(batch);
  BOOST_REQUIRE(n);
  BOOST_TEST(*n == 0u);
  BOOST_TEST(count("SELECT count(*) FROM usage_records") == 3);
  auto month = db->month_sandbox_ms(team->id);
  BOOST_REQUIRE(month);
  BOOST_TEST(*month == 25'000u);
  auto days = db->usage_days(team->id, now - 3'600'000, now + 1);
  BOOST_REQUIRE(days);
  // A day's total, two templates, one key ("": none).
  std::map<std::pair<std::string, std::string>, uint64_t> ms;
  for (auto& d : *days)
    ms[{d.template_id, d.api_key_id}] += d.sandbox_ms;
  BOOST_TEST((ms[{"*", "*"}] == 25'000u));
  BOOST_TEST((ms[{"base", "*"}] == 20'000u));
  BOOST_TEST((ms[{"py", "*"}] == 5'000u));
  BOOST_TEST((ms[{"*", ""}] == 25'000u));
}

BOOST_AUTO_TEST_CASE(a_bootstrap_that_cannot_persist_its_key_writes_nothing) {
  BOOST_REQUIRE(db->migrate(shipped()));
  auto failed = db->bootstrap([](const auth::api_key&) {
    return make_error(ec::system_error, "disk full");
  });
  BOOST_REQUIRE(!failed);
  BOOST_TEST(message_of(failed.error()) == "disk full");
  BOOST_TEST(count("SELECT count(*) FROM teams") == 0);
  // The next start tries again and succeeds.
  auto retry = db->bootstrap([](const auth::api_key&) { return caf::error{}; });
  BOOST_REQUIRE(retry);
  BOOST_TEST(retry->has_value());
}

BOOST_AUTO_TEST_CASE(an_absent_server_fails_fast_with_unavailable) {
  auto dead = make_pg_store("postgresql://sandhive:x@127.0.0.1:1/sandhive", 1s);
  auto err = dead->ping();
  BOOST_TEST(err == ec::unavailable);
  BOOST_TEST(message_of(err).find("PostgreSQL unavailable") == 0u);
  // While the server is away, further calls do not wait for a timeout.
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 10; ++i)
    BOOST_TEST(dead->ping() == ec::unavailable);
  BOOST_TEST((std::chrono::steady_clock::now() - start < 2s));
}

BOOST_AUTO_TEST_SUITE_END()

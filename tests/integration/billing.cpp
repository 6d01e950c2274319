// Billing through a real cluster (control, a node, a gateway; usage every
// second, charges every second, two seconds of grace): a known usage
// pattern costs exactly the hand-computed invoice and is charged once;
// a used-up balance refuses creates (402) and pauses running sandboxes
// until an operator grants credit; a month that ended gets its final
// invoice, which later restarts do not change.

#include "tests/support/local_cluster.hpp"
#include "tests/support/sandboxes.hpp"

#include <boost/test/unit_test.hpp>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include <csignal>
#include <sstream>
#include <thread>

using namespace sbx;
using namespace std::chrono_literals;
using nlohmann::json;
using test::eventually;

namespace {

struct fixture {
  static inline std::unique_ptr<test::local_cluster> c;

  fixture() {
    test::local_cluster::options opts;
    opts.name = "billing";
    opts.nodes = {"n1"};
    opts.gateways = 1;
    opts.extra = {"--usage-interval",   "1s", "--billing-interval", "1s",
                  "--billing-grace",    "2s"};
    test::start_once(c, opts);
  }

  static pqxx::result sql(const std::string& query) {
    pqxx::connection conn{c->database_url()};
    pqxx::work tx{conn};
    auto r = tx.exec(query);
    tx.commit();
    return r;
  }

  /// A team on the pro plan (billed at the default prices) and its key.
  static std::string pro_team(const std::string& slug) {
    auto key = c->team(slug, "{}");
    sql("UPDATE teams SET plan = 'pro' WHERE slug = '" + slug + "'");
    return key;
  }

  static int64_t balance(const std::string& slug) {
    return sql("SELECT balance_micros FROM teams WHERE slug = '" + slug + "'")
      [0][0]
        .as<int64_t>();
  }

  /// A metered period of `sandbox` starting `start` (an SQL timestamp).
  static void usage(const std::string& slug, const std::string& sandbox,
                    const std::string& start, int64_t vcpu_ms,
                    int64_t memory_mib_ms, int64_t disk_mib_ms) {
    std::ostringstream q;
    q << "INSERT INTO usage_records (id, team_id, sandbox_id, template_id, "
         "node, period_start, period_end, vcpu_ms, memory_mib_ms, "
         "disk_mib_ms) SELECT gen_random_uuid(), id, '"
      << sandbox << "', 'base', 'n1', " << start << ", " << start
      << " + interval '1 hour', " << vcpu_ms << ", " << memory_mib_ms << ", "
      << disk_mib_ms << " FROM teams WHERE slug = '" << slug << "'";
    sql(q.str());
  }

  static std::string month(const std::string& expr) {
    return sql("SELECT to_char(" + expr + ", 'YYYY-MM')")[0][0]
      .as<std::string>();
  }

  /// An API request with `key`.
  static test::http_reply api(const std::string& method,
                              const std::string& target,
                              const std::string& key,
                              const std::string& body = "") {
    return c->api(0, method, target, body, key);
  }
};

/// This month's first minute, in UTC.
const std::string this_month
  = "(date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' + "
    "interval '1 minute')";
const std::string last_month = "(" + this_month + " - interval '1 month')";

} // namespace

BOOST_AUTO_TEST_SUITE(billing, *boost::unit_test::precondition(
                                 test::sandboxes_supported))

BOOST_FIXTURE_TEST_CASE(a_known_usage_pattern_costs_the_hand_computed_invoice,
                        fixture) {
  auto key = pro_team("acme");
  auto r = c->admin("credit acme 10 order 42", true);
  BOOST_REQUIRE_MESSAGE(r.code == 0, r.out << r.err);
  BOOST_CHECK_EQUAL(json::parse(r.out)["balance_micros"], 10'000'000);
  BOOST_CHECK_EQUAL(sql("SELECT reference || ' by ' || created_by FROM ledger "
                        "JOIN teams ON teams.id = team_id WHERE slug = "
                        "'acme'")[0][0]
                      .as<std::string>(),
                    "manual: order 42 by operator ops-test");
  // Pro prices: 50,400 per vCPU-hour, 16,200 per GiB-hour of memory,
  // 100,000 per GiB-month (30 days) of disk; each priced sum rounded down
  // once per sandbox.
  //   s1, in two periods: 2 vCPU-hours = 100,800; 0.5 GiB-hour = 8,100;
  //     1 GiB-hour of disk = 100,000 / 720 = 138.9 → 138; line 109,038.
  //   s2: 1,000 vCPU-seconds = 14,000; 300 MiB × 1,000 s = 1,318.4 → 1,318;
  //     100 MiB × 1,000 s = 3.77 → 3; line 15,321.
  // Total 124,359.
  usage("acme", "s1", this_month, 3'600'000, 921'600'000, 1'843'200'000);
  usage("acme", "s1", this_month + " + interval '1 hour'", 3'600'000,
        921'600'000, 1'843'200'000);
  usage("acme", "s2", this_month, 1'000'000, 300'000'000, 100'000'000);
  const int64_t total = 124'359;
  BOOST_REQUIRE_MESSAGE(
    eventually([&] { return balance("acme") == 10'000'000 - total; }, 15s),
    "balance " << balance("acme"));
  auto now = month("now() AT TIME ZONE 'UTC'");
  auto inv = api("GET", "/v1/invoices/" + now, key);
  BOOST_REQUIRE_MESSAGE(inv.status == 200, inv.body);
  auto j = json::parse(inv.body);
  BOOST_CHECK_EQUAL(j["status"], "draft");
  BOOST_CHECK_EQUAL(j["totalMicros"], total);
  BOOST_CHECK_EQUAL(j["total"], "0.124359");
  BOOST_REQUIRE_EQUAL(j["lines"].size(), 2u);
  BOOST_CHECK_EQUAL(j["lines"][0]["sandboxId"], "s1");
  BOOST_CHECK_EQUAL(j["lines"][0]["vcpuMicros"], 100'800);
  BOOST_CHECK_EQUAL(j["lines"][0]["memoryMicros"], 8'100);
  BOOST_CHECK_EQUAL(j["lines"][0]["diskMicros"], 138);
  BOOST_CHECK_EQUAL(j["lines"][0]["amountMicros"], 109'038);
  BOOST_CHECK_EQUAL(j["lines"][0]["sandboxMs"], 7'200'000);
  BOOST_CHECK_EQUAL(j["lines"][1]["amountMicros"], 15'321);
  // The same as CSV: integer lines that add up to the total.
  auto csv = api("GET", "/v1/invoices/" + now + "?format=csv", key);
  BOOST_REQUIRE_EQUAL(csv.status, 200u);
  BOOST_CHECK(csv.header("Content-Type").find("text/csv") == 0);
  BOOST_CHECK(csv.body.find("acme," + now + ",draft,s1,base,7200000,7200000,"
                            "1843200000,3686400000,100800,8100,138,109038\r\n")
              != std::string::npos);
  BOOST_CHECK(csv.body.find("acme," + now + ",draft,TOTAL,,,,,,,,,124359\r\n")
              != std::string::npos);
  // Charged once, however many ticks go by: the month's charges are its
  // invoice.
  std::this_thread::sleep_for(3s);
  BOOST_CHECK_EQUAL(balance("acme"), 10'000'000 - total);
  BOOST_CHECK_EQUAL(sql("SELECT -sum(amount_micros) FROM ledger JOIN teams ON "
                        "teams.id = team_id WHERE slug = 'acme' AND kind = "
                        "'charge'")[0][0]
                      .as<int64_t>(),
                    total);
  auto list = json::parse(api("GET", "/v1/invoices", key).body);
  BOOST_REQUIRE(list.is_array() && !list.empty());
  BOOST_CHECK_EQUAL(list[0]["month"], now);
  BOOST_CHECK_EQUAL(list[0]["totalMicros"], total);
  // Bad names of months.
  BOOST_CHECK_EQUAL(api("GET", "/v1/invoices/2026-13", key).status, 400u);
  BOOST_CHECK_EQUAL(api("GET", "/v1/invoices/last", key).status, 400u);
}

BOOST_FIXTURE_TEST_CASE(credit_is_granted_by_operators_only, fixture) {
  // A bad amount is refused by the shell, and nothing is written.
  for (auto bad : {"-5", "0", "1e3", "12.3456789", "lots"}) {
    auto r = c->admin(std::string{"credit acme "} + bad, true);
    BOOST_CHECK_MESSAGE(r.code != 0, "credit " << bad << " accepted");
  }
  BOOST_CHECK_EQUAL(c->admin("credit nobody 5", true).code == 0, false);
  // The owner of a team cannot grant it money.
  auto reg = test::http_request(
    c->gateway_port(0), "POST", "/v1/auth/register",
    R"({"email":"olga@example.com","password":"a long password"})",
    {{"Content-Type", "application/json"}}, 30s);
  BOOST_REQUIRE_EQUAL(reg.status, 201u);
  auto login = test::http_request(
    c->gateway_port(0), "POST", "/v1/auth/login",
    R"({"email":"olga@example.com","password":"a long password"})",
    {{"Content-Type", "application/json"}}, 30s);
  BOOST_REQUIRE_EQUAL(login.status, 200u);
  std::vector<std::pair<std::string, std::string>> h{
    {"Content-Type", "application/json"},
    {"Authorization",
     "Bearer " + json::parse(login.body)["accessToken"].get<std::string>()}};
  BOOST_REQUIRE_EQUAL(test::http_request(c->gateway_port(0), "POST",
                                         "/v1/teams",
                                         R"({"slug":"olgas","name":"O"})", h,
                                         30s)
                        .status,
                      201u);
  auto r = test::http_request(c->gateway_port(0), "POST",
                              "/v1/teams/olgas/credits",
                              R"({"amount":"1000"})", h, 30s);
  BOOST_CHECK_EQUAL(r.status, 403u);
  BOOST_CHECK(r.body.find("operators") != std::string::npos);
  BOOST_CHECK_EQUAL(balance("olgas"), 0);
  BOOST_CHECK_EQUAL(sql("SELECT count(*) FROM ledger JOIN teams ON teams.id "
                        "= team_id WHERE slug = 'olgas'")[0][0]
                      .as<int>(),
                    0);
}

BOOST_FIXTURE_TEST_CASE(a_used_up_balance_refuses_creates_and_pauses,
                        fixture) {
  auto key = pro_team("broke");
  // A hundred micro-units: a few seconds of a 2-vCPU sandbox.
  BOOST_REQUIRE_EQUAL(c->admin("credit broke 0.0001", true).code, 0);
  auto create = [&] {
    return api("POST", "/v2/sandboxes", key,
               R"({"templateID":"base","timeout":120})");
  };
  auto first = create();
  BOOST_REQUIRE_MESSAGE(first.status == 201, first.body);
  auto id = json::parse(first.body)["sandboxID"].get<std::string>();
  test::http_reply refused;
  BOOST_REQUIRE_MESSAGE(eventually(
                          [&] {
                            refused = create();
                            if (refused.status == 201)
                              api("DELETE",
                                  "/sandboxes/"
                                    + json::parse(refused.body)["sandboxID"]
                                        .get<std::string>(),
                                  key);
                            return refused.status == 402;
                          },
                          30s),
                        refused.status << " " << refused.body);
  auto j = json::parse(refused.body);
  BOOST_CHECK_EQUAL(j["code"], 402);
  BOOST_CHECK(j["message"].get<std::string>().find("balance") != std::string::npos);
  BOOST_CHECK_LE(balance("broke"), 0);
  // After the grace period its running sandbox is paused.
  BOOST_CHECK(eventually(
    [&] {
      auto r = api("GET", "/sandboxes/" + id, key);
      return r.status == 200 && json::parse(r.body)["state"] == "paused";
    },
    20s));
  // Moved to an unbilled plan, the team may create again; back on pro
  // without credit, it may not.
  auto created = [&](unsigned want) {
    auto x = create();
    if (x.status == 201)
      api("DELETE",
          "/sandboxes/" + json::parse(x.body)["sandboxID"].get<std::string>(),
          key);
    return x.status == want;
  };
  sql("UPDATE teams SET plan = 'free' WHERE slug = 'broke'");
  BOOST_CHECK(eventually([&] { return created(201); }, 10s));
  sql("UPDATE teams SET plan = 'pro' WHERE slug = 'broke'");
  BOOST_CHECK(eventually([&] { return created(402); }, 10s));
  // Credit lets the team create again at once.
  auto r = c->admin("credit broke 5", true);
  BOOST_REQUIRE_EQUAL(r.code, 0);
  BOOST_CHECK_EQUAL(json::parse(r.out)["frozen"], false);
  BOOST_CHECK(eventually([&] { return create().status == 201; }, 5s));
  // Every credit is in the audit log with the operator's name.
  BOOST_CHECK_EQUAL(sql("SELECT count(*) FROM audit_log WHERE action = "
                        "'team.credit' AND target = 'broke' AND actor_kind = "
                        "'operator' AND actor_id = 'ops-test'")[0][0]
                      .as<int>(),
                    2);
}

BOOST_FIXTURE_TEST_CASE(a_month_that_ended_gets_its_final_invoice, fixture) {
  auto key = pro_team("past");
  BOOST_REQUIRE_EQUAL(c->admin("credit past 1", true).code, 0);
  usage("past", "old", last_month, 3'600'000, 0, 0); // 50,400
  // The control starts again (as it would after the month ended): it
  // closes the month before.
  c->control->signal(SIGKILL);
  BOOST_REQUIRE(c->control->wait_for(10s));
  c->start_control();
  auto before = month(last_month);
  test::http_reply inv;
  BOOST_REQUIRE_MESSAGE(
    eventually(
      [&] {
        inv = api("GET", "/v1/invoices/" + before, key);
        return inv.status == 200
               && json::parse(inv.body)["status"] == "final";
      },
      60s),
    inv.status << " " << inv.body);
  BOOST_CHECK_EQUAL(json::parse(inv.body)["totalMicros"], 50'400);
  BOOST_CHECK_EQUAL(balance("past"), 1'000'000 - 50'400);
  // Late usage of a closed month changes neither its invoice nor the
  // balance, however often the control restarts.
  usage("past", "late", last_month, 3'600'000, 0, 0);
  c->control->signal(SIGKILL);
  BOOST_REQUIRE(c->control->wait_for(10s));
  c->start_control();
  BOOST_REQUIRE(eventually([&] { return c->control_said("control 0.1.0 is up"); },
                           60s));
  std::this_thread::sleep_for(3s);
  auto again = json::parse(api("GET", "/v1/invoices/" + before, key).body);
  BOOST_CHECK_EQUAL(again["totalMicros"], 50'400);
  BOOST_CHECK_EQUAL(again["lines"].size(), 1u);
  BOOST_CHECK_EQUAL(balance("past"), 1'000'000 - 50'400);
  auto list = json::parse(api("GET", "/v1/invoices", key).body);
  BOOST_REQUIRE_EQUAL(list.size(), 2u);
  BOOST_CHECK_EQUAL(list[1]["month"], before);
  BOOST_CHECK_EQUAL(list[1]["status"], "final");
  c->kill_all();
}

BOOST_AUTO_TEST_SUITE_END()

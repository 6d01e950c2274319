// Usage metering through a real cluster (control, a node, a gateway; the
// node measures every second): what a sandbox used reaches PostgreSQL once,
// with nothing lost or counted twice while billing or the node restart,
// and shows per day, template and key; monthly sandbox-hours are enforced
// from the same records.

#include "tests/support/local_cluster.hpp"
#include "tests/support/sandboxes.hpp"
#include "tests/support/services.hpp"

#include <boost/test/unit_test.hpp>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include <csignal>
#include <fstream>
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
    opts.name = "usage";
    opts.nodes = {"n1"};
    opts.gateways = 1;
    opts.extra = {"--usage-interval", "1s"};
    test::start_once(c, opts);
    // A case before may have restarted the control or the node.
    BOOST_REQUIRE_MESSAGE(c->ready(60s),
                          "the cluster is not ready: "
                            << test::local_cluster::logs(*c->gateways[0]));
  }

  /// Usage records node `node` has measured and billing not yet stored
  /// (its spool).
  static size_t waiting(const std::string& node) {
    std::ifstream in{c->dir() + "/" + node + "/usage-pending.json"};
    auto j = json::parse(in, nullptr, false);
    return j.is_object() ? j["pending"].size() : 0u;
  }

  static pqxx::result query(const std::string& sql) {
    pqxx::connection conn{c->database_url()};
    pqxx::nontransaction tx{conn};
    return tx.exec(sql);
  }

  /// The usage records of a sandbox: (start ms, end ms, vcpu ms, key id).
  struct period {
    int64_t start, end;
    uint64_t vcpu_ms;
    std::string key;
  };
  static std::vector<period> periods(const std::string& sandbox) {
    std::vector<period> out;
    for (auto row : query(
           "SELECT (extract(epoch FROM period_start) * 1000)::bigint, "
           "(extract(epoch FROM period_end) * 1000)::bigint, vcpu_ms, "
           "COALESCE(api_key_id::text, '') FROM usage_records WHERE "
           "sandbox_id = '"
           + sandbox + "' ORDER BY period_start"))
      out.push_back({row[0].as<int64_t>(), row[1].as<int64_t>(),
                     row[2].as<uint64_t>(), row[3].as<std::string>()});
    return out;
  }

  /// Periods follow each other without overlap; their total in ms.
  static int64_t covered(const std::vector<period>& ps) {
    int64_t total = 0;
    for (size_t i = 0; i < ps.size(); ++i) {
      if (i > 0)
        BOOST_CHECK_MESSAGE(ps[i].start >= ps[i - 1].end,
                            "periods overlap: counted twice");
      total += ps[i].end - ps[i].start;
    }
    return total;
  }
};

} // namespace

BOOST_AUTO_TEST_SUITE(usage, *boost::unit_test::precondition(
                               test::sandboxes_supported))

BOOST_FIXTURE_TEST_CASE(a_sandboxs_life_is_metered_once, fixture) {
  auto start = std::chrono::steady_clock::now();
  auto sb = c->create(0);
  BOOST_REQUIRE(!sb.first.empty());
  std::this_thread::sleep_for(3s);
  BOOST_CHECK_EQUAL(c->api(0, "DELETE", "/sandboxes/" + sb.first).status,
                    204u);
  auto lived = std::chrono::duration_cast<std::chrono::milliseconds>(
                 std::chrono::steady_clock::now() - start)
                 .count();
  // Its last stretch arrives within a couple of seconds of its end.
  std::vector<period> ps;
  BOOST_CHECK(eventually(
    [&] {
      ps = periods(sb.first);
      return covered(ps) >= 2500;
    },
    10s));
  auto total = covered(ps);
  BOOST_TEST_MESSAGE(ps.size() << " records covering " << total
                               << " ms of a " << lived << " ms life");
  BOOST_CHECK_LE(total, lived + 200);
  BOOST_CHECK_GE(total, lived - 1500);
  for (auto& p : ps) {
    // The base template's 2 vCPUs, the whole period.
    BOOST_CHECK_EQUAL(p.vcpu_ms, 2 * static_cast<uint64_t>(p.end - p.start));
    BOOST_CHECK(!p.key.empty());
  }
  // Per day, template and key, for keys with billing:read.
  auto r = c->api(0, "GET", "/v1/usage");
  BOOST_REQUIRE_MESSAGE(r.status == 200, r.body);
  auto j = json::parse(r.body);
  BOOST_REQUIRE(!j["days"].empty());
  auto& day = j["days"].back();
  BOOST_CHECK_GT(day["sandboxHours"].get<double>(), 0);
  BOOST_CHECK(day["byTemplate"].contains("base"));
  BOOST_CHECK(day["byKey"].contains(ps.front().key));
  BOOST_CHECK_EQUAL(c->api(0, "GET", "/v1/usage?from=yesterday").status, 400u);
}

BOOST_FIXTURE_TEST_CASE(nothing_is_lost_or_doubled_while_billing_is_away,
                        fixture) {
  auto sb = c->create(0);
  BOOST_REQUIRE(!sb.first.empty());
  std::this_thread::sleep_for(2s);
  // The control (billing) goes away: the node keeps measuring into its
  // spool.
  c->control->signal(SIGKILL);
  BOOST_REQUIRE(c->control->wait_for(10s));
  std::this_thread::sleep_for(4s);
  BOOST_CHECK_GE(waiting("n1"), 2u);
  // The node restarts too (its sandboxes end with it): what waited is
  // read back from the spool.
  c->nodes["n1"]->signal(SIGKILL);
  BOOST_REQUIRE(c->nodes["n1"]->wait_for(10s));
  auto before = waiting("n1");
  BOOST_CHECK_GE(before, 3u);
  c->start_control();
  c->start_node("n1");
  BOOST_REQUIRE_MESSAGE(eventually([&] { return waiting("n1") == 0; }, 60s),
                        waiting("n1") << " still waiting; node: "
                                  << test::local_cluster::logs(*c->nodes["n1"])
                                  << "\ncontrol: "
                                  << test::local_cluster::logs(*c->control));
  auto ps = periods(sb.first);
  auto total = covered(ps);
  BOOST_TEST_MESSAGE(ps.size() << " records, " << total << " ms");
  BOOST_CHECK_GE(total, 5000);
  c->kill_all();
}

BOOST_FIXTURE_TEST_CASE(nothing_is_lost_or_doubled_while_postgres_restarts,
                        fixture) {
  auto start = std::chrono::steady_clock::now();
  auto sb = c->create(0);
  BOOST_REQUIRE(!sb.first.empty());
  std::this_thread::sleep_for(2s);
  // PostgreSQL goes away for a while: billing cannot store, the node keeps
  // what it measured.
  auto& pg = test::services::get().postgres();
  pg.stop();
  std::this_thread::sleep_for(4s);
  BOOST_CHECK_GE(waiting("n1"), 2u);
  BOOST_REQUIRE(!pg.start());
  std::this_thread::sleep_for(1s);
  BOOST_CHECK_EQUAL(c->api(0, "DELETE", "/sandboxes/" + sb.first).status,
                    204u);
  auto lived = std::chrono::duration_cast<std::chrono::milliseconds>(
                 std::chrono::steady_clock::now() - start)
                 .count();
  BOOST_REQUIRE_MESSAGE(eventually([&] { return waiting("n1") == 0; }, 60s),
                        waiting("n1") << " still waiting; control: "
                                  << test::local_cluster::logs(*c->control));
  std::vector<period> ps;
  BOOST_CHECK(eventually(
    [&] {
      ps = periods(sb.first);
      return covered(ps) >= lived - 1500;
    },
    10s));
  auto total = covered(ps);
  BOOST_TEST_MESSAGE(ps.size() << " records covering " << total
                               << " ms of a " << lived << " ms life");
  BOOST_CHECK_GE(total, lived - 1500);
  BOOST_CHECK_LE(total, lived + 200);
}

BOOST_FIXTURE_TEST_CASE(monthly_sandbox_hours_are_enforced, fixture) {
  auto key = c->team("hours", R"({"max_sandbox_hours": 1})");
  // An hour used already this month, as metered.
  {
    pqxx::connection conn{c->database_url()};
    pqxx::work tx{conn};
    tx.exec("INSERT INTO usage_records (id, team_id, sandbox_id, template_id, "
            "node, period_start, period_end) SELECT gen_random_uuid(), id, "
            "'old', 'base', 'n1', now() - interval '61 minutes', now() - "
            "interval '1 minute' FROM teams WHERE slug = 'hours'");
    tx.commit();
  }
  auto r = c->api(0, "POST", "/v2/sandboxes",
                  R"({"templateID":"base","timeout":60})", key);
  BOOST_CHECK_MESSAGE(r.status == 429u, r.status << ": " << r.body);
  BOOST_CHECK(r.body.find("sandbox-hours") != std::string::npos);
  BOOST_CHECK(!r.header("Retry-After").empty());
}

BOOST_AUTO_TEST_SUITE_END()

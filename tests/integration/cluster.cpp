// A real cluster on loopback: one control, three nodes and two gateways as
// separate processes. Placement spreads, quota stays exact under concurrent
// creates through both gateways, a killed or hung node is detected and its
// sandboxes end while the others keep working, and a restarted control
// loses nothing.

#include "tests/support/local_cluster.hpp"
#include "tests/support/sandboxes.hpp"

#include <boost/test/unit_test.hpp>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include <atomic>
#include <csignal>
#include <fstream>
#include <iostream>
#include <map>
#include <thread>

#include <unistd.h>

using namespace sbx;
using namespace std::chrono_literals;
using nlohmann::json;
using test::eventually;

namespace {

using clock_type = std::chrono::steady_clock;

struct cluster {
  static inline std::unique_ptr<test::local_cluster> c;

  cluster() {
    test::start_once(c, test::local_cluster::options{});
  }

  static test::http_reply api(size_t g, const std::string& method,
                              const std::string& target,
                              const std::string& body = "",
                              const std::string& k = "") {
    return c->api(g, method, target, body, k);
  }

  /// Creates a sandbox through gateway `g`: (id, access token).
  static std::pair<std::string, std::string> create(size_t g,
                                                    const std::string& k = "") {
    auto sb = c->create(g, k);
    BOOST_REQUIRE_MESSAGE(!sb.first.empty(), "create through gateway " << g
                                                                      << " failed");
    return sb;
  }

  /// The node PostgreSQL records for a sandbox, and whether it ended.
  static std::pair<std::string, std::string> recorded(const std::string& id) {
    pqxx::connection conn{c->database_url()};
    pqxx::nontransaction tx{conn};
    auto rows = tx.exec_params("SELECT node, COALESCE(end_reason, '') FROM "
                               "sandboxes WHERE id = $1",
                               id);
    if (rows.empty())
      return {"", ""};
    return {rows[0][0].as<std::string>(), rows[0][1].as<std::string>()};
  }

  /// Live sandboxes per node, from PostgreSQL.
  static std::map<std::string, int> live_per_node() {
    pqxx::connection conn{c->database_url()};
    pqxx::nontransaction tx{conn};
    std::map<std::string, int> out;
    for (auto row : tx.exec("SELECT node, count(*) FROM sandboxes WHERE "
                            "ended_at IS NULL GROUP BY node"))
      out[row[0].as<std::string>()] = row[1].as<int>();
    return out;
  }

  /// Writes and reads back a file in a sandbox through gateway `g`.
  static bool files_work(size_t g, const std::pair<std::string, std::string>& sb,
                         const std::string& content) {
    std::vector<std::pair<std::string, std::string>> h{
      {"E2b-Sandbox-Id", sb.first},
      {"X-Access-Token", sb.second},
      {"Content-Type", "application/octet-stream"}};
    auto port = c->gateway_port(g);
    auto w = test::http_request(port, "POST",
                                "/files?path=/tmp/probe&username=user",
                                content, h, 10s);
    if (w.status != 200) {
      std::cerr << "write through gateway " << g << ": " << w.status
                << " " << w.body << "\n";
      return false;
    }
    auto r = test::http_request(port, "GET",
                                "/files?path=/tmp/probe&username=user", "", h,
                                10s);
    return r.status == 200 && r.body == content;
  }
};

/// Whether gateway `g` is connected straight to every node: connected to
/// each after it last lost the connection.
bool connected_directly(size_t g) {
  auto text = test::local_cluster::logs(*cluster::c->gateways[g]);
  for (auto& [name, node] : cluster::c->nodes) {
    auto at = text.rfind("connected to node " + name + " ");
    auto lost = text.rfind("lost the direct connection to node " + name + " ");
    if (at == std::string::npos || (lost != std::string::npos && lost > at))
      return false;
  }
  return true;
}

/// Milliseconds until `pred` holds (polling every 20 ms), or -1.
template <class Pred>
long long time_until(Pred pred, std::chrono::milliseconds limit) {
  auto start = clock_type::now();
  while (clock_type::now() - start < limit) {
    if (pred())
      return std::chrono::duration_cast<std::chrono::milliseconds>(
               clock_type::now() - start)
        .count();
    std::this_thread::sleep_for(20ms);
  }
  return -1;
}

} // namespace

BOOST_AUTO_TEST_SUITE(cluster, *boost::unit_test::precondition(
                                 test::sandboxes_supported))

BOOST_FIXTURE_TEST_CASE(creates_spread_and_data_reaches_any_node, cluster) {
  std::vector<std::pair<std::string, std::string>> sbs;
  for (size_t i = 0; i < 9; ++i)
    sbs.push_back(create(i % 2));
  auto per_node = live_per_node();
  BOOST_TEST_MESSAGE("live per node: n1=" << per_node["n1"] << " n2="
                                          << per_node["n2"] << " n3="
                                          << per_node["n3"]);
  for (auto n : {"n1", "n2", "n3"})
    BOOST_CHECK_MESSAGE(per_node[n] >= 2, n << " runs " << per_node[n]);
  // Created through one gateway, used through the other.
  for (size_t i = 0; i < sbs.size(); ++i)
    BOOST_CHECK(files_work((i + 1) % 2, sbs[i], "hello " + sbs[i].first));
  auto r = api(1, "GET", "/sandboxes/" + sbs[0].first);
  BOOST_CHECK_EQUAL(r.status, 200u);
  c->kill_all();
  BOOST_CHECK(eventually([&] { return live_per_node().empty(); }, 10s));
}

BOOST_FIXTURE_TEST_CASE(quota_is_exact_under_concurrent_creates, cluster) {
  auto k = c->team("quota", R"({"max_sandboxes": 4})");
  std::atomic<int> created{0}, refused{0}, other{0};
  std::atomic<bool> retry_after{true};
  std::vector<std::thread> threads;
  for (int t = 0; t < 12; ++t)
    threads.emplace_back([&, t] {
      auto r = api(t % 2, "POST", "/v2/sandboxes",
                   R"({"templateID":"base","timeout":300})", k);
      if (r.status == 201)
        ++created;
      else if (r.status == 429) {
        ++refused;
        if (r.header("Retry-After").empty()
            || json::parse(r.body)["code"] != 429)
          retry_after = false;
      } else
        ++other;
    });
  for (auto& t : threads)
    t.join();
  BOOST_CHECK_EQUAL(created.load(), 4);
  BOOST_CHECK_EQUAL(refused.load(), 8);
  BOOST_CHECK_EQUAL(other.load(), 0);
  BOOST_CHECK(retry_after.load());
  // A kill gives the room back.
  auto list = json::parse(api(0, "GET", "/v2/sandboxes", "", k).body);
  BOOST_REQUIRE_EQUAL(list.size(), 4u);
  BOOST_CHECK_EQUAL(
    api(1, "DELETE",
        "/sandboxes/" + list[0]["sandboxID"].get<std::string>(), "", k)
      .status,
    204u);
  BOOST_CHECK(eventually(
    [&] {
      return api(1, "POST", "/v2/sandboxes",
                 R"({"templateID":"base","timeout":300})", k)
               .status
             == 201;
    },
    5s));
  BOOST_CHECK_EQUAL(api(0, "POST", "/v2/sandboxes",
                        R"({"templateID":"base","timeout":300})", k)
                      .status,
                    429u);
  c->kill_all();
}

BOOST_FIXTURE_TEST_CASE(a_killed_node_is_detected_within_2s, cluster) {
  std::vector<std::pair<std::string, std::string>> sbs;
  for (size_t i = 0; i < 6; ++i)
    sbs.push_back(create(i % 2));
  auto victim = recorded(sbs[0].first).first;
  BOOST_REQUIRE(!victim.empty());
  c->nodes[victim]->signal(SIGKILL);
  auto ms = time_until(
    [&] {
      return api(1, "GET", "/sandboxes/" + sbs[0].first).status == 404;
    },
    10s);
  BOOST_TEST_MESSAGE("killed node " << victim << " detected after " << ms
                                    << " ms");
  BOOST_CHECK(ms >= 0 && ms <= 2000);
  // PostgreSQL hears of it right after the directory.
  BOOST_CHECK(eventually(
    [&] { return recorded(sbs[0].first).second == "node_lost"; }, 5s));
  // The data plane answers 502 for it; the other nodes' sandboxes work and
  // creates keep succeeding on the survivors.
  std::vector<std::pair<std::string, std::string>> h{
    {"E2b-Sandbox-Id", sbs[0].first}, {"X-Access-Token", sbs[0].second}};
  BOOST_CHECK_EQUAL(test::http_request(c->gateway_port(0), "GET",
                                       "/files?path=/etc/hostname", "", h, 10s)
                      .status,
                    502u);
  for (auto& sb : sbs)
    if (recorded(sb.first).first != victim)
      BOOST_CHECK(files_work(0, sb, "still here"));
  for (size_t i = 0; i < 4; ++i)
    BOOST_CHECK_NE(recorded(create(i % 2).first).first, victim);
  // It comes back under the same name.
  c->start_node(victim);
  BOOST_CHECK(eventually([&] { return c->control_said("node " + victim + " joined", 2); },
                         60s));
  c->kill_all();
}

BOOST_FIXTURE_TEST_CASE(a_hung_node_is_detected_within_10s, cluster) {
  std::vector<std::pair<std::string, std::string>> sbs;
  for (size_t i = 0; i < 6; ++i)
    sbs.push_back(create(i % 2));
  auto victim = recorded(sbs[0].first).first;
  c->nodes[victim]->signal(SIGSTOP);
  // Creates go on meanwhile, none hanging.
  std::atomic<bool> stop{false};
  std::atomic<int> ok{0}, failed{0};
  std::thread load{[&] {
    for (int i = 0; i < 20 && !stop; ++i) {
      auto r = api(i % 2, "POST", "/v2/sandboxes",
                   R"({"templateID":"base","timeout":60})");
      (r.status == 201 ? ok : failed)++;
    }
  }};
  auto ms = time_until(
    [&] {
      return api(0, "GET", "/sandboxes/" + sbs[0].first).status == 404;
    },
    15s);
  stop = true;
  load.join();
  BOOST_TEST_MESSAGE("hung node " << victim << " detected after " << ms
                                  << " ms; creates meanwhile: " << ok
                                  << " ok, " << failed << " failed");
  BOOST_CHECK(ms >= 0 && ms <= 10000);
  BOOST_CHECK_EQUAL(failed.load(), 0);
  // PostgreSQL hears of it right after the directory.
  BOOST_CHECK(eventually(
    [&] { return recorded(sbs[0].first).second == "node_lost"; }, 5s));
  // Woken up, it joins again and kills what the cluster ended meanwhile.
  c->nodes[victim]->signal(SIGCONT);
  BOOST_CHECK(eventually([&] { return c->control_said("had ended meanwhile"); },
                         20s));
  c->kill_all();
}

BOOST_FIXTURE_TEST_CASE(a_restarted_control_loses_nothing, cluster) {
  auto k = c->team("restart", R"({"max_sandboxes": 4})");
  // One per node (placement spreads them), the hung node of the test
  // before included: its gateways must have connected to it again, or its
  // data would pass through the control and stop with it.
  std::vector<std::pair<std::string, std::string>> sbs;
  for (size_t i = 0; i < 3; ++i)
    sbs.push_back(create(i % 2, k));
  auto reachable = [&](const std::string& what) {
    for (auto& sb : sbs)
      for (size_t g = 0; g < 2; ++g)
        if (!files_work(g, sb, what))
          return false;
    return true;
  };
  // A connection made to the hung node while it woke up may be dead on
  // arrival; the gateway finds out within a connection timeout (4 s) and
  // connects again.
  BOOST_CHECK(eventually(
    [&] {
      return connected_directly(0) && connected_directly(1)
             && reachable("before the restart");
    },
    30s));
  c->control->signal(SIGKILL);
  BOOST_REQUIRE(c->control->wait_for(10s));
  c->start_control();
  // Nodes join again with what they run; the sandboxes stay reachable.
  BOOST_REQUIRE(eventually([&] { return c->control_said(" joined (", 3); }, 30s));
  BOOST_CHECK(eventually(
    [&] {
      return api(0, "GET", "/sandboxes/" + sbs[0].first, "", k).status
             == 200;
    },
    30s));
  for (auto& sb : sbs)
    BOOST_CHECK_EQUAL(recorded(sb.first).second, "");
  if (!eventually([&] { return reachable("after the restart"); }, 30s)) {
    BOOST_ERROR("a sandbox is out of reach through a gateway after the "
                "restart");
    for (size_t g = 0; g < 2; ++g)
      std::cerr << "gateway " << g << ":\n"
                << test::local_cluster::logs(*c->gateways[g]);
  }
  // Counted once: one more fits, the next does not.
  BOOST_CHECK_EQUAL(api(1, "POST", "/v2/sandboxes",
                        R"({"templateID":"base","timeout":60})", k)
                      .status,
                    201u);
  BOOST_CHECK_EQUAL(api(0, "POST", "/v2/sandboxes",
                        R"({"templateID":"base","timeout":60})", k)
                      .status,
                    429u);
  c->kill_all();
}

BOOST_FIXTURE_TEST_CASE(strangers_and_impostors_are_refused, cluster) {
  auto bad = c->dir() + "/bad-secret";
  std::ofstream{bad} << "not the secret\n";
  c->start_node("n9", bad);
  BOOST_CHECK_EQUAL(c->nodes["n9"]->exit_code(30s), 1);
  BOOST_CHECK(c->control_said("refused node 'n9'"));
  BOOST_CHECK(c->control_said("wrong cluster secret"));
  // A second n1 is refused while n1 lives; the cluster keeps working.
  c->start_node("n1", "", "impostor");
  BOOST_CHECK(eventually([&] { return c->control_said("is taken by"); }, 30s));
  c->nodes["impostor"]->signal(SIGTERM);
  c->nodes["impostor"]->exit_code(20s);
  auto sb = create(0);
  BOOST_CHECK(files_work(1, sb, "fine"));
  c->kill_all();
}

BOOST_AUTO_TEST_SUITE_END()

// A real cluster on loopback: one control, three nodes and two gateways as
// separate processes. Placement spreads, quota stays exact under concurrent
// creates through both gateways, a killed or hung node is detected and its
// sandboxes end while the others keep working, and a restarted control
// loses nothing.

#include "runtime/auth/api_key.hpp"
#include "runtime/embedded/process.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/sandboxes.hpp"
#include "tests/support/services.hpp"
#include "tests/support/subprocess.hpp"

#include <boost/test/unit_test.hpp>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include <atomic>
#include <csignal>
#include <fstream>
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
  static inline std::unique_ptr<test::temp_dir> dir;
  static inline std::unique_ptr<test::subprocess> control;
  static inline std::map<std::string, std::unique_ptr<test::subprocess>> nodes;
  static inline std::vector<std::unique_ptr<test::subprocess>> gateways;
  static inline std::vector<uint16_t> ports;
  static inline uint16_t cluster_port = 0;
  static inline std::string db_url;
  static inline std::string key;

  static std::string logs(const test::subprocess& p) {
    return p.out() + p.err();
  }

  static void start_control() {
    auto& svc = test::services::get();
    control = std::make_unique<test::subprocess>(std::vector<std::string>{
      test::sandhive_binary(), "control", "--data-dir", dir->path() + "/control",
      "--cluster-listen", "127.0.0.1:" + std::to_string(cluster_port),
      "--postgres-url", db_url, "--redis-url", svc.redis().url()});
  }

  static std::string secret_file() {
    return dir->path() + "/control/cluster-secret";
  }

  /// Starts node `name`, kept under `slot` (default: its name).
  static void start_node(const std::string& name,
                         const std::string& secret = "",
                         const std::string& slot = "") {
    auto key = slot.empty() ? name : slot;
    nodes[key] = std::make_unique<test::subprocess>(std::vector<std::string>{
      test::sandhive_binary(), "node", "--data-dir",
      dir->path() + "/" + key, "--join",
      "127.0.0.1:" + std::to_string(cluster_port), "--name", name,
      "--cluster-secret-file", secret.empty() ? secret_file() : secret,
      "--pool-size", "1", "--capacity-vcpu", "64"});
  }

  /// Whether the control's log says `what` at least `times` times.
  static bool control_said(const std::string& what, size_t times = 1) {
    auto text = logs(*control);
    size_t n = 0;
    for (auto pos = text.find(what); pos != std::string::npos;
         pos = text.find(what, pos + 1))
      ++n;
    return n >= times;
  }

  cluster() {
    if (control)
      return;
    dir = std::make_unique<test::temp_dir>();
    cluster_port = embedded::pick_free_port();
    db_url = test::fresh_database("cluster_" + std::to_string(::getpid()));
    start_control();
    BOOST_REQUIRE_MESSAGE(eventually(
                            [&] {
                              return std::ifstream{secret_file()}.good()
                                     && control_said("control 0.1.0 is up");
                            },
                            60s),
                          logs(*control));
    std::ifstream in{dir->path() + "/control/api-key"};
    std::getline(in, key);
    for (auto n : {"n1", "n2", "n3"})
      start_node(n);
    for (int i = 0; i < 2; ++i) {
      ports.push_back(embedded::pick_free_port());
      gateways.push_back(std::make_unique<test::subprocess>(
        std::vector<std::string>{
          test::sandhive_binary(), "gateway", "--join",
          "127.0.0.1:" + std::to_string(cluster_port), "--listen",
          "127.0.0.1:" + std::to_string(ports.back()), "--name",
          "g" + std::to_string(i + 1), "--cluster-secret-file",
          secret_file()}));
    }
    BOOST_REQUIRE_MESSAGE(eventually(
                            [&] {
                              return control_said("node n1 joined")
                                     && control_said("node n2 joined")
                                     && control_said("node n3 joined");
                            },
                            90s),
                          logs(*control));
    for (auto p : ports)
      BOOST_REQUIRE(eventually(
        [&] { return api(p, "GET", "/templates").status == 200; }, 30s));
  }

  static test::http_reply api(uint16_t port, const std::string& method,
                              const std::string& target,
                              const std::string& body = "",
                              const std::string& k = "") {
    return test::http_request(port, method, target, body,
                              {{"X-API-KEY", k.empty() ? key : k},
                               {"Content-Type", "application/json"}},
                              30s);
  }

  /// Creates a sandbox through gateway `g`: (id, access token).
  static std::pair<std::string, std::string> create(size_t g,
                                                    const std::string& k = "") {
    auto r = api(ports[g], "POST", "/v2/sandboxes",
                 R"({"templateID":"base","timeout":300})", k);
    BOOST_REQUIRE_MESSAGE(r.status == 201, r.status << " " << r.body);
    auto j = json::parse(r.body);
    return {j["sandboxID"], j["envdAccessToken"]};
  }

  /// The node PostgreSQL records for a sandbox, and whether it ended.
  static std::pair<std::string, std::string> recorded(const std::string& id) {
    pqxx::connection c{db_url};
    pqxx::nontransaction tx{c};
    auto rows = tx.exec_params("SELECT node, COALESCE(end_reason, '') FROM "
                               "sandboxes WHERE id = $1",
                               id);
    if (rows.empty())
      return {"", ""};
    return {rows[0][0].as<std::string>(), rows[0][1].as<std::string>()};
  }

  /// Live sandboxes per node, from PostgreSQL.
  static std::map<std::string, int> live_per_node() {
    pqxx::connection c{db_url};
    pqxx::nontransaction tx{c};
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
    auto w = test::http_request(ports[g], "POST",
                                "/files?path=/tmp/probe&username=user",
                                content, h, 10s);
    if (w.status != 200)
      return false;
    auto r = test::http_request(ports[g], "GET",
                                "/files?path=/tmp/probe&username=user", "", h,
                                10s);
    return r.status == 200 && r.body == content;
  }

  static void kill_all(size_t g) {
    auto r = api(ports[g], "GET", "/v2/sandboxes");
    for (auto& x : json::parse(r.body))
      api(ports[g], "DELETE",
          "/sandboxes/" + x["sandboxID"].get<std::string>());
  }

  /// A team of its own with these limit overrides; returns its key.
  static std::string team(const std::string& slug, const std::string& limits) {
    auto k = auth::generate_api_key();
    pqxx::connection c{db_url};
    pqxx::work tx{c};
    auto id = tx.exec_params1("INSERT INTO teams (slug, name, limits) VALUES "
                              "($1, $1, $2::jsonb) RETURNING id",
                              slug, limits)[0]
                .as<std::string>();
    tx.exec_params("INSERT INTO api_keys (team_id, name, key_hash, "
                   "key_prefix) VALUES ($1, 'k', $2, $3)",
                   id, k.hash, k.prefix);
    tx.commit();
    return k.secret;
  }
};

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
  auto r = api(ports[1], "GET", "/sandboxes/" + sbs[0].first);
  BOOST_CHECK_EQUAL(r.status, 200u);
  kill_all(0);
  BOOST_CHECK(eventually([&] { return live_per_node().empty(); }, 10s));
}

BOOST_FIXTURE_TEST_CASE(quota_is_exact_under_concurrent_creates, cluster) {
  auto k = team("quota", R"({"max_sandboxes": 4})");
  std::atomic<int> created{0}, refused{0}, other{0};
  std::atomic<bool> retry_after{true};
  std::vector<std::thread> threads;
  for (int t = 0; t < 12; ++t)
    threads.emplace_back([&, t] {
      auto r = api(ports[t % 2], "POST", "/v2/sandboxes",
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
  auto list = json::parse(api(ports[0], "GET", "/v2/sandboxes", "", k).body);
  BOOST_REQUIRE_EQUAL(list.size(), 4u);
  BOOST_CHECK_EQUAL(
    api(ports[1], "DELETE",
        "/sandboxes/" + list[0]["sandboxID"].get<std::string>(), "", k)
      .status,
    204u);
  BOOST_CHECK(eventually(
    [&] {
      return api(ports[1], "POST", "/v2/sandboxes",
                 R"({"templateID":"base","timeout":300})", k)
               .status
             == 201;
    },
    5s));
  BOOST_CHECK_EQUAL(api(ports[0], "POST", "/v2/sandboxes",
                        R"({"templateID":"base","timeout":300})", k)
                      .status,
                    429u);
  kill_all(0);
}

BOOST_FIXTURE_TEST_CASE(a_killed_node_is_detected_within_2s, cluster) {
  std::vector<std::pair<std::string, std::string>> sbs;
  for (size_t i = 0; i < 6; ++i)
    sbs.push_back(create(i % 2));
  auto victim = recorded(sbs[0].first).first;
  BOOST_REQUIRE(!victim.empty());
  nodes[victim]->signal(SIGKILL);
  auto ms = time_until(
    [&] {
      return api(ports[1], "GET", "/sandboxes/" + sbs[0].first).status == 404;
    },
    10s);
  BOOST_TEST_MESSAGE("killed node " << victim << " detected after " << ms
                                    << " ms");
  BOOST_CHECK(ms >= 0 && ms <= 2000);
  BOOST_CHECK_EQUAL(recorded(sbs[0].first).second, "node_lost");
  // The data plane answers 502 for it; the other nodes' sandboxes work and
  // creates keep succeeding on the survivors.
  std::vector<std::pair<std::string, std::string>> h{
    {"E2b-Sandbox-Id", sbs[0].first}, {"X-Access-Token", sbs[0].second}};
  BOOST_CHECK_EQUAL(test::http_request(ports[0], "GET",
                                       "/files?path=/etc/hostname", "", h, 10s)
                      .status,
                    502u);
  for (auto& sb : sbs)
    if (recorded(sb.first).first != victim)
      BOOST_CHECK(files_work(0, sb, "still here"));
  for (size_t i = 0; i < 4; ++i)
    BOOST_CHECK_NE(recorded(create(i % 2).first).first, victim);
  // It comes back under the same name.
  start_node(victim);
  BOOST_CHECK(eventually([&] { return control_said("node " + victim + " joined", 2); },
                         60s));
  kill_all(0);
}

BOOST_FIXTURE_TEST_CASE(a_hung_node_is_detected_within_10s, cluster) {
  std::vector<std::pair<std::string, std::string>> sbs;
  for (size_t i = 0; i < 6; ++i)
    sbs.push_back(create(i % 2));
  auto victim = recorded(sbs[0].first).first;
  nodes[victim]->signal(SIGSTOP);
  // Creates go on meanwhile, none hanging.
  std::atomic<bool> stop{false};
  std::atomic<int> ok{0}, failed{0};
  std::thread load{[&] {
    for (int i = 0; i < 20 && !stop; ++i) {
      auto r = api(ports[i % 2], "POST", "/v2/sandboxes",
                   R"({"templateID":"base","timeout":60})");
      (r.status == 201 ? ok : failed)++;
    }
  }};
  auto ms = time_until(
    [&] {
      return api(ports[0], "GET", "/sandboxes/" + sbs[0].first).status == 404;
    },
    15s);
  stop = true;
  load.join();
  BOOST_TEST_MESSAGE("hung node " << victim << " detected after " << ms
                                  << " ms; creates meanwhile: " << ok
                                  << " ok, " << failed << " failed");
  BOOST_CHECK(ms >= 0 && ms <= 10000);
  BOOST_CHECK_EQUAL(failed.load(), 0);
  BOOST_CHECK_EQUAL(recorded(sbs[0].first).second, "node_lost");
  // Woken up, it joins again and kills what the cluster ended meanwhile.
  nodes[victim]->signal(SIGCONT);
  BOOST_CHECK(eventually([&] { return control_said("had ended meanwhile"); },
                         20s));
  kill_all(0);
}

BOOST_FIXTURE_TEST_CASE(a_restarted_control_loses_nothing, cluster) {
  auto k = team("restart", R"({"max_sandboxes": 3})");
  auto a = create(0, k);
  auto b = create(1, k);
  control->signal(SIGKILL);
  BOOST_REQUIRE(control->wait_for(10s));
  start_control();
  // Nodes join again with what they run; the sandboxes stay reachable.
  BOOST_REQUIRE(eventually([&] { return control_said(" joined (", 3); }, 30s));
  BOOST_CHECK(eventually(
    [&] {
      return api(ports[0], "GET", "/sandboxes/" + a.first, "", k).status
             == 200;
    },
    30s));
  BOOST_CHECK(files_work(1, b, "after the restart"));
  BOOST_CHECK_EQUAL(recorded(a.first).second, "");
  // Counted once: one more fits, the next does not.
  BOOST_CHECK_EQUAL(api(ports[1], "POST", "/v2/sandboxes",
                        R"({"templateID":"base","timeout":60})", k)
                      .status,
                    201u);
  BOOST_CHECK_EQUAL(api(ports[0], "POST", "/v2/sandboxes",
                        R"({"templateID":"base","timeout":60})", k)
                      .status,
                    429u);
  kill_all(0);
}

BOOST_FIXTURE_TEST_CASE(strangers_and_impostors_are_refused, cluster) {
  auto bad = dir->path() + "/bad-secret";
  std::ofstream{bad} << "not the secret\n";
  start_node("n9", bad);
  BOOST_CHECK_EQUAL(nodes["n9"]->exit_code(30s), 1);
  BOOST_CHECK(control_said("refused node 'n9'"));
  BOOST_CHECK(control_said("wrong cluster secret"));
  // A second n1 is refused while n1 lives; the cluster keeps working.
  start_node("n1", "", "impostor");
  BOOST_CHECK(eventually([&] { return control_said("is taken by"); }, 30s));
  nodes["impostor"]->signal(SIGTERM);
  nodes["impostor"]->exit_code(20s);
  auto sb = create(0);
  BOOST_CHECK(files_work(1, sb, "fine"));
  kill_all(0);
}

BOOST_AUTO_TEST_SUITE_END()

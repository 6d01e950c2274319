// The operators' shell against a real 2-node cluster (control, two nodes,
// a gateway, each a process): every command through -c, as text and
// --json; the interactive shell through a pseudo-terminal; refusals;
// bad input; a drain observed end to end; the audit log; the dashboard's
// metrics; and a control that goes away under a running shell.

#include "tests/support/local_cluster.hpp"
#include "tests/support/sandboxes.hpp"

#include <boost/test/unit_test.hpp>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include <csignal>
#include <cstring>
#include <fstream>
#include <regex>
#include <set>
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
    opts.name = "admin";
    opts.nodes = {"n1", "n2"};
    opts.gateways = 1;
    opts.metrics = true;
    test::start_once(c, opts);
  }

  /// Runs a command with --json and parses what it printed.
  static json run(const std::string& cmd) {
    auto r = c->admin(cmd, true);
    BOOST_REQUIRE_MESSAGE(r.code == 0, cmd << ": exit " << r.code << "\n"
                                           << r.out << r.err);
    auto j = json::parse(r.out, nullptr, false);
    BOOST_REQUIRE_MESSAGE(!j.is_discarded(), cmd << ": not JSON: " << r.out);
    return j;
  }

  static json node(const std::string& name) {
    for (auto& n : run("nodes"))
      if (n["name"] == name)
        return n;
    return {};
  }

  /// The audit log's lines by this operator: (action, target).
  static std::vector<std::pair<std::string, std::string>> audit() {
    pqxx::connection conn{c->database_url()};
    pqxx::nontransaction tx{conn};
    std::vector<std::pair<std::string, std::string>> out;
    for (auto row : tx.exec("SELECT action, COALESCE(target, '') FROM "
                            "audit_log WHERE actor_kind = 'operator' AND "
                            "actor_id = 'ops-test' ORDER BY id"))
      out.emplace_back(row[0].as<std::string>(), row[1].as<std::string>());
    return out;
  }

  static bool audited(const std::string& action, const std::string& target) {
    auto lines = audit();
    return std::find(lines.begin(), lines.end(),
                     std::make_pair(action, target))
           != lines.end();
  }

  /// Names of the metric families one /metrics page exports.
  static std::set<std::string> families(uint16_t port) {
    std::set<std::string> out;
    auto r = test::http_get(port, "/metrics");
    std::istringstream in{r.body};
    for (std::string line; std::getline(in, line);)
      if (line.rfind("# TYPE ", 0) == 0)
        out.insert(line.substr(7, line.find(' ', 7) - 7));
    return out;
  }
};

} // namespace

BOOST_AUTO_TEST_SUITE(admin, *boost::unit_test::precondition(
                               test::sandboxes_supported))

BOOST_FIXTURE_TEST_CASE(every_command_works_with_json, fixture) {
  auto nodes = run("nodes");
  BOOST_REQUIRE_EQUAL(nodes.size(), 2u);
  for (auto& n : nodes) {
    BOOST_CHECK_EQUAL(n["state"], "ready");
    BOOST_CHECK_GT(n["vcpu_capacity"].get<unsigned>(), 0u);
    BOOST_CHECK_GE(n["heartbeat_age_ms"].get<int64_t>(), 0);
  }
  auto a = c->create(0);
  auto b = c->create(0);
  BOOST_REQUIRE(!a.first.empty() && !b.first.empty());
  auto list = run("sandboxes");
  BOOST_CHECK_EQUAL(list.size(), 2u);
  BOOST_CHECK_EQUAL(list[0]["team"], "default");
  BOOST_CHECK_EQUAL(run("sandboxes --team default --state running").size(), 2u);
  BOOST_CHECK_EQUAL(run("sandboxes --state paused").size(), 0u);
  auto one = run("sandbox " + a.first);
  BOOST_CHECK_EQUAL(one["id"], a.first);
  BOOST_CHECK(one["processes"].is_array());
  BOOST_CHECK_GT(one["stats"]["memory_limit"].get<uint64_t>(), 0u);
  auto on = one["node"].get<std::string>();
  BOOST_CHECK_EQUAL(run("sandboxes --node " + on).size() >= 1, true);
  // Teams, limits and usage.
  auto teams = run("teams");
  BOOST_REQUIRE_EQUAL(teams.size(), 1u);
  BOOST_CHECK_EQUAL(teams[0]["slug"], "default");
  BOOST_CHECK_EQUAL(teams[0]["sandboxes"], 2);
  auto team = run("team default");
  BOOST_CHECK_EQUAL(team["running"]["sandboxes"], 2);
  BOOST_CHECK_GE(team["this_month"]["sandboxes"].get<unsigned>(), 2u);
  auto changed = run("quota set default max_sandboxes=3 plan=pro");
  BOOST_CHECK_EQUAL(changed["plan"], "pro");
  BOOST_CHECK_EQUAL(changed["limits"]["max_sandboxes"], 3);
  // The new limit holds at once: a third fits, a fourth does not.
  BOOST_CHECK(!c->create(0).first.empty());
  BOOST_CHECK_EQUAL(c->api(0, "POST", "/v2/sandboxes",
                           R"({"templateID":"base","timeout":60})")
                      .status,
                    429u);
  auto back = run("quota set default max_sandboxes=default plan=free");
  BOOST_CHECK_EQUAL(back["limits"]["max_sandboxes"], 20);
  BOOST_CHECK(back["overrides"].empty());
  // Credit, in exact micro-units, as text too.
  BOOST_CHECK_EQUAL(run("credit default 12.5 welcome")["balance_micros"],
                    12'500'000);
  auto text = c->admin("credit default 0.000001");
  BOOST_CHECK_EQUAL(text.code, 0);
  BOOST_CHECK_MESSAGE(text.out.find("12.500001") != std::string::npos,
                      text.out);
  BOOST_CHECK_EQUAL(run("team default")["balance_micros"], 12'500'001);
  BOOST_CHECK_EQUAL(c->admin("credit default -3").code, 2);
  // Pools.
  auto set = run("pool set base 2 --node n1");
  BOOST_REQUIRE_EQUAL(set.size(), 1u);
  BOOST_CHECK_EQUAL(set[0]["target"], 2);
  BOOST_CHECK(eventually(
    [&] {
      for (auto& p : run("pools"))
        if (p["node"] == "n1" && p["template"] == "base")
          return p["target"] == 2 && p["ready"] == 2;
      return false;
    },
    30s));
  BOOST_CHECK_EQUAL(run("pool set base 1").size(), 2u);
  // Cordon and uncordon.
  BOOST_CHECK_EQUAL(run("node cordon n2")["state"], "cordoned");
  BOOST_CHECK_EQUAL(node("n2")["state"], "cordoned");
  BOOST_CHECK_EQUAL(run("node uncordon n2")["state"], "ready");
  // Log levels change in every process: control, 2 nodes, the gateway.
  auto lv = run("log-level scheduler debug");
  BOOST_CHECK_EQUAL(lv["processes"], 4);
  run("log-level scheduler info");
  // top, one frame.
  auto top = run("top --count 1");
  BOOST_CHECK_EQUAL(top["nodes"]["ready"], 2);
  BOOST_CHECK_GE(top["creates_total"].get<unsigned>(), 3u);
  BOOST_CHECK_EQUAL(top["sandboxes"]["running"], 3);
  // kill.
  BOOST_CHECK_EQUAL(run("kill " + a.first)["killed"], a.first);
  BOOST_CHECK(eventually([&] { return run("sandboxes").size() == 2; }, 10s));
  // Every change is in the audit log, as this operator.
  for (auto [action, target] :
       std::vector<std::pair<std::string, std::string>>{
         {"team.quota", "default"},
         {"team.credit", "default"},
         {"pool.set", "base"},
         {"node.cordon", "n2"},
         {"node.uncordon", "n2"},
         {"log.level", "scheduler"},
         {"sandbox.kill", a.first}})
    BOOST_CHECK_MESSAGE(audited(action, target), action << " " << target);
  c->kill_all();
}

BOOST_FIXTURE_TEST_CASE(text_output_is_tables, fixture) {
  auto r = c->admin("nodes");
  BOOST_CHECK_EQUAL(r.code, 0);
  BOOST_CHECK(r.out.find("NAME") != std::string::npos);
  BOOST_CHECK(r.out.find("n1") != std::string::npos);
  BOOST_CHECK(r.out.find("n2") != std::string::npos);
  r = c->admin("help");
  BOOST_CHECK_EQUAL(r.code, 0);
  BOOST_CHECK(r.out.find("node drain NAME") != std::string::npos);
  r = c->admin("help quota set");
  BOOST_CHECK(r.out.find("max_lifetime_s") != std::string::npos);
}

BOOST_FIXTURE_TEST_CASE(events_follow_lifecycle_changes, fixture) {
  auto args = c->admin_args("ops-test");
  args.insert(args.end(), {"-c", "events --count 3", "--json"});
  test::subprocess follower{args};
  // Subscribed once it says so; then a sandbox's life.
  BOOST_REQUIRE(eventually(
    [&] { return follower.err().find("following") != std::string::npos; },
    20s));
  auto sb = c->create(0);
  BOOST_REQUIRE(!sb.first.empty());
  BOOST_CHECK_EQUAL(
    c->api(0, "POST", "/sandboxes/" + sb.first + "/pause").status, 204u);
  BOOST_CHECK_EQUAL(c->api(0, "DELETE", "/sandboxes/" + sb.first).status,
                    204u);
  BOOST_REQUIRE_EQUAL(follower.exit_code(20s), 0);
  std::vector<std::string> states;
  std::istringstream in{follower.out()};
  for (std::string line; std::getline(in, line);) {
    auto e = json::parse(line);
    BOOST_CHECK_EQUAL(e["id"], sb.first);
    BOOST_CHECK_EQUAL(e["team"], "default");
    states.push_back(e["state"]);
  }
  BOOST_CHECK((states == std::vector<std::string>{"running", "paused",
                                                   "killed"}));
}

BOOST_FIXTURE_TEST_CASE(bad_input_is_refused_clearly, fixture) {
  auto r = c->admin("nods");
  BOOST_CHECK_EQUAL(r.code, 2);
  BOOST_CHECK(r.err.find("did you mean 'nodes'") != std::string::npos);
  r = c->admin("node drian n1");
  BOOST_CHECK_EQUAL(r.code, 2);
  BOOST_CHECK(r.err.find("did you mean 'node drain'") != std::string::npos);
  r = c->admin("pool set base many");
  BOOST_CHECK_EQUAL(r.code, 2);
  BOOST_CHECK(r.err.find("SIZE must be a whole number") != std::string::npos);
  r = c->admin("node drain n1 --deadline soon");
  BOOST_CHECK_EQUAL(r.code, 2);
  r = c->admin("quota set default max_cpus=3");
  BOOST_CHECK_EQUAL(r.code, 2);
  BOOST_CHECK(r.err.find("unknown limit 'max_cpus'") != std::string::npos);
  r = c->admin("kill");
  BOOST_CHECK_EQUAL(r.code, 2);
  BOOST_CHECK(r.err.find("missing ID") != std::string::npos);
  r = c->admin("nodes extra");
  BOOST_CHECK_EQUAL(r.code, 2);
  r = c->admin("log-level scheduler loud");
  BOOST_CHECK_EQUAL(r.code, 2);
  // Unknown ids: the command fails (1), the cluster keeps running.
  r = c->admin("sandbox nosuchsandbox");
  BOOST_CHECK_EQUAL(r.code, 1);
  BOOST_CHECK(r.err.find("not found") != std::string::npos);
  BOOST_CHECK_EQUAL(c->admin("kill nosuchsandbox").code, 1);
  BOOST_CHECK_EQUAL(c->admin("team nosuchteam").code, 1);
  BOOST_CHECK_EQUAL(c->admin("node cordon nosuchnode").code, 1);
  BOOST_CHECK_EQUAL(c->admin("pool set base 1 --node nosuchnode").code, 1);
  BOOST_CHECK_EQUAL(c->admin("quota set nosuchteam max_vcpu=2").code, 1);
  BOOST_CHECK_EQUAL(c->admin("nodes").code, 0);
}

BOOST_FIXTURE_TEST_CASE(strangers_are_refused, fixture) {
  auto bad = c->dir() + "/bad-token";
  std::ofstream{bad} << "not the token\n";
  auto r = c->admin("nodes", false, "intruder", {"--admin-token-file", bad});
  BOOST_CHECK_EQUAL(r.code, 3);
  BOOST_CHECK(r.err.find("wrong admin token") != std::string::npos);
  BOOST_CHECK(c->control_said("refused admin 'intruder'"));
  r = c->admin("nodes", false, "intruder2", {"--cluster-secret-file", bad});
  BOOST_CHECK_EQUAL(r.code, 3);
  BOOST_CHECK(r.err.find("wrong cluster secret") != std::string::npos);
  // Nothing reachable at all: exit 3, at once.
  auto args = std::vector<std::string>{
    test::sandhive_binary(), "admin", "--connect", "127.0.0.1:1",
    "--cluster-secret-file", c->secret_file(), "--admin-token-file",
    c->admin_token_file(), "-c", "nodes"};
  test::subprocess p{args};
  BOOST_CHECK_EQUAL(p.exit_code(30s), 3);
  BOOST_CHECK(p.err().find("cannot reach the control") != std::string::npos);
}

BOOST_FIXTURE_TEST_CASE(a_drain_ends_with_the_node_empty, fixture) {
  // Everything lands on n2 while n1 is cordoned.
  run("node cordon n1");
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) {
    auto sb = c->create(0);
    BOOST_REQUIRE(!sb.first.empty());
    ids.push_back(sb.first);
  }
  run("node uncordon n1");
  for (auto& x : run("sandboxes"))
    BOOST_CHECK_EQUAL(x["node"], "n2");
  auto d = run("node drain n2 --deadline 3");
  BOOST_CHECK_EQUAL(d["state"], "draining");
  BOOST_CHECK_EQUAL(node("n2")["state"], "draining");
  // Nothing new goes to a draining node.
  for (int i = 0; i < 2; ++i) {
    auto sb = c->create(0);
    BOOST_REQUIRE(!sb.first.empty());
    BOOST_CHECK_EQUAL(run("sandbox " + sb.first)["node"], "n1");
  }
  // At the deadline, what ran there is killed, with the reason recorded.
  BOOST_CHECK(eventually(
    [&] { return run("sandboxes --node n2").empty(); }, 15s));
  pqxx::connection conn{c->database_url()};
  pqxx::nontransaction tx{conn};
  for (auto& id : ids)
    BOOST_CHECK_EQUAL(tx.exec_params1("SELECT end_reason FROM sandboxes "
                                      "WHERE id = $1",
                                      id)[0]
                        .as<std::string>(),
                      "node drained");
  BOOST_CHECK(audited("node.drain", "n2"));
  BOOST_CHECK_EQUAL(run("node uncordon n2")["state"], "ready");
  c->kill_all();
}

BOOST_FIXTURE_TEST_CASE(the_interactive_shell_edits_completes_and_quits,
                        fixture) {
  test::terminal_process t{c->admin_args("ops-test")};
  BOOST_REQUIRE_MESSAGE(t.wait_for_text("sandhive> ", 30s), t.output());
  BOOST_CHECK(t.output().find("connected to") != std::string::npos);
  // Completion of a command and of a node name.
  t.clear();
  t.type("node dr\t");
  BOOST_CHECK_MESSAGE(t.wait_for_text("ain "), t.output());
  // Two nodes match: a second TAB lists them.
  t.type("n\t\t");
  BOOST_CHECK_MESSAGE(t.wait_for_text("n1") && t.wait_for_text("n2"),
                      t.output());
  t.type("\x15"); // Ctrl-U: drop the line
  t.clear();
  t.type("nodes\r");
  BOOST_CHECK_MESSAGE(t.wait_for_text("HEARTBEAT"), t.output());
  BOOST_CHECK(t.wait_for_text("sandhive> "));
  // A typo is answered, and the shell goes on.
  t.clear();
  t.type("tems\r");
  BOOST_CHECK_MESSAGE(t.wait_for_text("did you mean 'teams'"), t.output());
  // History: up-arrow brings back the last line.
  t.clear();
  t.type("\x1b[A");
  BOOST_CHECK_MESSAGE(t.wait_for_text("tems"), t.output());
  t.type("\x15");
  // top refreshes until q.
  t.clear();
  t.type("top\r");
  BOOST_CHECK_MESSAGE(t.wait_for_text("creates/s"), t.output());
  t.clear();
  BOOST_CHECK_MESSAGE(t.wait_for_text("creates/s", 5s), "no second frame");
  t.type("q");
  BOOST_CHECK_MESSAGE(t.wait_for_text("sandhive> "), t.output());
  t.type("quit\r");
  BOOST_CHECK_EQUAL(t.exit_code(10s), 0);
}

BOOST_FIXTURE_TEST_CASE(the_dashboard_names_only_metrics_that_exist,
                        fixture) {
  // Traffic first, so that every labelled series has a sample: a sandbox
  // that lives until the control's samplers (every 0.5–1 s) have seen it.
  auto sb = c->create(0);
  BOOST_REQUIRE(!sb.first.empty());
  BOOST_CHECK(eventually(
    [&] {
      auto f = families(c->metrics_ports().at("control"));
      return f.count("sandhive_sandboxes") && f.count("sandhive_node_up");
    },
    10s));
  c->api(0, "DELETE", "/sandboxes/" + sb.first);
  std::set<std::string> exported;
  for (auto& [who, port] : c->metrics_ports())
    for (auto& f : families(port))
      exported.insert(f);
  for (auto& f : families(c->gateway_port(0)))
    exported.insert(f);
  std::ifstream in{SBX_SOURCE_DIR "/deploy/grafana/sandhive.json"};
  BOOST_REQUIRE(in);
  auto dash = json::parse(in);
  std::regex name{"\\b(sandhive_[a-z_]+|process_[a-z_]+)"};
  size_t checked = 0;
  for (auto& panel : dash["panels"]) {
    if (!panel.contains("targets"))
      continue;
    for (auto& t : panel["targets"]) {
      auto expr = t["expr"].get<std::string>();
      for (std::sregex_iterator i{expr.begin(), expr.end(), name}, end;
           i != end; ++i) {
        auto m = (*i)[1].str();
        // A histogram's series are its family name plus a suffix.
        for (auto suffix : {"_bucket", "_count", "_sum"})
          if (m.size() > strlen(suffix)
              && m.compare(m.size() - strlen(suffix), std::string::npos,
                           suffix)
                   == 0)
            m.resize(m.size() - strlen(suffix));
        ++checked;
        BOOST_CHECK_MESSAGE(exported.count(m),
                            "panel '" << panel["title"].get<std::string>()
                                      << "' uses " << m
                                      << ", which no process exports");
      }
    }
  }
  BOOST_CHECK_GE(checked, 20u);
  // Every process answers /metrics on its own port, and /ready.
  for (auto& [who, port] : c->metrics_ports())
    BOOST_CHECK_MESSAGE(test::http_get(port, "/ready").status == 200, who);
}

// Last: it kills and restarts the control under a running shell.
BOOST_FIXTURE_TEST_CASE(a_control_that_goes_away_does_not_stop_the_shell,
                        fixture) {
  test::terminal_process t{c->admin_args("ops-test")};
  BOOST_REQUIRE_MESSAGE(t.wait_for_text("sandhive> ", 30s), t.output());
  auto restart = [&] {
    c->control->signal(SIGKILL);
    BOOST_REQUIRE(c->control->wait_for(10s));
  };
  auto nodes_work = [&] {
    return eventually(
      [&] {
        t.clear();
        t.type("nodes\r");
        return t.wait_for_text("HEARTBEAT", 5s) && t.wait_for_text("n2", 1s);
      },
      60s);
  };
  // Following events: the loss is reported, and following resumes by
  // itself once the control is back.
  t.clear();
  t.type("events\r");
  BOOST_REQUIRE_MESSAGE(t.wait_for_text("following"), t.output());
  restart();
  BOOST_CHECK_MESSAGE(t.wait_for_text("lost the control", 10s), t.output());
  // Meanwhile a gateway's /ready says it is not in the cluster.
  BOOST_CHECK(eventually(
    [&] {
      auto r = test::http_get(c->gateway_port(0), "/ready");
      return r.status == 503 && r.body.find("control") != std::string::npos;
    },
    10s));
  c->start_control();
  BOOST_CHECK_MESSAGE(t.wait_for_text("following again", 60s), t.output());
  t.type("q");
  BOOST_CHECK(t.wait_for_text("sandhive> "));
  BOOST_CHECK(nodes_work());
  BOOST_CHECK(eventually(
    [&] {
      return test::http_get(c->gateway_port(0), "/ready").status == 200;
    },
    30s));
  // A command in flight when the control dies fails at once (not at its
  // 40 s timeout), and the shell goes on.
  c->control->signal(SIGSTOP);
  t.clear();
  t.type("nodes\r");
  std::this_thread::sleep_for(500ms);
  auto killed_at = std::chrono::steady_clock::now();
  c->control->signal(SIGKILL);
  BOOST_REQUIRE(c->control->wait_for(10s));
  BOOST_CHECK_MESSAGE(t.wait_for_text("lost the control", 10s), t.output());
  BOOST_CHECK(std::chrono::steady_clock::now() - killed_at < 5s);
  BOOST_CHECK(t.wait_for_text("sandhive> "));
  c->start_control();
  BOOST_CHECK(nodes_work());
  t.type("quit\r");
  BOOST_CHECK_EQUAL(t.exit_code(10s), 0);
}

BOOST_AUTO_TEST_SUITE_END()

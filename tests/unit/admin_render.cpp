// What operators read: tables, money, durations and top's rate.

#include "cmd/admin_render.hpp"

#include <boost/test/unit_test.hpp>

using namespace sbx;
using ops::json;

namespace {

bool contains(const std::string& text, const std::string& what) {
  return text.find(what) != std::string::npos;
}

} // namespace

BOOST_AUTO_TEST_SUITE(admin_render)

BOOST_AUTO_TEST_CASE(money_is_exact_micro_units) {
  BOOST_CHECK_EQUAL(ops::money(0), "0.000000");
  BOOST_CHECK_EQUAL(ops::money(12'345'678), "12.345678");
  BOOST_CHECK_EQUAL(ops::money(-1), "-0.000001");
  BOOST_CHECK_EQUAL(ops::money(INT64_MIN), "-9223372036854.775808");
}

BOOST_AUTO_TEST_CASE(durations_read_at_a_glance) {
  BOOST_CHECK_EQUAL(ops::ago(850), "850ms");
  BOOST_CHECK_EQUAL(ops::ago(12'400), "12s");
  BOOST_CHECK_EQUAL(ops::ago(303'000), "5m3s");
  BOOST_CHECK_EQUAL(ops::ago(7'440'000), "2h4m");
  BOOST_CHECK_EQUAL(ops::ago(3 * 86'400'000 + 3'600'000), "3d1h");
  BOOST_CHECK_EQUAL(ops::ago(-5), "0ms");
}

BOOST_AUTO_TEST_CASE(nodes_are_a_table_with_aligned_columns) {
  auto nodes = json::parse(R"([
    {"name":"n1","address":"10.0.0.2:4001","state":"ready","vcpu_used":4,
     "vcpu_capacity":64,"memory_used_mb":1024,"memory_capacity_mb":24000,
     "sandboxes":2,"max_sandboxes":1000,"starting":0,"warm":{"base":1},
     "pool_size":{"base":2},"heartbeat_age_ms":400},
    {"name":"node-with-a-long-name","address":"in process","state":"draining",
     "vcpu_used":0,"vcpu_capacity":8,"memory_used_mb":0,
     "memory_capacity_mb":512,"sandboxes":0,"max_sandboxes":10,"starting":0,
     "warm":{},"pool_size":{},"heartbeat_age_ms":-1}])");
  auto text = ops::render("nodes", nodes);
  std::istringstream in{text};
  std::vector<std::string> lines;
  for (std::string l; std::getline(in, l);)
    lines.push_back(l);
  BOOST_REQUIRE_EQUAL(lines.size(), 3u);
  BOOST_CHECK(contains(lines[1], "4/64"));
  BOOST_CHECK(contains(lines[1], "base 1/2"));
  BOOST_CHECK(contains(lines[1], "400ms ago"));
  // Columns line up: STATE starts where each row's state does.
  auto col = lines[0].find("STATE");
  BOOST_CHECK_EQUAL(lines[1].find("ready"), col);
  BOOST_CHECK_EQUAL(lines[2].find("draining"), col);
}

BOOST_AUTO_TEST_CASE(changes_say_what_happened_and_warn) {
  BOOST_CHECK_EQUAL(ops::render("kill", json{{"killed", "abc"}}),
                    "killed abc\n");
  auto text = ops::render("node cordon",
                          json{{"node", "n1"},
                               {"state", "cordoned"},
                               {"warning", "not written to the audit log"}});
  BOOST_CHECK(contains(text, "node n1: cordoned"));
  BOOST_CHECK(contains(text, "warning: not written to the audit log"));
  text = ops::render("log-level", json{{"component", "http"},
                                       {"level", "debug"},
                                       {"processes", 3},
                                       {"failures", {"g2: timeout"}}});
  BOOST_CHECK(contains(text, "set to debug in 3 process(es)"));
  BOOST_CHECK(contains(text, "not changed: g2: timeout"));
}

BOOST_AUTO_TEST_CASE(top_computes_creates_per_second_between_frames) {
  auto frame = [](int64_t at, unsigned creates) {
    return json{{"at_ms", at},
                {"nodes", {{"total", 2}, {"ready", 2}}},
                {"sandboxes", {{"running", 5}}},
                {"vcpu", {{"used", 10}, {"capacity", 128}}},
                {"memory_mb", {{"used", 2048}, {"capacity", 48000}}},
                {"creates_total", creates},
                {"create_failures_total", 0},
                {"quota_rejections_total", 1},
                {"busiest_nodes", json::array()},
                {"busiest_teams",
                 {{{"team", "acme"}, {"sandboxes", 5}, {"vcpu", 10}}}}};
  };
  auto first = ops::render_top(frame(1000, 10), json{});
  BOOST_CHECK(contains(first, "creates/s  …"));
  auto second = ops::render_top(frame(3000, 30), frame(1000, 10));
  BOOST_CHECK(contains(second, "creates/s  10.0"));
  BOOST_CHECK(contains(second, "5 running"));
  BOOST_CHECK(contains(second, "acme"));
}

BOOST_AUTO_TEST_CASE(events_are_one_line_each) {
  auto line = ops::render_event(json{{"at_ms", 0},
                                     {"id", "abc"},
                                     {"state", "killed"},
                                     {"reason", "node_lost"},
                                     {"team", "acme"},
                                     {"node", "n1"},
                                     {"template", "base"}});
  BOOST_CHECK(contains(line, "abc  killed (node_lost)  team acme  node n1"));
  BOOST_CHECK_EQUAL(std::count(line.begin(), line.end(), '\n'), 1);
}

BOOST_AUTO_TEST_SUITE_END()

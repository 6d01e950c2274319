// The node's meter: merging waiting usage keeps the totals exact, and a
// damaged spool neither crashes it nor is trusted.

#include "actors/meter.hpp"

#include <boost/test/unit_test.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>

#include <cstdio>
#include <fstream>
#include <thread>

using namespace sbx;

namespace {

usage_record rec(const std::string& sandbox, int64_t start, int64_t end) {
  usage_record r;
  r.id = sandbox + std::to_string(start);
  r.team_id = "t";
  r.sandbox_id = sandbox;
  r.period_start_ms = start;
  r.period_end_ms = end;
  r.cpu_usec = 10;
  r.vcpu_ms = 2 * static_cast<uint64_t>(end - start);
  r.memory_mib_ms = 512 * static_cast<uint64_t>(end - start);
  return r;
}

} // namespace

BOOST_AUTO_TEST_SUITE(metering)

BOOST_AUTO_TEST_CASE(merging_keeps_every_total) {
  std::deque<usage_record> xs{rec("a", 0, 1000), rec("b", 0, 500),
                              rec("a", 1000, 2000), rec("a", 2000, 2500)};
  auto merged = merge_by_sandbox(xs);
  BOOST_REQUIRE_EQUAL(merged.size(), 2u);
  auto& a = merged[0].sandbox_id == "a" ? merged[0] : merged[1];
  BOOST_CHECK_EQUAL(a.period_start_ms, 0);
  BOOST_CHECK_EQUAL(a.period_end_ms, 2500);
  BOOST_CHECK_EQUAL(a.cpu_usec, 30u);
  BOOST_CHECK_EQUAL(a.vcpu_ms, 5000u);
  BOOST_CHECK_EQUAL(a.memory_mib_ms, 512u * 2500);
  // A new id: the merged record is new to billing.
  BOOST_CHECK_NE(a.id, xs[0].id);
  BOOST_CHECK_EQUAL(a.id.size(), 36u);
}

BOOST_AUTO_TEST_CASE(a_damaged_spool_is_set_aside_not_fatal) {
  char path[] = "/tmp/sbx-meter-XXXXXX";
  int fd = ::mkstemp(path);
  BOOST_REQUIRE(fd >= 0);
  ::close(fd);
  for (auto text : {"not json", R"({"pending": 5, "seen": []})",
                    R"({"pending": [{"start": "x"}], "seen": {}})"}) {
    std::ofstream{path} << text;
    caf::actor_system_config cfg;
    cfg.add_message_types<caf::id_block::sbx_types>();
    cfg.add_message_types<caf::id_block::sbx_actors>();
    caf::actor_system sys{cfg};
    meter_config mc;
    mc.spool = path;
    mc.node = [] { return node_actor{}; };
    auto m = sys.spawn(meter, mc);
    std::this_thread::sleep_for(std::chrono::milliseconds{50});
    caf::scoped_actor self{sys};
    bool alive = false;
    self->monitor(m);
    self->receive([&](caf::down_msg&) {},
                  caf::after(std::chrono::milliseconds{100}) >>
                    [&] { alive = true; });
    BOOST_CHECK_MESSAGE(alive, "the meter died on: " << text);
    caf::anon_send_exit(m, caf::exit_reason::user_shutdown);
  }
  std::remove(path);
}

BOOST_AUTO_TEST_SUITE_END()

#include "actors/supervisor.hpp"

#include "tests/support/fakes.hpp"

#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>

#include <boost/test/unit_test.hpp>

using namespace sbx;
using namespace std::chrono_literals;

namespace {

struct supervisor_fixture {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  std::shared_ptr<test::fake_store> db = std::make_shared<test::fake_store>();
  std::shared_ptr<test::fake_cache> cache
    = std::make_shared<test::fake_cache>();
  supervisor_actor sup;

  supervisor_fixture() {
    supervisor_config scfg;
    scfg.db = db;
    scfg.cache = cache;
    scfg.probe_timeout = 500ms;
    sup = sys.spawn(supervisor, scfg);
  }

  readiness probe() {
    caf::scoped_actor self{sys};
    readiness result;
    self->request(sup, 5s, atom::get_v, atom::ready_v)
      .receive([&](readiness& x) { result = std::move(x); },
               [&](caf::error& err) {
                 BOOST_FAIL("readiness failed: " << message_of(err));
               });
    return result;
  }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(supervisor, supervisor_fixture)

BOOST_AUTO_TEST_CASE(ready_when_every_dependency_answers) {
  auto r = probe();
  BOOST_TEST(r.ready);
  BOOST_REQUIRE_EQUAL(r.checks.size(), 2u);
  BOOST_TEST(r.checks[0].name == "postgres");
  BOOST_TEST(r.checks[1].name == "redis");
  BOOST_TEST(db->pings == 1);
}

BOOST_AUTO_TEST_CASE(not_ready_names_the_failing_dependency) {
  cache->down = true;
  auto r = probe();
  BOOST_TEST(!r.ready);
  BOOST_TEST(r.checks[0].ok);
  BOOST_TEST(!r.checks[1].ok);
  BOOST_TEST(r.checks[1].message == "Redis unavailable: fake");
  cache->down = false;
  BOOST_TEST(probe().ready);
}

BOOST_AUTO_TEST_CASE(shutdown_stops_components_then_itself) {
  caf::scoped_actor self{sys};
  self->monitor(sup);
  bool stopped = false;
  self->request(sup, 5s, atom::shutdown_v)
    .receive([&](atom::ok_atom) { stopped = true; },
             [&](caf::error& err) { BOOST_FAIL(message_of(err)); });
  BOOST_TEST(stopped);
  bool down = false;
  self->receive([&](caf::down_msg&) { down = true; },
                caf::after(5s) >> [] {});
  BOOST_TEST(down);
}

BOOST_AUTO_TEST_SUITE_END()

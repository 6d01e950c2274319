#include "gateway/bridge.hpp"

#include "actors/interfaces.hpp"

#include <caf/actor_system_config.hpp>
#include <caf/send.hpp>

#include "tests/support/printers.hpp"

#include <boost/test/unit_test.hpp>

#include <future>

using namespace sbx;
using namespace std::chrono_literals;

namespace {

/// Doubles positive numbers, fails on negative ones, never answers 0.
using doubler_actor = caf::typed_actor<caf::replies_to<int>::with<int>>;

doubler_actor::behavior_type doubler(doubler_actor::pointer self) {
  return {
    [self](int x) -> caf::result<int> {
      if (x < 0)
        return make_error(ec::not_found, "no such number");
      if (x == 0)
        return self->make_response_promise<int>(); // never delivered
      return 2 * x;
    },
  };
}

/// What one bridged request ended with.
struct outcome {
  int value = 0;
  caf::error err;
};

struct bridge_fixture {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  std::unique_ptr<bridge> b;
  doubler_actor dbl;

  bridge_fixture() {
    sys = std::make_unique<caf::actor_system>(cfg);
    b = std::make_unique<bridge>(*sys, 300ms, 2);
    dbl = sys->spawn(doubler);
  }

  ~bridge_fixture() {
    caf::anon_send_exit(dbl, caf::exit_reason::user_shutdown);
  }

  std::future<outcome> ask(const doubler_actor& dest, int x) {
    auto p = std::make_shared<std::promise<outcome>>();
    auto f = p->get_future();
    b->request(
      dest, [p](int y) { p->set_value({y, {}}); },
      [p](const caf::error& e) { p->set_value({0, e}); }, x);
    return f;
  }

  static outcome get(std::future<outcome>& f) {
    BOOST_REQUIRE(f.wait_for(5s) == std::future_status::ready);
    return f.get();
  }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(bridge, bridge_fixture)

BOOST_AUTO_TEST_CASE(replies_reach_the_callback) {
  auto f = ask(dbl, 21);
  auto r = get(f);
  BOOST_TEST(!r.err);
  BOOST_TEST(r.value == 42);
}

BOOST_AUTO_TEST_CASE(handler_errors_reach_the_error_callback) {
  auto f = ask(dbl, -1);
  auto r = get(f);
  BOOST_TEST(r.err == ec::not_found);
  BOOST_TEST(message_of(r.err) == "no such number");
  BOOST_TEST(sbx::bridge::to_response(r.err).status == 404u);
}

BOOST_AUTO_TEST_CASE(a_silent_actor_times_out) {
  auto start = std::chrono::steady_clock::now();
  auto f = ask(dbl, 0);
  auto r = get(f);
  BOOST_TEST(r.err == caf::sec::request_timeout);
  BOOST_TEST(http_status(r.err) == 504u);
  BOOST_TEST((std::chrono::steady_clock::now() - start >= 300ms));
}

BOOST_AUTO_TEST_CASE(a_dead_actor_is_an_error_not_a_hang) {
  auto victim = sys->spawn(doubler);
  caf::anon_send_exit(victim, caf::exit_reason::kill);
  std::this_thread::sleep_for(50ms);
  auto f = ask(victim, 1);
  auto r = get(f);
  BOOST_TEST(r.err);
  BOOST_TEST(http_status(r.err) == 503u);
}

BOOST_AUTO_TEST_CASE(a_null_handle_is_unavailable) {
  auto f = ask(doubler_actor{}, 1);
  auto r = get(f);
  BOOST_TEST(r.err == ec::unavailable);
}

BOOST_AUTO_TEST_CASE(requests_in_flight_are_bounded) {
  auto a = ask(dbl, 0);
  auto c = ask(dbl, 0);
  BOOST_TEST(b->in_flight() == 2u);
  auto over = ask(dbl, 5);
  auto r = get(over);
  BOOST_TEST(r.err == ec::unavailable);
  BOOST_TEST(message_of(r.err).find("too many requests") != std::string::npos);
  get(a);
  get(c);
  // The count drops once the requests are answered (here: timed out).
  for (int i = 0; i < 100 && b->in_flight() != 0; ++i)
    std::this_thread::sleep_for(10ms);
  BOOST_TEST(b->in_flight() == 0u);
  auto after = ask(dbl, 5);
  BOOST_TEST(get(after).value == 10);
}

BOOST_AUTO_TEST_SUITE_END()

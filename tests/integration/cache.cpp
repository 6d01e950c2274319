#include "runtime/cache/cache_client.hpp"

#include "actors/error.hpp"
#include "tests/support/services.hpp"

#include "tests/support/printers.hpp"

#include <boost/test/unit_test.hpp>

#include <thread>

using namespace sbx;
using namespace std::chrono_literals;

BOOST_AUTO_TEST_SUITE(cache)

BOOST_AUTO_TEST_CASE(ping_answers_on_the_real_server) {
  auto c = make_redis_client(test::services::get().redis().url(), 1s);
  BOOST_TEST(!c->ping());
  BOOST_TEST(!c->ping());
}

BOOST_AUTO_TEST_CASE(a_wrong_password_is_an_error) {
  auto port = test::services::get().redis().port();
  auto c = make_redis_client("redis://:wrong@127.0.0.1:" + std::to_string(port),
                             1s);
  auto err = c->ping();
  BOOST_TEST(err == ec::unavailable);
  BOOST_TEST(message_of(err).find("Redis") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(reconnects_after_the_server_returns) {
  auto& redis = test::services::get().redis();
  auto c = make_redis_client(redis.url(), 1s);
  BOOST_REQUIRE(!c->ping());
  redis.stop();
  BOOST_TEST(c->ping() == ec::unavailable);
  BOOST_REQUIRE(!redis.start());
  bool back = false;
  for (int i = 0; i < 50 && !back; ++i) {
    back = !c->ping();
    if (!back)
      std::this_thread::sleep_for(100ms);
  }
  BOOST_TEST(back);
}

BOOST_AUTO_TEST_SUITE_END()

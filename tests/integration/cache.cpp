#include "runtime/cache/cache_client.hpp"

#include "actors/error.hpp"
#include "tests/support/services.hpp"

#include "tests/support/printers.hpp"

#include <boost/test/tools/floating_point_comparison.hpp>
#include <boost/test/unit_test.hpp>

#include <thread>

#include <hiredis/hiredis.h>

#include <unistd.h>

using namespace sbx;
using namespace std::chrono_literals;

namespace {

/// SCRIPT FLUSH, as a Redis restart would forget the scripts.
void flush_scripts(const std::string& url) {
  auto rest = url.substr(url.find("://") + 3);
  auto at = rest.rfind('@');
  auto password = rest.substr(1, at - 1);
  auto port = std::stoi(rest.substr(rest.rfind(':') + 1));
  auto* c = redisConnect("127.0.0.1", port);
  BOOST_REQUIRE(c && !c->err);
  freeReplyObject(redisCommand(c, "AUTH %s", password.c_str()));
  auto* r = static_cast<redisReply*>(redisCommand(c, "SCRIPT FLUSH"));
  BOOST_CHECK(r && r->type == REDIS_REPLY_STATUS);
  freeReplyObject(r);
  redisFree(c);
}

} // namespace

BOOST_AUTO_TEST_SUITE(cache)

BOOST_AUTO_TEST_CASE(ping_answers_on_the_real_server) {
  auto c = make_redis_client(test::services::get().redis().url(), 1s);
  BOOST_TEST(!c->ping());
  BOOST_TEST(!c->ping());
}

BOOST_AUTO_TEST_CASE(token_buckets_are_shared_exact_and_refill) {
  auto url = test::services::get().redis().url();
  auto a = make_redis_client(url, 1s);
  auto b = make_redis_client(url, 1s);
  auto key = "rl:test:" + std::to_string(::getpid());
  // A burst of 5 at 1 per second, drawn from two clients (two gateways).
  unsigned granted = 0;
  for (int i = 0; i < 4; ++i) {
    auto r = (i % 2 ? a : b)->take(key, 1, 5, 1);
    BOOST_REQUIRE(r);
    granted += r->granted;
  }
  BOOST_CHECK_EQUAL(granted, 4u);
  // Several at once: as many as fit, and when the rest would.
  auto many = a->take(key, 1, 5, 3);
  BOOST_REQUIRE(many);
  BOOST_CHECK_EQUAL(many->granted, 1u);
  BOOST_CHECK_GT(many->retry_after_ms, 0);
  BOOST_CHECK_LE(many->retry_after_ms, 1000);
  auto none = b->take(key, 1, 5, 1);
  BOOST_REQUIRE(none);
  BOOST_CHECK_EQUAL(none->granted, 0u);
  // One token back after a second.
  std::this_thread::sleep_for(1100ms);
  auto again = a->take(key, 1, 5, 1);
  BOOST_REQUIRE(again);
  BOOST_CHECK_EQUAL(again->granted, 1u);
  // Pipelined, and after the server forgot the script.
  std::vector<bucket_request> xs;
  for (int i = 0; i < 10; ++i)
    xs.push_back({key + ":" + std::to_string(i), 100, 2, 1});
  auto rs = a->take_many(xs);
  BOOST_REQUIRE_EQUAL(rs.size(), 10u);
  for (auto& r : rs)
    BOOST_CHECK(r && r->granted == 1);
  flush_scripts(url);
  rs = a->take_many(xs);
  for (auto& r : rs)
    BOOST_CHECK(r && r->granted == 1);
}

BOOST_AUTO_TEST_CASE(tokens_given_back_can_be_taken_again_up_to_a_full_bucket) {
  auto c = make_redis_client(test::services::get().redis().url(), 1s);
  auto key = "rl:back:" + std::to_string(::getpid());
  // A gateway leases all 10 (at 0.01/s nothing refills during the test),
  // gives 4 back: another gateway finds exactly those 4.
  auto all = c->take(key, 0.01, 10, 10);
  BOOST_REQUIRE(all);
  BOOST_CHECK_EQUAL(all->granted, 10u);
  auto back = c->take(key, 0.01, 10, -4);
  BOOST_REQUIRE(back);
  BOOST_CHECK_EQUAL(back->granted, 0u);
  BOOST_CHECK_CLOSE(back->remaining, 4.0, 0.1);
  auto four = c->take(key, 0.01, 10, 6);
  BOOST_REQUIRE(four);
  BOOST_CHECK_EQUAL(four->granted, 4u);
  // Giving back more than was taken fills the bucket, no more.
  BOOST_REQUIRE(c->take(key, 0.01, 10, -50));
  auto full = c->take(key, 0.01, 10, 20);
  BOOST_REQUIRE(full);
  BOOST_CHECK_EQUAL(full->granted, 10u);
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

// Rate limits at the gateway: token buckets (here in the fake cache, whose
// clock the test moves), 429 with Retry-After, leases of busy buckets (never
// more let through than the bucket holds, unspent tokens given back), and
// what an unreachable Redis does in either mode, logged once per outage and
// shown in the metrics.

#include "gateway/rate_limits.hpp"
#include "runtime/metrics/metrics.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/fakes.hpp"

#include <boost/test/tools/floating_point_comparison.hpp>
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <future>
#include <thread>

using namespace sbx;

namespace {

struct fixture {
  std::shared_ptr<test::fake_cache> redis = std::make_shared<test::fake_cache>();
  metrics stats;

  /// One check: the status answered, or 0 when it let the request through;
  /// and the Retry-After header.
  std::pair<unsigned, std::string> check(rate_limiter& rl, rate r,
                                         const std::string& who = "team-1") {
    std::promise<std::pair<unsigned, std::string>> p;
    auto done = std::make_shared<std::atomic<bool>>(false);
    rl.check("create", who, r,
             http::responder{[&p, done](http::response res) {
               if (!done->exchange(true))
                 p.set_value({res.status, [&] {
                                for (auto& [k, v] : res.headers)
                                  if (k == "Retry-After")
                                    return v;
                                return std::string{};
                              }()});
             }},
             [&p, done] {
               if (!done->exchange(true))
                 p.set_value({0, ""});
             });
    return p.get_future().get();
  }

  /// A limiter counting in the fake Redis.
  std::unique_ptr<rate_limiter> limiter(bool fail_open) {
    auto rl = std::make_unique<rate_limiter>(stats, fail_open);
    rl->use(redis);
    return rl;
  }

  /// Tokens left in a bucket of the fake Redis.
  double tokens(const std::string& key) {
    std::lock_guard<std::mutex> guard{redis->mtx};
    return redis->buckets[key].tokens;
  }

  bool metric(const std::string& line) {
    return stats.serialize().find(line) != std::string::npos;
  }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(rate_limits, fixture)

BOOST_AUTO_TEST_CASE(a_burst_passes_then_the_rate_holds) {
  auto rl = limiter(true);
  rate r{2, 5};
  for (int i = 0; i < 5; ++i)
    BOOST_CHECK_EQUAL(check(*rl, r).first, 0u);
  auto over = check(*rl, r);
  BOOST_CHECK_EQUAL(over.first, 429u);
  BOOST_CHECK_EQUAL(over.second, "1");
  // Other subjects have buckets of their own.
  BOOST_CHECK_EQUAL(check(*rl, r, "team-2").first, 0u);
  // Half a second refills one token at 2/s.
  redis->now_ms += 500;
  BOOST_CHECK_EQUAL(check(*rl, r).first, 0u);
  BOOST_CHECK_EQUAL(check(*rl, r).first, 429u);
  BOOST_CHECK(metric("sandhive_rate_limit_decisions_total{group=\"create\","
                     "result=\"limited\"} 2"));
  rl->stop();
}

BOOST_AUTO_TEST_CASE(a_busy_bucket_is_leased_and_never_overspent) {
  // Two gateways share a bucket of 500 at 100/s; the clock stands still, so
  // exactly 500 requests may pass between them, whoever asks.
  auto a = limiter(true);
  auto b = limiter(true);
  rate r{100, 500};
  std::atomic<int> passed{0}, limited{0};
  auto hammer = [&](int n) {
    auto one = [&](rate_limiter& rl) {
      for (int i = 0; i < n; ++i)
        (check(rl, r).first == 0 ? passed : limited)++;
    };
    std::thread ta{[&] { one(*a); }};
    std::thread tb{[&] { one(*b); }};
    ta.join();
    tb.join();
  };
  // As many requests as the bucket holds: nearly all pass (a few tokens
  // may sit in the other gateway's lease), and leases paid for most of
  // them: far fewer scripts than requests (one each without leases).
  hammer(250);
  BOOST_TEST_MESSAGE("scripts run: " << redis->takes.load() << " for "
                                     << passed.load() << " passed");
  BOOST_CHECK_GE(passed.load(), 450);
  BOOST_CHECK_LT(redis->takes.load(), passed.load() / 3);
  // Far more than it holds: never more than 500 in all.
  hammer(300);
  BOOST_CHECK_LE(passed.load(), 500);
  BOOST_CHECK_EQUAL(passed + limited, 1100);
  // Tokens still leased when the checks ended go back after the lease
  // time: the bucket holds what was not spent.
  BOOST_CHECK(test::eventually(
    [&] {
      return std::abs(tokens("rl:create:team-1") - (500 - passed.load()))
             < 1e-6;
    },
    std::chrono::seconds{2}));
  a->stop();
  b->stop();
}

BOOST_AUTO_TEST_CASE(a_slow_bucket_is_exact) {
  // Under four a second no token is taken ahead: the third check of a
  // bucket of two is refused, and nothing is held back from other
  // gateways.
  auto rl = limiter(true);
  rate r{3, 2};
  BOOST_CHECK_EQUAL(check(*rl, r).first, 0u);
  BOOST_CHECK_CLOSE(tokens("rl:create:team-1"), 1.0, 1e-6);
  BOOST_CHECK_EQUAL(check(*rl, r).first, 0u);
  BOOST_CHECK_EQUAL(check(*rl, r).first, 429u);
  BOOST_CHECK_EQUAL(redis->takes.load(), 3);
  rl->stop();
}

BOOST_AUTO_TEST_CASE(stopping_gives_leases_back) {
  auto rl = limiter(true);
  rate r{1000, 1000};
  for (int i = 0; i < 10; ++i)
    BOOST_CHECK_EQUAL(check(*rl, r).first, 0u);
  BOOST_CHECK_LT(tokens("rl:create:team-1"), 990);
  rl->stop();
  BOOST_CHECK_CLOSE(tokens("rl:create:team-1"), 990.0, 1e-6);
}

BOOST_AUTO_TEST_CASE(without_redis_open_lets_through_and_closed_refuses) {
  redis->down = true;
  auto open = limiter(true);
  BOOST_CHECK_EQUAL(check(*open, {1, 1}).first, 0u);
  BOOST_CHECK_EQUAL(check(*open, {1, 1}).first, 0u);
  BOOST_CHECK(metric("sandhive_rate_limit_redis_up 0"));
  BOOST_CHECK(metric("result=\"fail_open\"} 2"));
  auto closed = limiter(false);
  BOOST_CHECK_EQUAL(check(*closed, {1, 1}).first, 503u);
  BOOST_CHECK(metric("result=\"fail_closed\"} 1"));
  // Back: limits apply again.
  redis->down = false;
  BOOST_CHECK_EQUAL(check(*closed, {1, 1}).first, 0u);
  BOOST_CHECK_EQUAL(check(*closed, {1, 1}).first, 429u);
  BOOST_CHECK(metric("sandhive_rate_limit_redis_up 1"));
  open->stop();
  closed->stop();
}

BOOST_AUTO_TEST_SUITE_END()

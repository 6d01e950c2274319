#pragma once

#include "gateway/http.hpp"
#include "runtime/cache/cache_client.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace sbx {

class metrics;

/// How fast a subject may call a route group: `per_second` on average, in
/// bursts of up to `burst`.
struct rate {
  double per_second = 1;
  double burst = 5;
};

/// Request rates per route group, counted in token buckets in Redis so that
/// every gateway draws from the same bucket: one atomic script per take
/// (runtime/cache/redis_client.cpp). Checks that Redis must answer queue for
/// a thread of the limiter's own that sends what has gathered in one
/// pipelined round trip, so a busy gateway pays one round trip per batch,
/// not per request.
///
/// A bucket checked often is not asked once per request: each take from
/// Redis also takes about as many tokens as the gateway used since the
/// previous one (never more than a quarter of the burst or a quarter
/// second's rate, at most `max_lease`), and the following checks spend
/// those on the calling thread without waiting. When half of a lease is
/// spent the next take is sent ahead, so a steady stream of requests never
/// waits for Redis (under load a wait for the limiter's and Redis' threads
/// to be scheduled showed as a 15 ms p99). Tokens are always taken
/// before they are spent, so together the gateways never let more through
/// than the bucket allows; what a lease has not spent after `lease_ttl` goes
/// back to Redis. A bucket of a low rate (under 4 per second) is never
/// leased: every check is exact.
///
/// Over the rate: 429 in E2B's error shape with Retry-After. While Redis
/// cannot be reached, requests pass ("open") or are refused with 503
/// ("closed"), as configured; each outage is logged when it starts and when
/// it ends, and shows in /metrics (sandhive_rate_limit_redis_up,
/// sandhive_rate_limit_decisions_total).
class rate_limiter {
public:
  rate_limiter(metrics& stats, bool fail_open);
  ~rate_limiter();

  /// Counts in the Redis at `url` from now on.
  void use(const std::string& url, std::chrono::milliseconds timeout);

  /// Counts with this client (tests use a fake).
  void use(std::shared_ptr<cache_client> client);

  /// Where the requests let through continue (the gateway's I/O threads),
  /// so that their work never holds up the next round trip to Redis.
  /// Without it they run on the limiter's thread.
  void hand_off(std::function<void(std::function<void()>)> run);

  /// Runs `ok` if `subject` (a team, a user, an address) may make one more
  /// request of `group`; answers 429 or 503 itself otherwise. `ok` runs at
  /// once on the calling thread when a lease pays for the request, else
  /// where hand_off says; the answer on the limiter's thread: never block.
  void check(const std::string& group, const std::string& subject, rate r,
             const http::responder& respond, std::function<void()> ok);

  /// Stops the thread; checks still queued are let through or refused as
  /// during an outage.
  void stop();

  /// Tokens a lease holds at most, and how long it holds them.
  static constexpr unsigned max_lease = 10'000;
  static constexpr std::chrono::milliseconds lease_ttl{250};

private:
  using clock = std::chrono::steady_clock;

  /// A gateway's share of one bucket: tokens taken from Redis and not yet
  /// spent, and how many checks the bucket had since its last take.
  struct lease {
    rate r;
    unsigned tokens = 0;
    unsigned seen = 0;
    /// Tokens the last take brought, and whether the next is on its way.
    unsigned last_grant = 0;
    bool refilling = false;
    clock::time_point expires;
    clock::time_point last_check;
  };

  struct pending {
    std::string group;
    bucket_request bucket;
    http::responder respond;
    std::function<void()> ok;
  };

  using runner = std::function<void(std::function<void()>)>;

  void run();
  /// Spends a lease's token on `key` if it has one (mtx_ held).
  bool spend(const std::string& key, clock::time_point now);
  /// Sizes the next take of `key` for `waiting` checks (mtx_ held).
  double take_size(const std::string& key, size_t waiting);
  /// Unspent tokens of expired leases, to give back (mtx_ held); forgets
  /// leases idle for long.
  void sweep(clock::time_point now, bool all,
             std::vector<bucket_request>& returns);
  void fail(pending& p, const std::string& why, const runner& go);
  void decide(pending& p, bool granted, int64_t retry_after_ms,
              const runner& go);
  void outage(const std::string& why);
  void healthy();

  metrics& stats_;
  bool fail_open_;
  std::mutex mtx_;
  std::condition_variable cv_;
  std::vector<pending> queue_;
  std::unordered_map<std::string, lease> leases_;
  /// Leases half spent whose next take is to be sent ahead.
  std::vector<std::string> refills_;
  clock::time_point next_sweep_;
  /// Tokens all leases hold.
  size_t held_ = 0;
  std::shared_ptr<cache_client> client_;
  runner hand_off_;
  std::string url_;
  bool stopping_ = false;
  std::atomic<bool> down_{false};
  std::thread worker_;
};

} // namespace sbx

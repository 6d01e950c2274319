#pragma once

#include "actors/interfaces.hpp"
#include "gateway/http.hpp"

#include <caf/actor_system.hpp>

#include <atomic>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

namespace sbx {

class bridge;
class metrics;

/// How fast a subject may call a route group: `per_second` on average, in
/// bursts of up to `burst`.
struct rate {
  double per_second = 1;
  double burst = 5;
};

/// Request rates per route group, counted in token buckets in Redis so that
/// every gateway draws from the same bucket: one atomic script per check
/// (runtime/cache/redis_client.cpp). Over the rate: 429 in E2B's error shape
/// with Retry-After. While Redis cannot be reached, requests pass ("open")
/// or are refused with 503 ("closed"), as configured; each outage is
/// logged once when it starts and once when it ends, and shows in
/// /metrics (sandhive_rate_limit_redis_up, …_decisions_total).
class rate_limiter {
public:
  rate_limiter(caf::actor_system& sys, bridge& b, metrics& stats,
               bool fail_open);
  ~rate_limiter();

  /// Counts in the Redis at `url` from now on ("": none yet, which is an
  /// outage).
  void use(const std::string& url, std::chrono::milliseconds timeout);

  /// Counts with this client as well (a cache actor on any cache_client;
  /// tests use a fake).
  void attach(cache_actor client);

  /// Runs `ok` if `subject` (a team, a user, an address) may make one more
  /// request of `group`; answers 429 or 503 itself otherwise.
  void check(const std::string& group, const std::string& subject, rate r,
             const http::responder& respond, std::function<void()> ok);

  /// Drops the Redis clients; before the actor system goes.
  void stop();

private:
  cache_actor next_client();
  void outage(const std::string& why);
  void healthy();

  caf::actor_system& sys_;
  bridge& bridge_;
  metrics& stats_;
  bool fail_open_;
  std::mutex mtx_;
  std::string url_;
  /// Detached actors with a connection each, used in turn.
  std::vector<cache_actor> clients_;
  size_t next_ = 0;
  std::atomic<bool> down_{false};
};

} // namespace sbx

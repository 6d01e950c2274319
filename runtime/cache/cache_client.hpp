#pragma once

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace sbx {

/// What taking from a token bucket gave.
struct bucket_take {
  /// How many of the tokens asked for were taken (all or some).
  unsigned granted = 0;
  /// When the rest would fit, if some did not.
  int64_t retry_after_ms = 0;
  /// Tokens left.
  double remaining = 0;
};

/// One request to take from a bucket (see cache_client::take).
struct bucket_request {
  std::string key;
  double rate = 1;
  double burst = 1;
  double cost = 1;
};

/// The shared fast state (Redis): rate-limit buckets and short-lived caches.
/// Implementations block: call them only from a detached actor or a thread of
/// their own. Errors are values (ec::unavailable while Redis is away) and the
/// client reconnects by itself.
class cache_client {
public:
  virtual ~cache_client() = default;

  /// Checks that the server answers.
  virtual caf::error ping() = 0;

  /// Takes up to `cost` whole tokens from the bucket `key`, which refills
  /// at `rate` per second up to `burst` (a new bucket is full): as many as
  /// it has, atomically, on the server's clock, so that every gateway shares
  /// the bucket. A negative `cost` puts tokens back (up to a full bucket).
  virtual caf::expected<bucket_take> take(const std::string& key, double rate,
                                          double burst, double cost)
    = 0;

  /// Several takes at once, answered in order; each is its own atomic
  /// script. Redis pipelines them (one round trip for all).
  virtual std::vector<caf::expected<bucket_take>>
  take_many(const std::vector<bucket_request>& xs) {
    std::vector<caf::expected<bucket_take>> out;
    out.reserve(xs.size());
    for (auto& x : xs)
      out.push_back(take(x.key, x.rate, x.burst, x.cost));
    return out;
  }
};

using cache_client_ptr = std::unique_ptr<cache_client>;

/// Returns a Redis client for "redis://[:password@]host:port[/db]" with
/// connect and command timeouts. Connects lazily.
cache_client_ptr make_redis_client(const std::string& url,
                                   std::chrono::milliseconds timeout);

} // namespace sbx

#pragma once

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include <chrono>
#include <memory>
#include <string>

namespace sbx {

/// What taking from a token bucket gave.
struct bucket_take {
  bool allowed = false;
  /// When the request would fit, if it did not.
  int64_t retry_after_ms = 0;
  /// Tokens left.
  double remaining = 0;
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

  /// Takes `cost` tokens from the bucket `key`, which refills at `rate` per
  /// second up to `burst` (a new bucket is full): atomically, on the
  /// server's clock, so that every gateway shares the bucket.
  virtual caf::expected<bucket_take> take(const std::string& key, double rate,
                                          double burst, double cost)
    = 0;
};

using cache_client_ptr = std::unique_ptr<cache_client>;

/// Returns a Redis client for "redis://[:password@]host:port[/db]" with
/// connect and command timeouts. Connects lazily.
cache_client_ptr make_redis_client(const std::string& url,
                                   std::chrono::milliseconds timeout);

} // namespace sbx

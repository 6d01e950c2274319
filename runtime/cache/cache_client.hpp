#pragma once

#include <caf/error.hpp>

#include <chrono>
#include <memory>
#include <string>

namespace sbx {

/// The shared fast state (Redis): rate-limit buckets and short-lived caches.
/// Implementations block: call them only from a detached actor or a thread of
/// their own. Errors are values (ec::unavailable while Redis is away) and the
/// client reconnects by itself.
class cache_client {
public:
  virtual ~cache_client() = default;

  /// Checks that the server answers.
  virtual caf::error ping() = 0;
};

using cache_client_ptr = std::unique_ptr<cache_client>;

/// Returns a Redis client for "redis://[:password@]host:port[/db]" with
/// connect and command timeouts. Connects lazily.
cache_client_ptr make_redis_client(const std::string& url,
                                   std::chrono::milliseconds timeout);

} // namespace sbx

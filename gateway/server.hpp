#pragma once

#include "gateway/router.hpp"

#include <caf/error.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace sbx {

class metrics;

/// Limits of the HTTP server.
struct server_options {
  uint64_t body_limit = 64 << 20;
  std::chrono::milliseconds read_timeout{30'000};
  std::chrono::milliseconds idle_timeout{60'000};
  unsigned threads = 2;
};

/// The gateway's HTTP/1.1 server (Boost.Beast): keep-alive, chunked bodies,
/// body limits and timeouts, every request handed to the router.
class server {
public:
  server(server_options opts, const http::router& routes, metrics& stats);
  ~server();

  /// Binds and listens; a port in use is an error with a clear message.
  /// Port 0 picks a free port (see `port()`).
  caf::error listen(const std::string& host, uint16_t port);

  /// Starts accepting and the I/O threads; returns at once.
  void start();

  /// Stops accepting and the I/O threads. Queued work is dropped when the
  /// server is destroyed, so destroy it only after nothing can post to it.
  void stop();

  /// The bound port.
  uint16_t port() const;

  /// Runs `f` on one of the I/O threads (dropped once the server stopped).
  void post(std::function<void()> f);

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace sbx

#pragma once

#include "tests/support/eventually.hpp"

#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace sbx::test {

/// A response as the tests see it.
struct http_reply {
  unsigned status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  /// Empty on success; what failed otherwise (connect refused, timeout, …).
  std::string error;

  std::string header(const std::string& name) const;
};

/// One blocking HTTP/1.1 request on a fresh connection to 127.0.0.1:port.
http_reply http_request(uint16_t port, const std::string& method,
                        const std::string& target, const std::string& body = "",
                        std::vector<std::pair<std::string, std::string>> headers
                        = {},
                        std::chrono::milliseconds timeout
                        = std::chrono::seconds{10});

/// GET shorthand.
inline http_reply http_get(uint16_t port, const std::string& target) {
  return http_request(port, "GET", target);
}

/// A raw TCP connection for tests of framing, keep-alive and timeouts.
class raw_connection {
public:
  explicit raw_connection(uint16_t port);
  ~raw_connection();

  bool connected() const {
    return fd_ >= 0;
  }

  /// Sends bytes as they are.
  void send(const std::string& bytes);

  /// Reads one HTTP response (head and Content-Length body).
  http_reply read_response(std::chrono::milliseconds timeout
                           = std::chrono::seconds{5});

  /// Whether `marker` arrives within `timeout` (read, but left for
  /// `read_response`).
  bool received(const std::string& marker, std::chrono::milliseconds timeout);

  /// True if the server closed the connection within `timeout`.
  bool closed_by_peer(std::chrono::milliseconds timeout);

private:
  int fd_ = -1;
  std::string buf_;
};

} // namespace sbx::test

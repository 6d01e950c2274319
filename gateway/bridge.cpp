#include "gateway/bridge.hpp"

namespace sbx {

bridge::bridge(caf::actor_system& sys, std::chrono::milliseconds timeout,
               unsigned max_in_flight)
  : sys_(sys),
    timeout_(timeout),
    max_in_flight_(max_in_flight),
    in_flight_(std::make_shared<std::atomic<unsigned>>(0)) {
  // nop
}

http::response bridge::to_response(const caf::error& err) {
  auto res = http::response::error(http_status(err), message_of(err));
  if (auto s = retry_after_of(err); s > 0)
    res.headers.emplace_back("Retry-After", std::to_string(s));
  return res;
}

} // namespace sbx

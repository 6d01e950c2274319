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
  return http::response::error(http_status(err), message_of(err));
}

} // namespace sbx

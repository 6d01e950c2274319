#include "gateway/rate_limits.hpp"

#include "actors/cache.hpp"
#include "actors/error.hpp"
#include "gateway/bridge.hpp"
#include "runtime/log/log.hpp"
#include "runtime/metrics/metrics.hpp"

#include <caf/send.hpp>

#include <cmath>

namespace sbx {

namespace {

/// Redis connections per gateway: each check is one round trip on one of
/// them, so a few keep a busy gateway from queueing behind one.
constexpr size_t clients_per_gateway = 4;

} // namespace

rate_limiter::rate_limiter(caf::actor_system& sys, bridge& b, metrics& stats,
                           bool fail_open)
  : sys_(sys), bridge_(b), stats_(stats), fail_open_(fail_open) {
  stats_.set_rate_limit_redis_up(false);
}

rate_limiter::~rate_limiter() {
  stop();
}

void rate_limiter::use(const std::string& url,
                       std::chrono::milliseconds timeout) {
  std::lock_guard<std::mutex> guard{mtx_};
  if (url == url_)
    return;
  for (auto& c : clients_)
    caf::anon_send_exit(c, caf::exit_reason::user_shutdown);
  clients_.clear();
  url_ = url;
  if (url.empty())
    return;
  for (size_t i = 0; i < clients_per_gateway; ++i)
    clients_.push_back(sys_.spawn<caf::detached>(
      cache, std::shared_ptr<cache_client>{make_redis_client(url, timeout)},
      &stats_));
}

void rate_limiter::attach(cache_actor client) {
  std::lock_guard<std::mutex> guard{mtx_};
  clients_.push_back(std::move(client));
}

void rate_limiter::stop() {
  std::lock_guard<std::mutex> guard{mtx_};
  for (auto& c : clients_)
    caf::anon_send_exit(c, caf::exit_reason::user_shutdown);
  clients_.clear();
}

cache_actor rate_limiter::next_client() {
  std::lock_guard<std::mutex> guard{mtx_};
  if (clients_.empty())
    return {};
  return clients_[next_++ % clients_.size()];
}

void rate_limiter::outage(const std::string& why) {
  stats_.set_rate_limit_redis_up(false);
  if (!down_.exchange(true))
    log::get("http")->error("rate limits: Redis cannot be reached ({}); "
                            "requests are {} until it is back",
                            why, fail_open_ ? "let through" : "refused");
}

void rate_limiter::healthy() {
  stats_.set_rate_limit_redis_up(true);
  if (down_.exchange(false))
    log::get("http")->info("rate limits: Redis is back; limits apply again");
}

void rate_limiter::check(const std::string& group, const std::string& subject,
                         rate r, const http::responder& respond,
                         std::function<void()> ok) {
  auto on_outage = [this, group, respond, ok](const std::string& why) {
    outage(why);
    if (fail_open_) {
      stats_.count_rate_limit(group, "fail_open");
      ok();
      return;
    }
    stats_.count_rate_limit(group, "fail_closed");
    respond(http::response::error(
      503, "cannot check the rate limit now (Redis unreachable); try again"));
  };
  auto client = next_client();
  if (!client) {
    on_outage("no Redis configured yet");
    return;
  }
  bridge_.request(
    client,
    [this, group, respond, ok](const bucket_take& t) {
      healthy();
      if (t.allowed) {
        stats_.count_rate_limit(group, "allowed");
        ok();
        return;
      }
      stats_.count_rate_limit(group, "limited");
      auto secs = std::max<int64_t>(1, (t.retry_after_ms + 999) / 1000);
      auto reply = http::response::error(
        429, "Rate limit exceeded for " + group
               + " requests; retry after " + std::to_string(secs) + " s");
      reply.headers.emplace_back("Retry-After", std::to_string(secs));
      respond(std::move(reply));
    },
    [on_outage, respond](const caf::error& err) {
      // An overloaded gateway is not a Redis outage.
      if (message_of(err).find("in flight") != std::string::npos)
        respond(bridge::to_response(err));
      else
        on_outage(message_of(err));
    },
    atom::take_v, "rl:" + group + ":" + subject, r.per_second, r.burst, 1.0);
}

} // namespace sbx

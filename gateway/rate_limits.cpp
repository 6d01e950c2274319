#include "gateway/rate_limits.hpp"

#include "actors/error.hpp"
#include "runtime/log/log.hpp"
#include "runtime/metrics/metrics.hpp"

#include <unordered_map>

namespace sbx {

namespace {

/// Checks sent to Redis in one round trip at most: bounded so that a flood
/// cannot make one batch wait on a huge one.
constexpr size_t max_batch = 256;

/// Checks waiting at most: beyond, new ones are answered 503 at once.
constexpr size_t max_queue = 16'384;

} // namespace

rate_limiter::rate_limiter(metrics& stats, bool fail_open)
  : stats_(stats), fail_open_(fail_open) {
  stats_.set_rate_limit_redis_up(false);
  worker_ = std::thread{[this] { run(); }};
}

rate_limiter::~rate_limiter() {
  stop();
}

void rate_limiter::use(const std::string& url,
                       std::chrono::milliseconds timeout) {
  std::lock_guard<std::mutex> guard{mtx_};
  if (url == url_ || url.empty())
    return;
  url_ = url;
  client_ = std::shared_ptr<cache_client>{make_redis_client(url, timeout)};
}

void rate_limiter::use(std::shared_ptr<cache_client> client) {
  std::lock_guard<std::mutex> guard{mtx_};
  client_ = std::move(client);
}

void rate_limiter::hand_off(runner run) {
  std::lock_guard<std::mutex> guard{mtx_};
  hand_off_ = std::move(run);
}

void rate_limiter::stop() {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (stopping_)
      return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (worker_.joinable())
    worker_.join();
}

void rate_limiter::check(const std::string& group, const std::string& subject,
                         rate r, const http::responder& respond,
                         std::function<void()> ok) {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (!stopping_ && queue_.size() < max_queue) {
      queue_.push_back({group,
                        {"rl:" + group + ":" + subject, r.per_second, r.burst,
                         1.0},
                        respond,
                        std::move(ok)});
      if (queue_.size() == 1)
        cv_.notify_one();
      return;
    }
  }
  respond(http::response::error(503, "too many requests are waiting for "
                                     "their rate limit; try again"));
}

void rate_limiter::run() {
  std::vector<pending> batch;
  for (;;) {
    std::shared_ptr<cache_client> client;
    runner go;
    {
      std::unique_lock<std::mutex> guard{mtx_};
      cv_.wait(guard, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty() && stopping_)
        return;
      auto n = std::min(queue_.size(), max_batch);
      batch.assign(std::make_move_iterator(queue_.begin()),
                   std::make_move_iterator(queue_.begin() + n));
      queue_.erase(queue_.begin(), queue_.begin() + n);
      client = client_;
      go = hand_off_;
    }
    if (!client) {
      for (auto& p : batch)
        fail(p, "no Redis configured yet", go);
      batch.clear();
      continue;
    }
    // Checks of one bucket that arrived together take their tokens in one
    // script (cost n): exact all the same, and a busy team's burst costs
    // Redis one call, not one per request.
    std::vector<bucket_request> reqs;
    std::vector<std::vector<pending*>> groups;
    std::unordered_map<std::string, size_t> index;
    for (auto& p : batch) {
      auto [i, fresh] = index.emplace(p.bucket.key, reqs.size());
      if (fresh) {
        reqs.push_back(p.bucket);
        groups.emplace_back();
      } else {
        reqs[i->second].cost += p.bucket.cost;
      }
      groups[i->second].push_back(&p);
    }
    auto results = client->take_many(reqs);
    for (size_t g = 0; g < groups.size(); ++g) {
      auto& r = results[g];
      if (!r) {
        for (auto* p : groups[g])
          fail(*p, message_of(r.error()), go);
        continue;
      }
      healthy();
      for (size_t k = 0; k < groups[g].size(); ++k)
        decide(*groups[g][k], k < r->granted, r->retry_after_ms, go);
    }
    batch.clear();
  }
}

void rate_limiter::fail(pending& p, const std::string& why,
                        const runner& go) {
  outage(why);
  if (fail_open_) {
    stats_.count_rate_limit(p.group, "fail_open");
    go ? go(std::move(p.ok)) : p.ok();
    return;
  }
  stats_.count_rate_limit(p.group, "fail_closed");
  p.respond(http::response::error(
    503, "cannot check the rate limit now (Redis unreachable); try again"));
}

void rate_limiter::decide(pending& p, bool granted, int64_t retry_after_ms,
                          const runner& go) {
  if (granted) {
    stats_.count_rate_limit(p.group, "allowed");
    go ? go(std::move(p.ok)) : p.ok();
    return;
  }
  stats_.count_rate_limit(p.group, "limited");
  auto secs = std::max<int64_t>(1, (retry_after_ms + 999) / 1000);
  auto reply = http::response::error(
    429, "Rate limit exceeded for " + p.group + " requests; retry after "
           + std::to_string(secs) + " s");
  reply.headers.emplace_back("Retry-After", std::to_string(secs));
  p.respond(std::move(reply));
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

} // namespace sbx

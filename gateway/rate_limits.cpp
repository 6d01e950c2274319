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
  auto key = "rl:" + group + ":" + subject;
  bool leased = false;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    auto now = clock::now();
    // Only buckets that could ever lease a token keep a lease.
    if (!stopping_ && r.per_second * lease_ttl.count() / 1000.0 >= 1) {
      auto& l = leases_[key];
      l.r = r;
      ++l.seen;
      l.last_check = now;
      leased = spend(key, now);
    }
    if (!leased) {
      if (stopping_ || queue_.size() >= max_queue) {
        // Answered below, outside the lock.
      } else {
        queue_.push_back({group, {std::move(key), r.per_second, r.burst, 1.0},
                          respond, std::move(ok)});
        if (queue_.size() == 1)
          cv_.notify_one();
        return;
      }
    }
  }
  if (leased) {
    stats_.count_rate_limit(group, "allowed");
    ok();
    return;
  }
  respond(http::response::error(503, "too many requests are waiting for "
                                     "their rate limit; try again"));
}

bool rate_limiter::spend(const std::string& key, clock::time_point now) {
  auto i = leases_.find(key);
  if (i == leases_.end() || i->second.tokens == 0 || now >= i->second.expires)
    return false;
  auto& l = i->second;
  --l.tokens;
  --held_;
  if (!l.refilling && l.tokens < l.last_grant / 2) {
    l.refilling = true;
    refills_.push_back(key);
    if (refills_.size() == 1 && queue_.empty())
      cv_.notify_one();
  }
  return true;
}

double rate_limiter::take_size(const std::string& key, size_t waiting) {
  auto i = leases_.find(key);
  if (i == leases_.end())
    return static_cast<double>(waiting);
  auto& l = i->second;
  // About what this gateway spent since its last take (or as much as the
  // last take brought, while checks keep coming), within bounds that keep
  // the tokens one gateway holds a small part of the bucket.
  auto cap = std::min({static_cast<double>(max_lease), l.r.burst / 4,
                       l.r.per_second * lease_ttl.count() / 1000.0});
  auto want = l.seen > 0 ? std::max(l.seen, l.last_grant) : 0u;
  auto extra = std::min(std::floor(std::max(cap, 0.0)),
                        static_cast<double>(want));
  l.seen = 0;
  return static_cast<double>(waiting) + extra;
}

void rate_limiter::sweep(clock::time_point now, bool all,
                         std::vector<bucket_request>& returns) {
  auto forget = now >= next_sweep_;
  if (forget)
    next_sweep_ = now + std::chrono::seconds{1};
  if (held_ == 0 && !forget)
    return;
  for (auto i = leases_.begin(); i != leases_.end();) {
    auto& l = i->second;
    if (l.tokens > 0 && (all || now >= l.expires)) {
      returns.push_back({i->first, l.r.per_second, l.r.burst,
                         -static_cast<double>(l.tokens)});
      held_ -= l.tokens;
      l.tokens = 0;
    }
    if (forget && l.tokens == 0 && now - l.last_check > std::chrono::seconds{10})
      i = leases_.erase(i);
    else
      ++i;
  }
}

void rate_limiter::run() {
  std::vector<pending> batch;
  for (;;) {
    std::shared_ptr<cache_client> client;
    runner go;
    std::vector<pending*> local;
    std::vector<bucket_request> reqs;
    std::vector<std::vector<pending*>> groups;
    std::vector<bucket_request> returns;
    bool last = false;
    {
      std::unique_lock<std::mutex> guard{mtx_};
      auto ready = [this] {
        return stopping_ || !queue_.empty() || !refills_.empty();
      };
      // Leases holding tokens wake the thread to give them back in time.
      if (held_ > 0)
        cv_.wait_for(guard, lease_ttl / 4, ready);
      else
        cv_.wait(guard, ready);
      last = queue_.empty() && stopping_;
      auto now = clock::now();
      sweep(now, last, returns);
      auto n = std::min(queue_.size(), max_batch);
      batch.assign(std::make_move_iterator(queue_.begin()),
                   std::make_move_iterator(queue_.begin() + n));
      queue_.erase(queue_.begin(), queue_.begin() + n);
      client = client_;
      go = hand_off_;
      // Checks of one bucket that arrived together take their tokens in one
      // script (cost n, plus the lease): exact all the same, and a busy
      // team's burst costs Redis one call, not one per request. A lease
      // filled since they queued pays for them first.
      std::unordered_map<std::string, size_t> index;
      for (auto& p : batch) {
        if (spend(p.bucket.key, now)) {
          local.push_back(&p);
          continue;
        }
        auto [i, fresh] = index.emplace(p.bucket.key, reqs.size());
        if (fresh) {
          reqs.push_back(p.bucket);
          groups.emplace_back();
        }
        groups[i->second].push_back(&p);
      }
      // Leases half spent take their next tokens in the same round trip.
      for (auto& key : refills_) {
        auto l = leases_.find(key);
        if (l == leases_.end())
          continue;
        if (index.emplace(key, reqs.size()).second) {
          reqs.push_back({key, l->second.r.per_second, l->second.r.burst, 0});
          groups.emplace_back();
        }
      }
      refills_.clear();
      // A refill with nothing to take (no demand since) is not sent.
      size_t kept = 0;
      for (size_t g = 0; g < reqs.size(); ++g) {
        reqs[g].cost = take_size(reqs[g].key, groups[g].size());
        auto l = leases_.find(reqs[g].key);
        if (l != leases_.end())
          l->second.refilling = reqs[g].cost > 0;
        if (reqs[g].cost <= 0)
          continue;
        if (kept != g) {
          reqs[kept] = std::move(reqs[g]);
          groups[kept] = std::move(groups[g]);
        }
        ++kept;
      }
      reqs.resize(kept);
      groups.resize(kept);
    }
    for (auto* p : local)
      decide(*p, true, 0, go);
    if (!client) {
      for (auto& group : groups)
        for (auto* p : group)
          fail(*p, "no Redis configured yet", go);
      batch.clear();
      if (last)
        return;
      continue;
    }
    auto asked = reqs.size();
    reqs.insert(reqs.end(), returns.begin(), returns.end());
    if (reqs.empty()) {
      batch.clear();
      if (last)
        return;
      continue;
    }
    auto results = client->take_many(reqs);
    {
      // What a take got beyond its waiting checks is the bucket's lease.
      std::lock_guard<std::mutex> guard{mtx_};
      auto expires = clock::now() + lease_ttl;
      for (size_t g = 0; g < asked; ++g) {
        auto l = leases_.find(reqs[g].key);
        if (l != leases_.end())
          l->second.refilling = false;
        auto& r = results[g];
        if (!r || r->granted <= groups[g].size())
          continue;
        if (l == leases_.end())
          l = leases_.emplace(reqs[g].key, lease{}).first;
        l->second.r = {reqs[g].rate, reqs[g].burst};
        auto extra = r->granted - static_cast<unsigned>(groups[g].size());
        l->second.tokens += extra;
        l->second.last_grant = extra;
        held_ += extra;
        l->second.expires = expires;
      }
    }
    for (size_t g = 0; g < asked; ++g) {
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
    if (last)
      return;
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

#include "actors/error.hpp"
#include "runtime/cache/cache_client.hpp"
#include "runtime/reconnect_gate.hpp"

#include <hiredis/hiredis.h>

#include <cstdlib>
#include <cstring>
#include <vector>

namespace sbx {

namespace {

struct redis_endpoint {
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string password;
  int db = 0;
};

redis_endpoint parse_url(const std::string& url) {
  redis_endpoint ep;
  auto rest = url.substr(url.find("://") + 3);
  if (auto at = rest.rfind('@'); at != std::string::npos) {
    auto userinfo = rest.substr(0, at);
    auto colon = userinfo.find(':');
    ep.password = colon == std::string::npos ? userinfo
                                             : userinfo.substr(colon + 1);
    rest = rest.substr(at + 1);
  }
  if (auto slash = rest.find('/'); slash != std::string::npos) {
    auto db = rest.substr(slash + 1);
    if (!db.empty())
      ep.db = std::atoi(db.c_str());
    rest = rest.substr(0, slash);
  }
  if (auto colon = rest.rfind(':'); colon != std::string::npos) {
    ep.port = std::atoi(rest.substr(colon + 1).c_str());
    rest = rest.substr(0, colon);
  }
  if (!rest.empty())
    ep.host = rest;
  return ep;
}

/// The token bucket as GCRA, one atomic script: the key holds the time at
/// which the bucket would be full again ("theoretical arrival time"), on the
/// server's clock; one GET and one SET with expiry, so a check is cheap. It
/// grants as many of the tokens asked for as fit; a negative cost gives
/// tokens back (a gateway's unspent lease), never beyond a full bucket.
constexpr const char* bucket_script = R"lua(
local per = 1000 / tonumber(ARGV[1])
local limit = tonumber(ARGV[2]) * per
local cost = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
if cost < 0 then
  tat = math.max(now, tat + cost * per)
  if tat > now then
    redis.call('SET', KEYS[1], tostring(tat), 'PX', math.ceil(tat - now) + 1)
  else
    redis.call('DEL', KEYS[1])
  end
  return {0, 0, tostring((limit - (tat - now)) / per)}
end
local granted = math.min(cost, math.floor((limit - (tat - now)) / per + 1e-9))
if granted < 0 then granted = 0 end
local wait = 0
if granted < cost then
  wait = math.ceil(tat + (granted + 1) * per - now - limit)
end
if granted > 0 then
  tat = tat + granted * per
  redis.call('SET', KEYS[1], tostring(tat), 'PX', math.ceil(tat - now) + 1)
end
return {granted, wait, tostring((limit - (tat - now)) / per)}
)lua";

class redis_client final : public cache_client {
public:
  redis_client(const std::string& url, std::chrono::milliseconds timeout)
    : ep_(parse_url(url)), timeout_(timeout) {
    // nop
  }

  ~redis_client() override {
    disconnect();
  }

  caf::error ping() override {
    return command({"PING"}, [](redisReply* r) -> caf::error {
      if (r->type == REDIS_REPLY_STATUS && std::strcmp(r->str, "PONG") == 0)
        return caf::none;
      return make_error(ec::unavailable, "Redis answered PING oddly");
    });
  }

  caf::expected<bucket_take> take(const std::string& key, double rate,
                                  double burst, double cost) override {
    return std::move(take_many({{key, rate, burst, cost}}).front());
  }

  std::vector<caf::expected<bucket_take>>
  take_many(const std::vector<bucket_request>& xs) override {
    auto all = [&](const caf::error& err) {
      return std::vector<caf::expected<bucket_take>>(xs.size(), err);
    };
    if (!ctx_)
      if (auto err = connect())
        return all(err);
    // The script's hash is known after the first load; a server that
    // forgot it (a restart) gets it again, and the batch is retried once.
    for (int attempt = 0; attempt < 2; ++attempt) {
      if (sha_.empty()) {
        auto err = raw({"SCRIPT", "LOAD", bucket_script}, [&](redisReply* r) {
          if (r->type != REDIS_REPLY_STRING)
            return make_error(ec::unavailable,
                              "Redis refused the bucket script");
          sha_ = r->str;
          return caf::error{};
        });
        if (err)
          return all(err);
      }
      // Pipelined: every command written, then every reply read.
      for (auto& x : xs) {
        auto rate = std::to_string(x.rate);
        auto burst = std::to_string(x.burst);
        auto cost = std::to_string(x.cost);
        const char* argv[] = {"EVALSHA",     sha_.c_str(),  "1",
                              x.key.c_str(), rate.c_str(),  burst.c_str(),
                              cost.c_str()};
        size_t lens[] = {7,           sha_.size(),  1,
                         x.key.size(), rate.size(), burst.size(),
                         cost.size()};
        if (redisAppendCommandArgv(ctx_, 7, argv, lens) != REDIS_OK)
          return all(fail("cannot send to Redis"));
      }
      std::vector<caf::expected<bucket_take>> out;
      bool noscript = false;
      for (size_t i = 0; i < xs.size(); ++i) {
        void* reply = nullptr;
        if (redisGetReply(ctx_, &reply) != REDIS_OK || reply == nullptr)
          return all(fail(ctx_ && ctx_->errstr[0] ? ctx_->errstr
                                                  : "connection lost"));
        auto r = static_cast<redisReply*>(reply);
        if (r->type == REDIS_REPLY_ERROR
            && std::strncmp(r->str, "NOSCRIPT", 8) == 0) {
          noscript = true;
        } else if (r->type != REDIS_REPLY_ARRAY || r->elements != 3) {
          out.push_back(make_error(ec::unavailable,
                                   r->type == REDIS_REPLY_ERROR
                                     ? std::string{"Redis: "} + r->str
                                     : "Redis answered the bucket oddly"));
        } else {
          out.push_back(bucket_take{
            static_cast<unsigned>(r->element[0]->integer),
            r->element[1]->integer,
            std::atof(r->element[2]->str ? r->element[2]->str : "0")});
        }
        freeReplyObject(r);
      }
      if (!noscript)
        return out;
      sha_.clear();
    }
    return all(make_error(ec::unavailable, "Redis keeps forgetting the "
                                           "bucket script"));
  }

private:
  timeval tv() const {
    auto us = std::chrono::duration_cast<std::chrono::microseconds>(timeout_);
    return {static_cast<time_t>(us.count() / 1'000'000),
            static_cast<suseconds_t>(us.count() % 1'000'000)};
  }

  void disconnect() {
    if (ctx_) {
      redisFree(ctx_);
      ctx_ = nullptr;
    }
  }

  caf::error fail(std::string why) {
    disconnect();
    gate_.failed(std::move(why));
    return make_error(ec::unavailable, "Redis unavailable: " + gate_.last_error());
  }

  caf::error connect() {
    if (!gate_.may_try())
      return make_error(ec::unavailable,
                        "Redis unavailable: " + gate_.last_error());
    auto t = tv();
    ctx_ = redisConnectWithTimeout(ep_.host.c_str(), ep_.port, t);
    if (ctx_ == nullptr)
      return fail("out of memory");
    if (ctx_->err)
      return fail(std::string{ctx_->errstr} + " (" + ep_.host + ":"
                  + std::to_string(ep_.port) + ")");
    redisSetTimeout(ctx_, t);
    redisEnableKeepAlive(ctx_);
    auto setup = [&](std::vector<std::string> args) -> caf::error {
      return raw(args, [](redisReply* r) -> caf::error {
        if (r->type == REDIS_REPLY_ERROR)
          return make_error(ec::unavailable, std::string{"Redis: "} + r->str);
        return caf::none;
      });
    };
    if (!ep_.password.empty())
      if (auto err = setup({"AUTH", ep_.password}))
        return fail(message_of(err));
    if (ep_.db != 0)
      if (auto err = setup({"SELECT", std::to_string(ep_.db)}))
        return fail(message_of(err));
    gate_.succeeded();
    return caf::none;
  }

  template <class F>
  caf::error raw(const std::vector<std::string>& args, F on_reply) {
    std::vector<const char*> argv;
    std::vector<size_t> lens;
    for (auto& a : args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    auto reply = static_cast<redisReply*>(redisCommandArgv(
      ctx_, static_cast<int>(argv.size()), argv.data(), lens.data()));
    if (reply == nullptr)
      return fail(ctx_->errstr[0] ? ctx_->errstr : "connection lost");
    auto err = on_reply(reply);
    freeReplyObject(reply);
    return err;
  }

  /// Runs one command on a live connection, (re)connecting as needed.
  template <class F>
  caf::error command(const std::vector<std::string>& args, F on_reply) {
    if (!ctx_)
      if (auto err = connect())
        return err;
    return raw(args, on_reply);
  }

  redis_endpoint ep_;
  std::chrono::milliseconds timeout_;
  redisContext* ctx_ = nullptr;
  reconnect_gate gate_;
  /// The bucket script's SHA-1 once loaded.
  std::string sha_;
};

} // namespace

cache_client_ptr make_redis_client(const std::string& url,
                                   std::chrono::milliseconds timeout) {
  return std::make_unique<redis_client>(url, timeout);
}

} // namespace sbx

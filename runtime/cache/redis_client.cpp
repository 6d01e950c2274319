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

/// The token bucket, one atomic script: refill by the time passed (the
/// server's clock), take if there is enough, say when there will be.
constexpr const char* bucket_script = R"lua(
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local b = redis.call('HMGET', KEYS[1], 't', 'ts')
local tokens = tonumber(b[1])
local ts = tonumber(b[2])
if tokens == nil or ts == nil then
  tokens = burst
  ts = now
end
tokens = math.min(burst, tokens + math.max(0, now - ts) * rate / 1000)
local allowed = 0
local wait = 0
if tokens >= cost then
  tokens = tokens - cost
  allowed = 1
else
  wait = math.ceil((cost - tokens) * 1000 / rate)
end
redis.call('HSET', KEYS[1], 't', tostring(tokens), 'ts', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst * 1000 / rate) + 1000)
return {allowed, wait, tostring(tokens)}
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
    bucket_take result;
    auto read = [&](redisReply* r) -> caf::error {
      if (r->type == REDIS_REPLY_ERROR)
        return make_error(ec::unavailable, std::string{"Redis: "} + r->str);
      if (r->type != REDIS_REPLY_ARRAY || r->elements != 3)
        return make_error(ec::unavailable, "Redis answered the bucket oddly");
      result.allowed = r->element[0]->integer == 1;
      result.retry_after_ms = r->element[1]->integer;
      result.remaining = std::atof(r->element[2]->str ? r->element[2]->str
                                                      : "0");
      return caf::none;
    };
    auto args = [&](const std::string& cmd, const std::string& script) {
      return std::vector<std::string>{cmd,
                                      script,
                                      "1",
                                      key,
                                      std::to_string(rate),
                                      std::to_string(burst),
                                      std::to_string(cost)};
    };
    // By hash after the first time; a server that forgot the script (it
    // restarted) gets it again.
    if (!sha_.empty()) {
      bool noscript = false;
      auto err = command(args("EVALSHA", sha_), [&](redisReply* r) {
        if (r->type == REDIS_REPLY_ERROR
            && std::strncmp(r->str, "NOSCRIPT", 8) == 0) {
          noscript = true;
          return caf::error{};
        }
        return read(r);
      });
      if (!noscript) {
        if (err)
          return err;
        return result;
      }
    }
    auto err = command({"SCRIPT", "LOAD", bucket_script}, [&](redisReply* r) {
      if (r->type != REDIS_REPLY_STRING)
        return make_error(ec::unavailable, "Redis refused the bucket script");
      sha_ = r->str;
      return caf::error{};
    });
    if (err)
      return err;
    if (auto err = command(args("EVALSHA", sha_), read))
      return err;
    return result;
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

#include "actors/error.hpp"
#include "runtime/cache/cache_client.hpp"
#include "runtime/reconnect_gate.hpp"

#include <hiredis/hiredis.h>

#include <cstring>

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
};

} // namespace

cache_client_ptr make_redis_client(const std::string& url,
                                   std::chrono::milliseconds timeout) {
  return std::make_unique<redis_client>(url, timeout);
}

} // namespace sbx

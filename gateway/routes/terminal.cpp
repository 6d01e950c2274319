// sandhive's WebSocket API, for what HTTP streams do badly: an interactive
// terminal (GET /v1/sandboxes/{id}/terminal) and a sandbox's lifecycle
// events (GET /v1/sandboxes/{id}/events). Both take the API key
// (X-API-KEY) or, where a client cannot set headers (a browser), a
// short-lived token from POST /v1/sandboxes/{id}/tokens as ?token=.

#include "actors/error.hpp"
#include "gateway/auth.hpp"
#include "gateway/bridge.hpp"
#include "gateway/routes/envd_common.hpp"
#include "gateway/routes/routes.hpp"
#include "gateway/sandbox_routes.hpp"
#include "runtime/auth/signature.hpp"

#include "envd.pb.h"

#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>

#include <nlohmann/json.hpp>

namespace sbx::routes {

namespace {

using nlohmann::json;
using sandhive::envd::FromEnvd;
using sandhive::envd::ToEnvd;

/// How long a token from POST …/tokens opens a WebSocket.
constexpr int64_t token_ttl_s = 60;

int64_t now_s() {
  return std::time(nullptr);
}

std::string dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

/// A token is "<expiry>.<signature>", signed with the sandbox's envd access
/// token the way E2B signs file URLs; it names the sandbox it opens.
std::string ws_signature(const std::string& id, const std::string& secret,
                         int64_t expiry) {
  return auth::file_signature("/v1/sandboxes/" + id, "websocket", "", secret,
                              expiry);
}

bool token_ok(const std::string& token, const sandbox_route& r) {
  auto dot = token.find('.');
  if (dot == std::string::npos || r.access_token.empty())
    return false;
  char* end = nullptr;
  auto expiry = std::strtoll(token.c_str(), &end, 10);
  if (end != token.c_str() + dot || expiry < now_s())
    return false;
  return same_secret(token.substr(dot + 1),
                     ws_signature(r.id, r.access_token, expiry));
}

/// Finds sandbox {id} for a WebSocket request authorized by the API key of
/// its team or by a token; answers 401/404 itself.
void with_ws_sandbox(api_context& ctx, http::request& req,
                     const http::responder& respond,
                     std::function<void(const sandbox_route&)> f) {
  auto id = req.params["id"];
  auto not_found = [respond, id] {
    respond(http::response::error(404, "sandbox \"" + id + "\" not found"));
  };
  if (auto token = req.query_param("token"); token && req.header("X-API-KEY").empty()) {
    ctx.sandboxes.find(id, [token = *token, respond, f,
                            not_found](caf::expected<sandbox_route> r) {
      if (!r)
        return not_found();
      if (!token_ok(token, *r))
        return respond(http::response::error(
          401, "invalid or expired token: get one from POST "
               "/v1/sandboxes/{id}/tokens"));
      f(*r);
    });
    return;
  }
  ctx.auth.check(req, respond, [&ctx, id, respond, f,
                                not_found](const api_key_info& key) {
    ctx.sandboxes.find(id, [key, f, not_found](caf::expected<sandbox_route> r) {
      if (!r || r->team != key.team_id)
        return not_found();
      f(*r);
    });
  });
}

// -- the terminal ---------------------------------------------------------------

/// Runs a PTY shell in the sandbox for one WebSocket: PTY output goes out as
/// binary messages (each acknowledged to envd once written, so a slow
/// client slows the shell down), binary messages in are keystrokes, and
/// text messages are JSON commands ({"type":"resize","cols":…,"rows":…}).
/// The shell is killed when the socket closes.
caf::behavior terminal_actor(caf::event_based_actor* self, sandbox_actor sb,
                             std::shared_ptr<http::ws_channel> ch,
                             std::string user, uint32_t cols, uint32_t rows) {
  struct state {
    uint32_t pid = 0;
    uint64_t stream = 0;
    std::vector<std::string> early_input;
    bool done = false;
  };
  auto st = std::make_shared<state>();
  auto finish = [self, ch, st](const json& last) {
    if (st->done)
      return;
    st->done = true;
    ch->send(dump(last), false);
    ch->close(last.value("type", "closed"));
    self->quit();
  };
  auto envd_call = [self, sb](ToEnvd msg) {
    self->request(sb, std::chrono::seconds{10}, atom::request_v,
                  envd_request{msg.SerializeAsString()})
      .then([](const envd_reply&) {}, [](caf::error&) {});
  };
  auto send_input = [envd_call, st](std::string data) {
    ToEnvd msg;
    msg.mutable_send_input()->mutable_process()->set_pid(st->pid);
    msg.mutable_send_input()->mutable_input()->set_pty(std::move(data));
    envd_call(std::move(msg));
  };
  ToEnvd start;
  auto s = start.mutable_start();
  s->set_user(user);
  auto p = s->mutable_request()->mutable_process();
  p->set_cmd("/bin/bash");
  p->add_args("-i");
  p->add_args("-l");
  (*p->mutable_envs())["TERM"] = "xterm-256color";
  (*p->mutable_envs())["LANG"] = "C.UTF-8";
  s->mutable_request()->mutable_pty()->mutable_size()->set_cols(cols);
  s->mutable_request()->mutable_pty()->mutable_size()->set_rows(rows);
  self->monitor(sb);
  self->set_down_handler([finish](caf::down_msg&) {
    finish({{"type", "error"}, {"message", "the sandbox is gone"}});
  });
  self->request(sb, std::chrono::seconds{30}, atom::stream_v,
                envd_request{start.SerializeAsString()},
                caf::actor_cast<caf::actor>(self))
    .then([st](uint64_t id) { st->stream = id; },
          [finish](caf::error& err) {
            finish({{"type", "error"}, {"message", message_of(err)}});
          });
  return {
    [=](atom::event, uint64_t id, const envd_reply& reply) {
      st->stream = id;
      FromEnvd m;
      if (!m.ParseFromString(reply.bytes))
        return;
      if (m.has_error())
        return finish({{"type", "error"}, {"message", m.error().message()}});
      if (m.has_done())
        return finish({{"type", "closed"}});
      if (!m.has_event())
        return;
      auto& ev = m.event();
      if (ev.has_start()) {
        st->pid = ev.start().pid();
        ch->send(dump({{"type", "started"}, {"pid", st->pid}}), false);
        for (auto& x : st->early_input)
          send_input(std::move(x));
        st->early_input.clear();
      } else if (ev.has_data()) {
        auto n = ev.data().pty().size();
        ch->send(ev.data().pty(), true, [sb, id, n] {
          caf::anon_send(sb, atom::ack_v, id, static_cast<uint64_t>(n));
        });
      } else if (ev.has_end()) {
        finish({{"type", "exit"},
                {"exitCode", ev.end().exit_code()},
                {"status", ev.end().status()}});
      }
    },
    [=](atom::write, std::string& data) {
      if (st->pid == 0)
        st->early_input.push_back(std::move(data));
      else
        send_input(std::move(data));
    },
    [=](atom::size, uint32_t c, uint32_t r) {
      if (st->pid == 0)
        return;
      ToEnvd msg;
      auto u = msg.mutable_update();
      u->mutable_process()->set_pid(st->pid);
      u->mutable_pty()->mutable_size()->set_cols(c);
      u->mutable_pty()->mutable_size()->set_rows(r);
      envd_call(std::move(msg));
    },
    [=](atom::kill) {
      // The client left: the shell goes with it.
      if (st->pid != 0) {
        ToEnvd msg;
        auto k = msg.mutable_send_signal();
        k->mutable_process()->set_pid(st->pid);
        k->set_signal(process::SIGNAL_SIGKILL);
        caf::anon_send(sb, atom::request_v,
                       envd_request{msg.SerializeAsString()});
      }
      st->done = true;
      self->quit();
    },
  };
}

/// A WebSocket served by one actor on one sandbox; the actor stops when
/// the socket closes.
class sandbox_ws_handler : public http::ws_handler {
public:
  sandbox_ws_handler(caf::actor_system& sys, sandbox_actor sb)
    : sys_(sys), sb_(std::move(sb)) {
    // nop
  }

  void on_close() override {
    if (actor_)
      caf::anon_send(actor_, atom::kill_v);
  }

protected:
  caf::actor_system& sys_;
  sandbox_actor sb_;
  caf::actor actor_;
};

class terminal_handler : public sandbox_ws_handler {
public:
  terminal_handler(caf::actor_system& sys, sandbox_actor sb, std::string user,
                   uint32_t cols, uint32_t rows)
    : sandbox_ws_handler(sys, std::move(sb)), user_(std::move(user)),
      cols_(cols), rows_(rows) {
    // nop
  }

  void on_open(std::shared_ptr<http::ws_channel> ch) override {
    actor_ = sys_.spawn(terminal_actor, sb_, std::move(ch), user_, cols_,
                        rows_);
  }

  void on_message(std::string data, bool binary) override {
    if (binary) {
      caf::anon_send(actor_, atom::write_v, std::move(data));
      return;
    }
    auto j = json::parse(data, nullptr, false);
    if (!j.is_object())
      return;
    auto type = j.value("type", "");
    if (type == "resize") {
      auto cols = j.value("cols", 0u);
      auto rows = j.value("rows", 0u);
      if (cols > 0 && rows > 0 && cols <= 1000 && rows <= 1000)
        caf::anon_send(actor_, atom::size_v, cols, rows);
    } else if (type == "input" && j.contains("data")
               && j["data"].is_string()) {
      caf::anon_send(actor_, atom::write_v, j["data"].get<std::string>());
    }
  }

private:
  std::string user_;
  uint32_t cols_;
  uint32_t rows_;
};

// -- lifecycle events ---------------------------------------------------------

/// Sends a sandbox's state changes as JSON text messages until it ends.
class events_handler : public sandbox_ws_handler {
public:
  using sandbox_ws_handler::sandbox_ws_handler;

  void on_open(std::shared_ptr<http::ws_channel> ch) override {
    actor_ = sys_.spawn([sb = sb_, ch](caf::event_based_actor* self) {
      auto send = [ch](const std::string& id, const std::string& state,
                       const std::string& reason, int64_t at_ms) {
        ch->send(dump({{"type", "lifecycle"},
                       {"sandboxID", id},
                       {"state", state},
                       {"reason", reason},
                       {"at", rfc3339(at_ms)}}),
                 false);
        if (state == "killed")
          ch->close("sandbox ended");
      };
      self->monitor(sb);
      self->set_down_handler([self, ch](caf::down_msg&) {
        ch->close("sandbox ended");
        self->quit();
      });
      self->request(sb, std::chrono::seconds{10}, atom::get_v)
        .then([self, sb, send](const sandbox_info& info) {
          send(info.id, info.state, "", info.started_at_ms);
          caf::anon_send(sb, atom::subscribe_v,
                         caf::actor_cast<caf::actor>(self));
        });
      return caf::behavior{
        [send](atom::event, const sandbox_event& ev) {
          send(ev.id, ev.state, ev.reason, ev.at_ms);
        },
        [self](atom::kill) { self->quit(); },
      };
    });
  }

  void on_message(std::string, bool) override {
    // The stream is one-way; client messages are ignored.
  }
};

uint32_t dimension(const http::request& req, const char* name, uint32_t dflt) {
  auto v = req.query_param(name);
  if (!v)
    return dflt;
  auto n = std::strtoul(v->c_str(), nullptr, 10);
  return n >= 1 && n <= 1000 ? static_cast<uint32_t>(n) : dflt;
}

} // namespace

void add_websockets(http::router& r, api_context& ctx) {
  r.add("POST", "/v1/sandboxes/{id}/tokens",
        [&ctx](http::request& req, http::responder respond) {
          ctx.auth.check(req, respond, [&ctx, id = req.params["id"],
                                        respond](const api_key_info& key) {
            ctx.sandboxes.find(id, [id, key,
                                    respond](caf::expected<sandbox_route> r) {
              if (!r || r->team != key.team_id)
                return respond(http::response::error(
                  404, "sandbox \"" + id + "\" not found"));
              if (r->access_token.empty())
                return respond(http::response::error(
                  409, "sandbox \"" + id + "\" is not secured: use the API key"));
              auto expiry = now_s() + token_ttl_s;
              respond(http::response::json(
                201, dump({{"token", std::to_string(expiry) + "."
                                       + ws_signature(id, r->access_token,
                                                      expiry)},
                           {"expiresAt", rfc3339(expiry * 1000)}})));
            });
          });
        });
  r.add("GET", "/v1/sandboxes/{id}/terminal",
        [&ctx](http::request& req, http::responder respond) {
          if (!http::is_websocket_upgrade(req))
            return respond(http::response::error(
              400, "this endpoint is a WebSocket: send an upgrade request"));
          auto user = req.query_param("user").value_or("");
          auto cols = dimension(req, "cols", 80);
          auto rows = dimension(req, "rows", 24);
          with_ws_sandbox(ctx, req, respond, [&ctx, respond, user, cols,
                                              rows](const sandbox_route& r) {
            http::response res;
            res.upgrade = std::make_shared<terminal_handler>(ctx.sys, r.handle,
                                                             user, cols, rows);
            respond(std::move(res));
          });
        });
  r.add("GET", "/v1/sandboxes/{id}/events",
        [&ctx](http::request& req, http::responder respond) {
          if (!http::is_websocket_upgrade(req))
            return respond(http::response::error(
              400, "this endpoint is a WebSocket: send an upgrade request"));
          with_ws_sandbox(ctx, req, respond,
                          [&ctx, respond](const sandbox_route& r) {
                            http::response res;
                            res.upgrade = std::make_shared<events_handler>(
                              ctx.sys, r.handle);
                            respond(std::move(res));
                          });
        });
}

} // namespace sbx::routes

// The E2B data plane's Connect RPC services (shared/E2B-PROTOCOL.md §3-§5):
// process.Process and filesystem.Filesystem, routed by the E2b-Sandbox-Id
// header, passed to the sandbox's envd as the same protobuf messages.

#include "actors/error.hpp"
#include "gateway/bridge.hpp"
#include "gateway/connect/codec.hpp"
#include "gateway/envd_stream.hpp"
#include "gateway/routes/routes.hpp"
#include "gateway/routes/envd_common.hpp"
#include "gateway/sandbox_routes.hpp"

#include "envd.pb.h"

#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>

namespace sbx::routes {

namespace {

using google::protobuf::Message;
using sandhive::envd::FromEnvd;
using sandhive::envd::ToEnvd;

/// What a call brings besides its message.
struct call_env {
  /// The user of Authorization: Basic (empty: the sandbox's default).
  std::string user;
  /// Connect-Timeout-Ms (0: none).
  uint32_t timeout_ms = 0;
};

/// One RPC: how its request becomes a ToEnvd and envd's answer its reply.
struct rpc_method {
  bool streaming = false;
  std::function<std::unique_ptr<Message>()> make_request;
  std::function<void(const Message&, const call_env&, ToEnvd&)> to_envd;
  /// Unary: the reply to envd's answer; streams: one message of the stream
  /// (null when the answer does not belong in it).
  std::function<std::unique_ptr<Message>(const FromEnvd&)> reply;
  /// Streams: the keepalive message.
  std::function<std::unique_ptr<Message>()> keepalive;
};

template <class Req, class F>
std::function<void(const Message&, const call_env&, ToEnvd&)> fill(F f) {
  return [f](const Message& m, const call_env& env, ToEnvd& out) {
    f(static_cast<const Req&>(m), env, out);
  };
}

template <class Req>
std::function<std::unique_ptr<Message>()> make() {
  return [] { return std::make_unique<Req>(); };
}

/// A unary call answered by envd's Done.
template <class Req, class Resp, class F>
rpc_method unary_done(F f) {
  return {false, make<Req>(), fill<Req>(f),
          [](const FromEnvd& msg) -> std::unique_ptr<Message> {
            if (!msg.has_done())
              return nullptr;
            return std::make_unique<Resp>();
          },
          nullptr};
}

/// A unary filesystem call answered by an EntryInfo.
template <class Req, class Resp, class F>
rpc_method unary_entry(F f) {
  return {false, make<Req>(), fill<Req>(f),
          [](const FromEnvd& msg) -> std::unique_ptr<Message> {
            if (!msg.has_entry())
              return nullptr;
            auto r = std::make_unique<Resp>();
            *r->mutable_entry() = msg.entry();
            return r;
          },
          nullptr};
}

/// A process stream: every ProcessEvent wrapped as {event: …}.
template <class Req, class Resp, class F>
rpc_method process_stream(F f) {
  return {true, make<Req>(), fill<Req>(f),
          [](const FromEnvd& msg) -> std::unique_ptr<Message> {
            if (!msg.has_event())
              return nullptr;
            auto r = std::make_unique<Resp>();
            *r->mutable_event() = msg.event();
            return r;
          },
          [] {
            auto r = std::make_unique<Resp>();
            r->mutable_event()->mutable_keepalive();
            return r;
          }};
}

const std::map<std::string, rpc_method>& methods() {
  static const std::map<std::string, rpc_method> table = {
    // -- process.Process ------------------------------------------------------
    {"process.Process/Start",
     process_stream<process::StartRequest, process::StartResponse>(
       [](const process::StartRequest& r, const call_env& env, ToEnvd& out) {
         auto s = out.mutable_start();
         *s->mutable_request() = r;
         s->set_user(env.user);
         s->set_timeout_ms(env.timeout_ms);
       })},
    {"process.Process/Connect",
     process_stream<process::ConnectRequest, process::ConnectResponse>(
       [](const process::ConnectRequest& r, const call_env&, ToEnvd& out) {
         *out.mutable_connect() = r;
       })},
    {"process.Process/List",
     {false, make<process::ListRequest>(),
      fill<process::ListRequest>(
        [](const process::ListRequest& r, const call_env&, ToEnvd& out) {
          *out.mutable_list() = r;
        }),
      [](const FromEnvd& msg) -> std::unique_ptr<Message> {
        if (!msg.has_processes())
          return nullptr;
        return std::make_unique<process::ListResponse>(msg.processes());
      },
      nullptr}},
    {"process.Process/SendInput",
     unary_done<process::SendInputRequest, process::SendInputResponse>(
       [](const process::SendInputRequest& r, const call_env&, ToEnvd& out) {
         *out.mutable_send_input() = r;
       })},
    {"process.Process/SendSignal",
     unary_done<process::SendSignalRequest, process::SendSignalResponse>(
       [](const process::SendSignalRequest& r, const call_env&, ToEnvd& out) {
         *out.mutable_send_signal() = r;
       })},
    {"process.Process/Update",
     unary_done<process::UpdateRequest, process::UpdateResponse>(
       [](const process::UpdateRequest& r, const call_env&, ToEnvd& out) {
         *out.mutable_update() = r;
       })},
    {"process.Process/CloseStdin",
     unary_done<process::CloseStdinRequest, process::CloseStdinResponse>(
       [](const process::CloseStdinRequest& r, const call_env&, ToEnvd& out) {
         *out.mutable_close_stdin() = r;
       })},
    // -- filesystem.Filesystem ------------------------------------------------
    {"filesystem.Filesystem/Stat",
     unary_entry<filesystem::StatRequest, filesystem::StatResponse>(
       [](const filesystem::StatRequest& r, const call_env& env, ToEnvd& out) {
         out.mutable_fs()->set_user(env.user);
         *out.mutable_fs()->mutable_stat() = r;
       })},
    {"filesystem.Filesystem/MakeDir",
     unary_entry<filesystem::MakeDirRequest, filesystem::MakeDirResponse>(
       [](const filesystem::MakeDirRequest& r, const call_env& env,
          ToEnvd& out) {
         out.mutable_fs()->set_user(env.user);
         *out.mutable_fs()->mutable_make_dir() = r;
       })},
    {"filesystem.Filesystem/Move",
     unary_entry<filesystem::MoveRequest, filesystem::MoveResponse>(
       [](const filesystem::MoveRequest& r, const call_env& env, ToEnvd& out) {
         out.mutable_fs()->set_user(env.user);
         *out.mutable_fs()->mutable_move() = r;
       })},
    {"filesystem.Filesystem/ListDir",
     {false, make<filesystem::ListDirRequest>(),
      fill<filesystem::ListDirRequest>(
        [](const filesystem::ListDirRequest& r, const call_env& env,
           ToEnvd& out) {
          out.mutable_fs()->set_user(env.user);
          *out.mutable_fs()->mutable_list_dir() = r;
        }),
      [](const FromEnvd& msg) -> std::unique_ptr<Message> {
        if (!msg.has_entries())
          return nullptr;
        return std::make_unique<filesystem::ListDirResponse>(msg.entries());
      },
      nullptr}},
    {"filesystem.Filesystem/Remove",
     unary_done<filesystem::RemoveRequest, filesystem::RemoveResponse>(
       [](const filesystem::RemoveRequest& r, const call_env& env,
          ToEnvd& out) {
         out.mutable_fs()->set_user(env.user);
         *out.mutable_fs()->mutable_remove() = r;
       })},
    {"filesystem.Filesystem/WatchDir",
     {true, make<filesystem::WatchDirRequest>(),
      fill<filesystem::WatchDirRequest>(
        [](const filesystem::WatchDirRequest& r, const call_env& env,
           ToEnvd& out) {
          out.mutable_fs()->set_user(env.user);
          *out.mutable_fs()->mutable_watch() = r;
        }),
      [](const FromEnvd& msg) -> std::unique_ptr<Message> {
        auto r = std::make_unique<filesystem::WatchDirResponse>();
        if (msg.has_watch_started())
          r->mutable_start();
        else if (msg.has_fs_event())
          *r->mutable_filesystem() = msg.fs_event();
        else
          return nullptr;
        return r;
      },
      [] {
        auto r = std::make_unique<filesystem::WatchDirResponse>();
        r->mutable_keepalive();
        return r;
      }}},
  };
  return table;
}

connect::code to_connect(sandhive::envd::Code c) {
  using namespace sandhive::envd;
  switch (c) {
    case CODE_INVALID_ARGUMENT:
      return connect::code::invalid_argument;
    case CODE_NOT_FOUND:
      return connect::code::not_found;
    case CODE_ALREADY_EXISTS:
      return connect::code::already_exists;
    case CODE_PERMISSION_DENIED:
      return connect::code::permission_denied;
    case CODE_RESOURCE_EXHAUSTED:
      return connect::code::resource_exhausted;
    case CODE_FAILED_PRECONDITION:
      return connect::code::failed_precondition;
    case CODE_INTERNAL:
      return connect::code::internal;
    case CODE_UNAVAILABLE:
      return connect::code::unavailable;
    case CODE_DEADLINE_EXCEEDED:
      return connect::code::deadline_exceeded;
    case CODE_UNAUTHENTICATED:
      return connect::code::unauthenticated;
    default:
      return connect::code::unknown;
  }
}

http::response unary_error(const connect::error& e) {
  return http::response::json(connect::http_status(e.code),
                              connect::error_body(e));
}

/// The Connect error for an actor-level failure (the sandbox went away,
/// a deadline passed).
connect::error from_caf(const caf::error& err) {
  auto c = err == ec::not_found        ? connect::code::not_found
           : err == ec::invalid_argument ? connect::code::invalid_argument
           : err == ec::timeout          ? connect::code::deadline_exceeded
                                         : connect::code::unavailable;
  return {c, message_of(err)};
}

/// A header value as a number, 0 when absent or malformed.
uint64_t header_number(const http::request& req, std::string_view name) {
  auto v = req.header(name);
  char* end = nullptr;
  auto n = std::strtoull(v.c_str(), &end, 10);
  return v.empty() || *end != '\0' ? 0 : n;
}

// -- polling watchers (CreateWatcher, GetWatcherEvents, RemoveWatcher) ------

/// Watches kept between polls: the Python SDK's synchronous watch_dir.
struct watcher_registry {
  struct entry {
    std::string sandbox;
    caf::actor actor;
  };
  std::mutex mtx;
  std::map<std::string, entry> watchers;
};

/// Events a polling watcher keeps before it drops the oldest.
constexpr size_t watcher_backlog = 10'000;

using events_list = std::vector<std::string>;

void create_watcher(api_context& ctx, std::shared_ptr<watcher_registry> reg,
                    const sandbox_route& route, ToEnvd msg,
                    connect::call_kind kind, http::responder respond) {
  auto id = auth_random_id();
  auto sandbox = route.handle;
  auto actor = ctx.sys.spawn([sandbox, msg, kind, respond, id,
                              reg](caf::event_based_actor* self) {
    auto events = std::make_shared<std::deque<std::string>>();
    auto me = caf::actor_cast<caf::actor>(self);
    self->request(sandbox, std::chrono::seconds{30}, atom::stream_v,
                  envd_request{msg.SerializeAsString()}, me)
      .then(
        [](uint64_t) {},
        [self, respond](caf::error& err) {
          respond(unary_error(from_caf(err)));
          self->quit();
        });
    return caf::behavior{
      [self, events, respond, id, kind, reg](atom::event, uint64_t,
                                              const envd_reply& reply) {
        FromEnvd m;
        if (!m.ParseFromString(reply.bytes))
          return;
        if (m.has_watch_started()) {
          filesystem::CreateWatcherResponse r;
          r.set_watcher_id(id);
          respond(http::response::text(200, connect::encode(kind.fmt, r),
                                       connect::content_type(kind)));
          return;
        }
        if (m.has_error()) {
          respond(unary_error({to_connect(m.error().code()),
                               m.error().message()}));
          std::lock_guard<std::mutex> guard{reg->mtx};
          reg->watchers.erase(id);
          self->quit();
          return;
        }
        if (m.has_fs_event()) {
          if (events->size() >= watcher_backlog)
            events->pop_front();
          events->push_back(m.fs_event().SerializeAsString());
        }
      },
      [events](atom::get_atom) -> events_list {
        events_list out{events->begin(), events->end()};
        events->clear();
        return out;
      },
    };
  });
  std::lock_guard<std::mutex> guard{reg->mtx};
  reg->watchers[id] = {route.id, actor};
}

/// Dispatches one Connect call once the sandbox is known.
void call(api_context& ctx, std::shared_ptr<watcher_registry> reg,
          const std::string& name, connect::call_kind kind,
          const http::request& req, const sandbox_route& route,
          const std::string& user, http::responder respond) {
  connect::error err;
  // Python's synchronous watchers, kept by the gateway between polls.
  if (name == "filesystem.Filesystem/CreateWatcher") {
    filesystem::CreateWatcherRequest r;
    if (!connect::decode(kind.fmt, req.body, r, err))
      return respond(unary_error(err));
    ToEnvd msg;
    msg.mutable_fs()->set_user(user);
    auto w = msg.mutable_fs()->mutable_watch();
    w->set_path(r.path());
    w->set_recursive(r.recursive());
    w->set_include_entry(r.include_entry());
    return create_watcher(ctx, reg, route, msg, kind, std::move(respond));
  }
  if (name == "filesystem.Filesystem/GetWatcherEvents"
      || name == "filesystem.Filesystem/RemoveWatcher") {
    filesystem::GetWatcherEventsRequest r; // same field as RemoveWatcher's
    if (!connect::decode(kind.fmt, req.body, r, err))
      return respond(unary_error(err));
    caf::actor w;
    {
      std::lock_guard<std::mutex> guard{reg->mtx};
      auto i = reg->watchers.find(r.watcher_id());
      if (i != reg->watchers.end() && i->second.sandbox == route.id) {
        w = i->second.actor;
        if (name == "filesystem.Filesystem/RemoveWatcher")
          reg->watchers.erase(i);
      }
    }
    if (!w)
      return respond(unary_error({connect::code::not_found,
                                  "watcher '" + r.watcher_id()
                                    + "' not found"}));
    if (name == "filesystem.Filesystem/RemoveWatcher") {
      caf::anon_send_exit(w, caf::exit_reason::user_shutdown);
      filesystem::RemoveWatcherResponse out;
      return respond(http::response::text(200, connect::encode(kind.fmt, out),
                                          connect::content_type(kind)));
    }
    ctx.bridge.request(
      caf::actor_cast<caf::actor>(w),
      [respond, kind](const events_list& events) {
        filesystem::GetWatcherEventsResponse out;
        for (auto& e : events)
          out.add_events()->ParseFromString(e);
        respond(http::response::text(200, connect::encode(kind.fmt, out),
                                     connect::content_type(kind)));
      },
      [respond](const caf::error& e) { respond(unary_error(from_caf(e))); },
      atom::get_v);
    return;
  }
  auto i = methods().find(name);
  if (i == methods().end())
    return respond(unary_error({connect::code::unimplemented,
                                name + " is not implemented"}));
  auto& m = i->second;
  if (m.streaming != kind.streaming)
    return respond(unary_error(
      {connect::code::invalid_argument,
       name
         + (m.streaming
              ? " is a server stream: send application/connect+json or "
                "application/connect+proto"
              : " is unary: send application/json or application/proto")}));
  std::string payload = req.body;
  if (kind.streaming) {
    auto one = connect::single_envelope(req.body, err);
    if (!one) {
      // A malformed stream request still gets a Connect stream back.
      http::response res{200, {{"Content-Type", connect::content_type(kind)}},
                         connect::end_stream(err)};
      return respond(std::move(res));
    }
    payload = std::move(*one);
  }
  auto request = m.make_request();
  if (!connect::decode(kind.fmt, payload, *request, err)) {
    if (kind.streaming)
      return respond({200,
                      {{"Content-Type", connect::content_type(kind)}},
                      connect::end_stream(err)});
    return respond(unary_error(err));
  }
  call_env env;
  env.user = user;
  auto timeout_ms = header_number(req, "Connect-Timeout-Ms");
  env.timeout_ms = static_cast<uint32_t>(std::min<uint64_t>(timeout_ms,
                                                            UINT32_MAX));
  ToEnvd msg;
  m.to_envd(*request, env, msg);
  envd_request er{msg.SerializeAsString()};
  if (!kind.streaming) {
    ctx.bridge.request(
      route.handle,
      [respond, kind, &m](const envd_reply& reply) {
        FromEnvd out;
        if (!out.ParseFromString(reply.bytes))
          return respond(unary_error(
            {connect::code::internal, "the sandbox sent a malformed reply"}));
        if (out.has_error())
          return respond(unary_error({to_connect(out.error().code()),
                                      out.error().message()}));
        auto r = m.reply(out);
        if (!r)
          return respond(unary_error(
            {connect::code::internal, "the sandbox sent an unexpected reply"}));
        respond(http::response::text(200, connect::encode(kind.fmt, *r),
                                     connect::content_type(kind)));
      },
      [respond](const caf::error& e) { respond(unary_error(from_caf(e))); },
      atom::request_v, std::move(er));
    return;
  }
  stream_spec spec;
  spec.request = std::move(er);
  spec.head = http::response{200,
                             {{"Content-Type", connect::content_type(kind)}},
                             {}};
  spec.piece = [&m, kind](const FromEnvd& msg) -> std::string {
    auto r = m.reply(msg);
    return r ? connect::envelope(0, connect::encode(kind.fmt, *r))
             : std::string{};
  };
  spec.end = [](const sandhive::envd::Error* e) {
    if (!e)
      return connect::end_stream();
    return connect::end_stream(
      connect::error{to_connect(e->code()), e->message()});
  };
  spec.keepalive = connect::envelope(0, connect::encode(kind.fmt,
                                                        *m.keepalive()));
  auto ping = header_number(req, "Keepalive-Ping-Interval");
  spec.keepalive_every = std::chrono::seconds{ping > 0 ? ping : 90};
  // A Start's timeout is the process's lifetime: envd kills it and reports
  // its end; the stream's own deadline only backs that up.
  if (timeout_ms > 0)
    spec.deadline = std::chrono::milliseconds{
      timeout_ms + (name == "process.Process/Start" ? 2000 : 0)};
  start_envd_stream(ctx.sys, route.handle, std::move(spec),
                    std::move(respond));
}

} // namespace

void add_envd_api(http::router& r, api_context& ctx) {
  auto reg = std::make_shared<watcher_registry>();
  auto rpc = [&ctx, reg](const char* service) {
    return [&ctx, reg, service](http::request& req, http::responder respond) {
      auto name = std::string{service} + "/" + req.params["method"];
      auto kind = connect::classify(req.header("Content-Type"));
      if (!kind)
        return respond(http::response::json(
          415, connect::error_body(
                 {connect::code::invalid_argument,
                  "unsupported Content-Type '" + req.header("Content-Type")
                    + "': Connect takes application/json, application/proto "
                      "or application/connect+json|proto"})));
      auto user = basic_auth_user(req);
      if (!user)
        return respond(unary_error({connect::code::unauthenticated,
                                    "malformed Authorization header"}));
      with_envd_sandbox(
        ctx, req, respond,
        [&ctx, reg, name, kind = *kind, req, respond,
         user = *user](const sandbox_route& route) {
          call(ctx, reg, name, kind, req, route, user, respond);
        });
    };
  };
  r.add("POST", "/process.Process/{method}", rpc("process.Process"));
  r.add("POST", "/filesystem.Filesystem/{method}",
        rpc("filesystem.Filesystem"));
}

} // namespace sbx::routes

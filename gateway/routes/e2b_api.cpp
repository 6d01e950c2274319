// The E2B control plane (shared/E2B-PROTOCOL.md §1): sandboxes and
// templates, v1 and v2, with E2B's JSON shapes and error bodies.

#include "actors/error.hpp"
#include "gateway/auth.hpp"
#include "gateway/backends.hpp"
#include "gateway/bridge.hpp"
#include "gateway/routes/json_body.hpp"
#include "gateway/routes/routes.hpp"
#include "gateway/sandbox_routes.hpp"
#include "runtime/auth/api_key.hpp"

#include <caf/send.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <mutex>
#include <unordered_map>

namespace sbx::routes {

namespace {

using nlohmann::json;

/// The longest lifetime a client may ask for, as E2B's largest plan.
constexpr int64_t max_timeout_s = 24 * 3600;

/// The longest refresh E2B allows.
constexpr int64_t max_refresh_s = 3600;

int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch())
    .count();
}

} // namespace

std::string rfc3339(int64_t ms) {
  auto secs = static_cast<time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
  char out[48];
  std::snprintf(out, sizeof(out), "%s.%03dZ", buf, static_cast<int>(ms % 1000));
  return out;
}

namespace {

/// The body's `timeout` in seconds, which must lie in 1..max_timeout_s;
/// `dflt` when absent (required when `dflt` is empty). Answers 400 itself.
std::optional<int64_t> timeout_field(const json& body,
                                     std::optional<int64_t> dflt,
                                     const http::responder& respond) {
  std::optional<int64_t> value;
  if (auto i = body.find("timeout"); i != body.end() && !i->is_null()) {
    int64_t v = 0;
    if (!field(body, "timeout", v, respond))
      return std::nullopt;
    value = v;
  } else {
    value = dflt;
  }
  if (!value) {
    respond(http::response::error(400, "field 'timeout' is required"));
    return std::nullopt;
  }
  if (*value >= 1 && *value <= max_timeout_s)
    return value;
  respond(http::response::error(
    400, "field 'timeout' must be between 1 and "
           + std::to_string(max_timeout_s) + " seconds, not "
           + std::to_string(*value)));
  return std::nullopt;
}

/// Answers an actor error with E2B's body.
auto fail_with(const http::responder& respond) {
  return [respond](const caf::error& err) {
    respond(bridge::to_response(err));
  };
}

/// E2B's metadata filter is encoded more than once (§1.5): the query value,
/// decoded once already, is decoded again, split on & and =, and each key
/// and value decoded a last time.
std::optional<std::map<std::string, std::string>>
metadata_filter(const std::string& raw) {
  std::map<std::string, std::string> out;
  auto whole = http::percent_decode(raw, false);
  if (!whole)
    return std::nullopt;
  std::string_view rest = *whole;
  while (!rest.empty()) {
    auto amp = rest.find('&');
    auto pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view{}
                                         : rest.substr(amp + 1);
    if (pair.empty())
      continue;
    auto eq = pair.find('=');
    auto k = http::percent_decode(pair.substr(0, eq), false);
    auto v = http::percent_decode(
      eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1),
      false);
    if (!k || !v)
      return std::nullopt;
    out[*k] = *v;
  }
  return out;
}

} // namespace

// -- shapes -------------------------------------------------------------------

json sandbox_json(const api_context& ctx, const sandbox_info& info) {
  return {{"sandboxID", info.id},
          {"templateID", info.template_id},
          {"alias", info.template_id},
          {"clientID", ctx.client_id},
          {"envdVersion", ctx.envd_version},
          {"envdAccessToken", info.access_token.empty()
                                ? json(nullptr)
                                : json(info.access_token)},
          {"trafficAccessToken", nullptr},
          {"domain", nullptr}};
}

json listed_json(const api_context& ctx, const sandbox_info& info) {
  return {{"sandboxID", info.id},
          {"templateID", info.template_id},
          {"alias", info.template_id},
          {"clientID", ctx.client_id},
          {"startedAt", rfc3339(info.started_at_ms)},
          {"endAt", rfc3339(info.end_at_ms)},
          {"cpuCount", info.vcpu},
          {"memoryMB", info.memory_mb},
          {"diskSizeMB", info.disk_mb},
          {"state", info.state == "paused" ? "paused" : "running"},
          {"envdVersion", ctx.envd_version},
          {"metadata", info.metadata}};
}

json detail_json(const api_context& ctx, const sandbox_info& info) {
  auto j = listed_json(ctx, info);
  j["envdAccessToken"] = info.access_token.empty() ? json(nullptr)
                                                   : json(info.access_token);
  j["domain"] = nullptr;
  j["allowInternetAccess"] = false;
  return j;
}

/// The body of GET /sandboxes/{id} rendered once per published state of a
/// sandbox, not per request: rendering is a quarter of the route's cost
/// under load (bench/RESULTS.md). An entry is used only while the route
/// cache holds the very info it was rendered from.
struct detail_memo {
  std::shared_ptr<const std::string>
  body(const api_context& ctx,
       const std::shared_ptr<const sandbox_info>& info) {
    {
      std::lock_guard<std::mutex> guard{mtx};
      auto i = bodies.find(info->id);
      if (i != bodies.end() && i->second.first == info)
        return i->second.second;
    }
    auto out = std::make_shared<const std::string>(
      dump(detail_json(ctx, *info)));
    std::lock_guard<std::mutex> guard{mtx};
    // Ended sandboxes' entries go when the memo is full.
    if (bodies.size() >= 10'000)
      bodies.clear();
    bodies[info->id] = {info, out};
    return out;
  }

  std::mutex mtx;
  std::unordered_map<std::string,
                     std::pair<std::shared_ptr<const sandbox_info>,
                               std::shared_ptr<const std::string>>>
    bodies;
};

// -- routes -------------------------------------------------------------------

namespace {

/// Runs `f(team, route)` for sandbox {id} of the caller's team; another
/// team's sandbox is as unknown as a missing one.
template <class F>
void with_sandbox(api_context& ctx, http::request& req,
                  const http::responder& respond, F f) {
  ctx.auth.check(req, respond, [&ctx, id = req.params["id"], respond,
                                f](const api_key_info& key) {
    ctx.sandboxes.find(id, [id, respond, f,
                            key](caf::expected<sandbox_route> r) {
      if (!r || r->team != key.team_id) {
        if (r || r.error() == ec::not_found)
          respond(http::response::error(404, "sandbox \"" + id
                                               + "\" not found"));
        else
          respond(bridge::to_response(r.error()));
        return;
      }
      f(key, *r);
    });
  });
}

void create(api_context& ctx, http::request& req, http::responder respond,
            bool v2) {
  auto body = object_body(req, respond);
  if (!body)
    return;
  sandbox_request sr;
  std::string tpl;
  bool secure = v2;
  bool auto_pause = false;
  bool internet = false;
  if (!field(*body, "templateID", tpl, respond)
      || !field(*body, "metadata", sr.metadata, respond)
      || !field(*body, "envVars", sr.envs, respond)
      || !field(*body, "secure", secure, respond)
      || !field(*body, "autoPause", auto_pause, respond)
      || !field(*body, "allow_internet_access", internet, respond))
    return;
  if (tpl.empty()) {
    respond(http::response::error(400, "field 'templateID' is required"));
    return;
  }
  // v1's documented default is 15 s, but every SDK sends its own; v2's 300.
  auto timeout = timeout_field(*body, v2 ? 300 : 15, respond);
  if (!timeout)
    return;
  sr.template_id = tpl;
  sr.timeout_ms = *timeout * 1000;
  sr.auto_pause = auto_pause;
  // v2 is always secured; v1 only when asked (every SDK asks).
  if (secure || v2)
    sr.access_token = auth::random_hex(24);
  ctx.auth.check(req, respond, [&ctx, sr, req, respond](const api_key_info& key) {
    auto r = sr;
    r.team = key.team_id;
    r.api_key_id = key.key_id;
    ctx.bridge.request(
      ctx.backends.scheduler(),
      [&ctx, req, key, respond](const sandbox_actor& sb,
                                const sandbox_info& info) {
        ctx.sandboxes.put(sb, info);
        audit(ctx, req, {"api_key", key.key_id, "sandbox.create", info.id,
                         info.team,
                         json{{"template", info.template_id},
                              {"node", info.node}}
                           .dump()});
        respond(json_reply(201, sandbox_json(ctx, info)));
      },
      [respond, tpl = sr.template_id](const caf::error& err) {
        if (err == ec::not_found)
          respond(http::response::error(
            404, "template '" + tpl + "' not found"));
        else
          respond(bridge::to_response(err));
      },
      atom::create_v, std::move(r));
  });
}

void list(api_context& ctx, http::request& req, http::responder respond,
          bool v2) {
  std::set<std::string> states;
  if (auto s = req.query_param("state")) {
    std::string_view rest = *s;
    while (!rest.empty()) {
      auto comma = rest.find(',');
      auto st = std::string{rest.substr(0, comma)};
      if (st != "running" && st != "paused") {
        respond(http::response::error(
          400, "state must be running or paused, not '" + st + "'"));
        return;
      }
      states.insert(st);
      rest = comma == std::string_view::npos ? "" : rest.substr(comma + 1);
    }
  }
  if (states.empty())
    states = v2 ? std::set<std::string>{"running", "paused"}
                : std::set<std::string>{"running"};
  std::map<std::string, std::string> meta;
  if (auto m = req.query_param("metadata"); m && !m->empty()) {
    auto parsed = metadata_filter(*m);
    if (!parsed) {
      respond(http::response::error(400, "malformed metadata filter"));
      return;
    }
    meta = std::move(*parsed);
  }
  size_t limit = v2 ? 100 : SIZE_MAX;
  if (auto l = req.query_param("limit")) {
    char* end = nullptr;
    auto n = std::strtoll(l->c_str(), &end, 10);
    if (l->empty() || *end != '\0' || n < 1 || n > 100) {
      respond(http::response::error(
        400, "limit must be an integer between 1 and 100, not '" + *l + "'"));
      return;
    }
    limit = static_cast<size_t>(n);
  }
  auto ascending = req.query_param("order").value_or("desc") == "asc";
  auto token = req.query_param("nextToken").value_or("");
  auto tpl = req.query_param("template").value_or("");
  ctx.auth.check(req, respond, [=, &ctx](const api_key_info& key) {
    ctx.bridge.request(
      ctx.backends.directory(),
      [=, &ctx](std::vector<sandbox_info> infos) {
        auto keep = [&](const sandbox_info& x) {
          if (x.team != key.team_id || x.state == "killed"
              || x.state == "starting")
            return false;
          if (!states.count(x.state == "paused" ? "paused" : "running"))
            return false;
          if (!tpl.empty() && x.template_id != tpl)
            return false;
          for (auto& [k, v] : meta) {
            auto i = x.metadata.find(k);
            if (i == x.metadata.end() || i->second != v)
              return false;
          }
          return true;
        };
        infos.erase(std::remove_if(infos.begin(), infos.end(),
                                   [&](auto& x) { return !keep(x); }),
                    infos.end());
        // Ordered by start time, then id: the page token is the last key.
        auto key_of = [](const sandbox_info& x) {
          char buf[24];
          std::snprintf(buf, sizeof(buf), "%020lld",
                        static_cast<long long>(x.started_at_ms));
          return std::string{buf} + "." + x.id;
        };
        std::sort(infos.begin(), infos.end(), [&](auto& a, auto& b) {
          return ascending ? key_of(a) < key_of(b) : key_of(a) > key_of(b);
        });
        auto out = json::array();
        std::string last, next;
        for (auto& x : infos) {
          auto k = key_of(x);
          if (!token.empty() && (ascending ? k <= token : k >= token))
            continue;
          if (out.size() == limit) {
            next = last; // more remain: resume after the last one sent
            break;
          }
          out.push_back(listed_json(ctx, x));
          last = k;
        }
        auto res = json_reply(200, out);
        if (!next.empty())
          res.headers.emplace_back("X-Next-Token", next);
        respond(std::move(res));
      },
      fail_with(respond), atom::list_v, key.team_id);
  });
}

void connect_to(api_context& ctx, http::request& req, http::responder respond,
                bool v2) {
  auto body = object_body(req, respond);
  if (!body)
    return;
  auto t = timeout_field(*body, v2 ? std::optional<int64_t>{300} : std::nullopt,
                         respond);
  if (!t)
    return;
  with_sandbox(ctx, req, respond, [&ctx, respond, timeout = *t](
                                    const api_key_info&,
                                    const sandbox_route& r) {
    auto sb = r.handle;
    ctx.bridge.request(
      sb,
      [&ctx, respond, timeout, sb](const sandbox_info& before) {
        auto was_paused = before.state == "paused";
        auto extend = [&ctx, respond, timeout, sb, was_paused](
                        const sandbox_info& info) {
          // Connecting never shortens a sandbox's life.
          auto wanted = now_ms() + timeout * 1000;
          auto reply = [&ctx, respond, was_paused, sb](const sandbox_info& x) {
            ctx.sandboxes.put(sb, x);
            respond(json_reply(was_paused ? 201 : 200, sandbox_json(ctx, x)));
          };
          if (info.end_at_ms >= wanted)
            return reply(info);
          ctx.bridge.request(sb, reply, fail_with(respond), atom::timeout_v,
                             timeout * 1000);
        };
        if (!was_paused)
          return extend(before);
        ctx.bridge.request(sb, extend, fail_with(respond), atom::resume_v);
      },
      fail_with(respond), atom::get_v);
  });
}

/// CPU use between two samples of a sandbox, for the metrics endpoint.
struct cpu_sample {
  uint64_t cpu_usec = 0;
  int64_t at_ms = 0;
};

} // namespace

void add_e2b_api(http::router& r, api_context& ctx) {
  ctx.details = std::make_shared<detail_memo>();
  r.add("POST", "/sandboxes", [&ctx](http::request& req, http::responder res) {
    create(ctx, req, std::move(res), false);
  });
  r.add("POST", "/v2/sandboxes",
        [&ctx](http::request& req, http::responder res) {
          create(ctx, req, std::move(res), true);
        });
  r.add("GET", "/sandboxes", [&ctx](http::request& req, http::responder res) {
    list(ctx, req, std::move(res), false);
  });
  r.add("GET", "/v2/sandboxes",
        [&ctx](http::request& req, http::responder res) {
          list(ctx, req, std::move(res), true);
        });
  r.add("GET", "/sandboxes/{id}",
        [&ctx](http::request& req, http::responder respond) {
          with_sandbox(ctx, req, respond, [&ctx, respond](
                                            const api_key_info&,
                                            const sandbox_route& r) {
            // The cache is kept current by the sandbox's own updates.
            if (r.info)
              return respond(http::response::json(
                200, *ctx.details->body(ctx, r.info)));
            ctx.bridge.request(
              r.handle,
              [&ctx, respond](const sandbox_info& info) {
                respond(json_reply(200, detail_json(ctx, info)));
              },
              fail_with(respond), atom::get_v);
          });
        });
  r.add("DELETE", "/sandboxes/{id}",
        [&ctx](http::request& req, http::responder respond) {
          with_sandbox(ctx, req, respond, [&ctx, req, respond](
                                            const api_key_info& key,
                                            const sandbox_route& r) {
            ctx.bridge.request(
              r.handle,
              [&ctx, req, respond, key, id = r.id](atom::ok_atom) {
                ctx.sandboxes.forget(id);
                audit(ctx, req, {"api_key", key.key_id, "sandbox.kill", id,
                                 key.team_id, "{}"});
                respond(http::response::empty(204));
              },
              fail_with(respond), atom::kill_v, std::string{"killed"});
          });
        });
  r.add("POST", "/sandboxes/{id}/timeout",
        [&ctx](http::request& req, http::responder respond) {
          auto body = object_body(req, respond);
          if (!body)
            return;
          auto t = timeout_field(*body, std::nullopt, respond);
          if (!t)
            return;
          with_sandbox(ctx, req, respond, [&ctx, respond, timeout = *t](
                                            const api_key_info&,
                                            const sandbox_route& r) {
            ctx.bridge.request(
              r.handle,
              [&ctx, respond, sb = r.handle](const sandbox_info& info) {
                ctx.sandboxes.put(sb, info); // read your own writes
                respond(http::response::empty(204));
              },
              fail_with(respond), atom::timeout_v, timeout * 1000);
          });
        });
  r.add("POST", "/sandboxes/{id}/refreshes",
        [&ctx](http::request& req, http::responder respond) {
          auto body = object_body(req, respond);
          if (!body)
            return;
          int64_t duration = 60;
          if (!field(*body, "duration", duration, respond))
            return;
          if (duration < 0 || duration > max_refresh_s) {
            respond(http::response::error(
              400, "field 'duration' must be between 0 and 3600 seconds"));
            return;
          }
          with_sandbox(ctx, req, respond, [&ctx, respond, duration](
                                            const api_key_info&,
                                            const sandbox_route& r) {
            auto sb = r.handle;
            ctx.bridge.request(
              sb,
              [&ctx, respond, duration, sb](const sandbox_info& info) {
                // A refresh extends; it never cuts a longer timeout short.
                if (info.end_at_ms >= now_ms() + duration * 1000)
                  return respond(http::response::empty(204));
                ctx.bridge.request(
                  sb,
                  [&ctx, respond, sb](const sandbox_info& x) {
                    ctx.sandboxes.put(sb, x);
                    respond(http::response::empty(204));
                  },
                  fail_with(respond), atom::timeout_v, duration * 1000);
              },
              fail_with(respond), atom::get_v);
          });
        });
  r.add("POST", "/sandboxes/{id}/pause",
        [&ctx](http::request& req, http::responder respond) {
          auto body = object_body(req, respond);
          if (!body)
            return;
          bool memory = true;
          if (!field(*body, "memory", memory, respond))
            return;
          with_sandbox(ctx, req, respond, [&ctx, respond, memory](
                                            const api_key_info&,
                                            const sandbox_route& r) {
            ctx.bridge.request(
              r.handle,
              [&ctx, respond, sb = r.handle](const sandbox_info& info) {
                ctx.sandboxes.put(sb, info);
                respond(http::response::empty(204));
              },
              fail_with(respond), atom::pause_v, memory);
          });
        });
  r.add("POST", "/sandboxes/{id}/resume",
        [&ctx](http::request& req, http::responder respond) {
          auto body = object_body(req, respond);
          if (!body)
            return;
          auto t = timeout_field(*body, 15, respond);
          if (!t)
            return;
          with_sandbox(ctx, req, respond, [&ctx, respond, timeout = *t](
                                            const api_key_info&,
                                            const sandbox_route& r) {
            auto sb = r.handle;
            ctx.bridge.request(
              sb,
              [&ctx, respond, timeout, sb](const sandbox_info& info) {
                if (info.state != "paused")
                  return respond(http::response::error(
                    409, "sandbox \"" + info.id + "\" is not paused"));
                ctx.bridge.request(
                  sb,
                  [&ctx, respond, timeout, sb](const sandbox_info&) {
                    ctx.bridge.request(
                      sb,
                      [&ctx, respond, sb](const sandbox_info& x) {
                        ctx.sandboxes.put(sb, x);
                        respond(json_reply(201, sandbox_json(ctx, x)));
                      },
                      fail_with(respond), atom::timeout_v, timeout * 1000);
                  },
                  fail_with(respond), atom::resume_v);
              },
              fail_with(respond), atom::get_v);
          });
        });
  r.add("POST", "/sandboxes/{id}/connect",
        [&ctx](http::request& req, http::responder res) {
          connect_to(ctx, req, std::move(res), false);
        });
  r.add("POST", "/v2/sandboxes/{id}/connect",
        [&ctx](http::request& req, http::responder res) {
          connect_to(ctx, req, std::move(res), true);
        });
  auto samples = std::make_shared<std::pair<std::mutex,
                                            std::map<std::string, cpu_sample>>>();
  r.add("GET", "/sandboxes/{id}/metrics",
        [&ctx, samples](http::request& req, http::responder respond) {
          with_sandbox(ctx, req, respond, [&ctx, respond, samples](
                                            const api_key_info&,
                                            const sandbox_route& r) {
            auto sb = r.handle;
            ctx.bridge.request(
              sb,
              [&ctx, respond, samples, sb](const sandbox_info& info) {
                ctx.bridge.request(
                  sb,
                  [respond, samples, info](const sandbox_stats& s) {
                    auto now = now_ms();
                    cpu_sample prev{0, info.started_at_ms};
                    {
                      std::lock_guard<std::mutex> guard{samples->first};
                      auto& m = samples->second;
                      if (auto i = m.find(info.id); i != m.end())
                        prev = i->second;
                      m[info.id] = {s.cpu_usec, now};
                      if (m.size() > 10'000)
                        m.clear();
                    }
                    auto wall_us = std::max<int64_t>(1, (now - prev.at_ms) * 1000)
                                   * std::max(1u, info.vcpu);
                    auto used = s.cpu_usec >= prev.cpu_usec
                                  ? s.cpu_usec - prev.cpu_usec
                                  : s.cpu_usec;
                    auto pct = std::min(100.0, 100.0 * static_cast<double>(used)
                                                 / static_cast<double>(wall_us));
                    json m = {{"timestamp", rfc3339(now)},
                              {"timestampUnix", now / 1000},
                              {"cpuCount", info.vcpu},
                              {"cpuUsedPct", pct},
                              {"memUsed", s.memory_bytes},
                              {"memTotal", s.memory_limit},
                              {"memCache", 0},
                              {"diskUsed", s.disk_bytes},
                              {"diskTotal", s.disk_limit}};
                    respond(json_reply(200, json::array({m})));
                  },
                  fail_with(respond), atom::stats_v);
              },
              fail_with(respond), atom::get_v);
          });
        });
  auto logs = [&ctx](bool v2) {
    return [&ctx, v2](http::request& req, http::responder respond) {
      with_sandbox(ctx, req, respond, [&ctx, respond, v2](
                                        const api_key_info&,
                                        const sandbox_route& r) {
        ctx.bridge.request(
          r.handle,
          [respond, v2](const sandbox_info& info) {
            // The lifecycle is what sandhive logs of a sandbox itself.
            auto at = rfc3339(info.started_at_ms);
            auto line = "sandbox " + info.id + " started from template "
                        + info.template_id;
            json entry = {{"timestamp", at},
                          {"message", line},
                          {"level", "info"},
                          {"fields", {{"sandboxID", info.id}}}};
            json body = {{"logEntries", json::array({entry})}};
            if (v2)
              body = {{"logs", json::array({entry})}};
            else
              body["logs"] = json::array({{{"timestamp", at}, {"line", line}}});
            respond(json_reply(200, body));
          },
          fail_with(respond), atom::get_v);
      });
    };
  };
  r.add("GET", "/sandboxes/{id}/logs", logs(false));
  r.add("GET", "/v2/sandboxes/{id}/logs", logs(true));
  auto templates = [&ctx](http::request& req, http::responder respond) {
    ctx.auth.check(req, respond, [&ctx, respond](const api_key_info&) {
      ctx.bridge.request(
        ctx.backends.scheduler(),
        [&ctx, respond](const std::vector<template_info>& ts) {
          auto out = json::array();
          for (auto& t : ts)
            out.push_back({{"templateID", t.id},
                           {"buildID", t.id},
                           {"cpuCount", t.vcpu},
                           {"memoryMB", t.memory_mb},
                           {"diskSizeMB", t.disk_mb},
                           {"public", true},
                           {"aliases", json::array({t.id})},
                           {"names", json::array({t.id})},
                           {"createdAt", rfc3339(t.created_at_ms)},
                           {"updatedAt", rfc3339(t.created_at_ms)},
                           {"createdBy", nullptr},
                           {"lastSpawnedAt", nullptr},
                           {"spawnCount", 0},
                           {"buildCount", 1},
                           {"envdVersion", ctx.envd_version},
                           {"buildStatus", "ready"}});
          respond(json_reply(200, out));
        },
        fail_with(respond), atom::list_v, atom::templates_v);
    });
  };
  r.add("GET", "/templates", templates);
  r.add("GET", "/v2/templates", templates);
  r.add("GET", "/templates/aliases/{alias}",
        [&ctx](http::request& req, http::responder respond) {
          ctx.auth.check(req, respond, [&ctx, respond, alias = req.params["alias"]](
                                         const api_key_info&) {
            ctx.bridge.request(
              ctx.backends.scheduler(),
              [respond, alias](const std::vector<template_info>& ts) {
                for (auto& t : ts)
                  if (t.id == alias)
                    return respond(json_reply(
                      200, {{"templateID", t.id}, {"public", true}}));
                respond(http::response::error(
                  404, "template '" + alias + "' not found"));
              },
              fail_with(respond), atom::list_v, atom::templates_v);
          });
        });
}

} // namespace sbx::routes

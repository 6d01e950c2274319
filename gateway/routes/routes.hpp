#pragma once

#include "actors/interfaces.hpp"
#include "gateway/router.hpp"
#include "runtime/auth/roles.hpp"

#include <caf/actor_system.hpp>

#include <functional>
#include <string>

namespace sbx {

class api_auth;
class rate_limiter;
class user_auth;
struct user_context;
class backends;
class bridge;
class metrics;
class sandbox_routes;

/// The gateway's routes, one function per file in gateway/routes/.
namespace routes {

/// GET /health: 204 while the process runs. GET /ready: 200 when PostgreSQL
/// and Redis answer, 503 with the reason otherwise.
/// With E2b-Sandbox-Id, /health is envd's and `for_sandbox` answers it.
void add_health(http::router& r, bridge& b, supervisor_actor sup,
                http::handler for_sandbox = {});

/// GET /metrics: the process's metrics in Prometheus text format.
void add_metrics(http::router& r, metrics& stats);

/// What the E2B API routes work with.
struct detail_memo;

struct api_context {
  caf::actor_system& sys;
  sbx::bridge& bridge;
  const sbx::backends& backends;
  api_auth& auth;
  user_auth& users;
  sandbox_routes& sandboxes;
  rate_limiter& limits;
  /// The envd version SDKs are told: the highest whose gated features
  /// (shared/E2B-PROTOCOL.md §7.2) sandhive implements.
  std::string envd_version = "0.6.4";
  /// E2B's deprecated clientID, required by the schema.
  std::string client_id = "sandhive";
  /// Rendered GET /sandboxes/{id} bodies (made by add_e2b_api).
  std::shared_ptr<detail_memo> details;
};

/// The E2B control plane: /sandboxes, /v2/sandboxes, /templates, …
void add_e2b_api(http::router& r, api_context& ctx);

/// The E2B data plane's Connect services: /process.Process/*,
/// /filesystem.Filesystem/*.
void add_envd_api(http::router& r, api_context& ctx);

/// The E2B data plane's files: GET and POST /files, signed URLs.
void add_files(http::router& r, api_context& ctx);

/// sandhive's WebSocket API: /v1/sandboxes/{id}/terminal (a PTY),
/// /v1/sandboxes/{id}/events (lifecycle) and the short-lived tokens that
/// open them without an API key header.
void add_websockets(http::router& r, api_context& ctx);

/// sandhive's accounts under /v1: register, login, refresh, logout, me;
/// teams, members and roles; the audit log.
void add_accounts(http::router& r, api_context& ctx);

/// API keys of a team under /v1/teams/{team}/api-keys.
void add_keys(http::router& r, api_context& ctx);

/// Usage per day: /v1/teams/{team}/usage (people), /v1/usage (keys).
void add_usage(http::router& r, api_context& ctx);

/// Invoices: /v1/teams/{team}/invoices[/{month}] (people), /v1/invoices
/// [/{month}] (keys), JSON or CSV; POST /v1/teams/{team}/credits refused
/// (operators grant credit).
void add_billing(http::router& r, api_context& ctx);

/// A query parameter as Unix ms: RFC 3339 ("2026-12-01T10:00:00Z") or Unix
/// seconds; `out` untouched when absent; false (400 answered) when
/// malformed.
bool time_param(const http::request& req, const char* name, int64_t& out,
                const http::responder& respond);

/// Runs `f` with the caller, the team of the route's {team} (id or slug) and
/// the caller's role in it, when that role allows `p`; answers 401, 404 (no
/// such team, or not a member) or 403 itself.
void with_team(api_context& ctx, const http::request& req,
               const http::responder& respond, auth::permission p,
               std::function<void(const user_context&, const team_info&,
                                  const std::string& role)>
                 f);

/// Writes a line of the audit log (who, what, from where), without waiting
/// for it; a failure is logged.
void audit(api_context& ctx, const http::request& req, audit_entry e);

/// Answers an actor's error as HTTP (bridge::to_response).
std::function<void(const caf::error&)> error_reply(http::responder respond);

/// A route handler that calls `fn` with the context.
using context_fn = void (*)(api_context&, http::request&, http::responder);
http::handler with_context(api_context& ctx, context_fn fn);

/// The client's IP address (without the port).
std::string client_ip(const http::request& req);

/// RFC 3339 in UTC with milliseconds: "2026-11-22T10:00:00.123Z".
std::string rfc3339(int64_t unix_ms);

/// envd's GET /health for the sandbox of E2b-Sandbox-Id: 204 while it
/// runs, 502 otherwise (the SDK's isRunning()).
http::handler sandbox_health(api_context& ctx);

} // namespace routes
} // namespace sbx

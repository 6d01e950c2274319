// API keys of a team: made here and shown once ("e2b_" + hex, as E2B's SDKs
// expect), stored as SHA-256 only, with a name, scopes and an optional
// expiry; listed by prefix and last use; revoked for every gateway within
// the key cache's few seconds.

#include "actors/error.hpp"
#include "gateway/auth.hpp"
#include "gateway/backends.hpp"
#include "gateway/bridge.hpp"
#include "gateway/routes/json_body.hpp"
#include "gateway/routes/routes.hpp"
#include "runtime/auth/api_key.hpp"

#include <chrono>

namespace sbx::routes {

namespace {

/// The longest a key may live when it expires at all: 10 years.
constexpr int64_t max_expiry_days = 3650;

std::string time_or_null(int64_t ms) {
  return ms == 0 ? "" : rfc3339(ms);
}

json key_json(const api_key_row& k) {
  json j{{"id", k.id},
         {"name", k.name},
         {"prefix", k.prefix},
         {"scopes", k.scopes},
         {"createdAt", rfc3339(k.created_at_ms)}};
  auto opt = [&](const char* name, int64_t ms) {
    j[name] = ms == 0 ? json(nullptr) : json(time_or_null(ms));
  };
  j["createdBy"] = k.created_by.empty() ? json(nullptr) : json(k.created_by);
  opt("lastUsedAt", k.last_used_at_ms);
  opt("expiresAt", k.expires_at_ms);
  opt("revokedAt", k.revoked_at_ms);
  return j;
}

void do_create(api_context& ctx, http::request& req, http::responder respond) {
  with_team(
    ctx, req, respond, auth::permission::keys_create,
    [&ctx, req, respond](const user_context& who, const team_info& t,
                         const std::string& role) {
      auto body = object_body(req, respond);
      if (!body)
        return;
      std::string name;
      auto allowed = auth::scopes_for(role);
      std::vector<std::string> scopes = allowed;
      int64_t days = 0;
      if (!field(*body, "name", name, respond)
          || !field(*body, "scopes", scopes, respond)
          || !field(*body, "expiresInDays", days, respond))
        return;
      if (name.empty() || name.size() > 100)
        return respond(http::response::error(
          400, "field 'name' is required (1 to 100 characters)"));
      for (auto& s : scopes) {
        if (!auth::valid_scope(s))
          return respond(http::response::error(
            400, "unknown scope '" + s
                   + "'; scopes are sandboxes:read, sandboxes:write, "
                     "templates:read, billing:read"));
        if (std::find(allowed.begin(), allowed.end(), s) == allowed.end())
          return respond(http::response::error(
            403, "your role (" + role + ") may not give a key the scope "
                   + s));
      }
      if (days < 0 || days > max_expiry_days)
        return respond(http::response::error(
          400, "field 'expiresInDays' must be from 1 to "
                 + std::to_string(max_expiry_days) + " (or absent: never)"));
      auto key = auth::generate_api_key();
      int64_t expires_ms = 0;
      if (days > 0)
        expires_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count()
                     + days * 86'400'000;
      new_api_key k{t.id,       who.user_id, name,      key.hash,
                    key.prefix, scopes,      expires_ms};
      ctx.bridge.request(
        ctx.backends.database(),
        [&ctx, req, respond, who, t, secret = key.secret](const api_key_row& row) {
          audit(ctx, req, {"user", who.user_id, "api_key.create", row.id, t.id,
                           json{{"name", row.name}, {"scopes", row.scopes}}
                             .dump()});
          auto j = key_json(row);
          j["key"] = secret; // the only time anyone sees it
          respond(json_reply(201, j));
        },
        error_reply(respond), atom::put_v, k);
    });
}

void do_list(api_context& ctx, http::request& req, http::responder respond) {
  with_team(ctx, req, respond, auth::permission::read,
            [&ctx, respond](const user_context&, const team_info& t,
                            const std::string&) {
              ctx.bridge.request(
                ctx.backends.database(),
                [respond](const std::vector<api_key_row>& keys) {
                  auto out = json::array();
                  for (auto& k : keys)
                    out.push_back(key_json(k));
                  respond(json_reply(200, out));
                },
                error_reply(respond), atom::list_v, atom::api_key_v, t.id);
            });
}

void do_revoke(api_context& ctx, http::request& req, http::responder respond) {
  // One's own keys with keys.create; anyone's with keys.manage.
  with_team(
    ctx, req, respond, auth::permission::keys_create,
    [&ctx, req, respond](const user_context& who, const team_info& t,
                         const std::string& role) {
      auto id = req.params.at("id");
      ctx.bridge.request(
        ctx.backends.database(),
        [&ctx, req, respond, who, t, role,
         id](const std::vector<api_key_row>& keys) {
          auto k = std::find_if(keys.begin(), keys.end(),
                                [&](auto& x) { return x.id == id; });
          if (k == keys.end())
            return respond(
              http::response::error(404, "API key " + id + " not found"));
          if (k->created_by_id != who.user_id
              && !auth::allowed(role, auth::permission::keys_manage))
            return respond(http::response::error(
              403, "your role (" + role + ") may revoke only your own keys"));
          ctx.bridge.request(
            ctx.backends.database(),
            [&ctx, req, respond, who, t](const api_key_row& row) {
              audit(ctx, req, {"user", who.user_id, "api_key.revoke", row.id,
                               t.id, json{{"name", row.name}}.dump()});
              respond(http::response::empty(204));
            },
            error_reply(respond), atom::revoke_v, atom::api_key_v, t.id, id);
        },
        error_reply(respond), atom::list_v, atom::api_key_v, t.id);
    });
}

} // namespace

void add_keys(http::router& r, api_context& ctx) {
  auto route = [&ctx](context_fn fn) { return with_context(ctx, fn); };
  r.add("POST", "/v1/teams/{team}/api-keys", route(do_create));
  r.add("GET", "/v1/teams/{team}/api-keys", route(do_list));
  r.add("DELETE", "/v1/teams/{team}/api-keys/{id}", route(do_revoke));
}

} // namespace sbx::routes

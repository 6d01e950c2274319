// sandhive's own accounts under /v1: users (register, login, refresh,
// logout, me), teams with their members and roles, and the audit log. Every
// route checks the caller's role in the team against the permission table
// (runtime/auth/roles.hpp); every change is written to the audit log.

#include "actors/error.hpp"
#include "gateway/auth.hpp"
#include "gateway/backends.hpp"
#include "gateway/bridge.hpp"
#include "gateway/rate_limits.hpp"
#include "gateway/routes/json_body.hpp"
#include "gateway/routes/routes.hpp"
#include "runtime/auth/api_key.hpp"
#include "runtime/auth/jwt.hpp"
#include "runtime/auth/password.hpp"
#include "runtime/log/log.hpp"

#include <chrono>
#include <regex>

namespace sbx::routes {

namespace {

/// How long an access token lives; refresh it with the refresh token.
constexpr int64_t access_ttl_s = 15 * 60;

/// How long a session lasts without a refresh.
constexpr int64_t refresh_ttl_s = 30 * 24 * 3600;

int64_t now_s() {
  return std::chrono::duration_cast<std::chrono::seconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

bool valid_email(const std::string& x) {
  static const std::regex re{R"([^@\s]+@[^@\s]+\.[^@\s]+)"};
  return x.size() <= 254 && std::regex_match(x, re);
}

bool valid_slug(const std::string& x) {
  static const std::regex re{"[a-z0-9][a-z0-9-]{0,62}"};
  return std::regex_match(x, re);
}

/// A password hash to compare against when the email is unknown, so that a
/// login takes as long whether or not the account exists.
const std::string& decoy_hash() {
  static const std::string x = auth::hash_password("sandhive decoy").value();
  return x;
}

json user_json(const user_record& u) {
  return {{"id", u.id}, {"email", u.email}, {"createdAt", rfc3339(u.created_at_ms)}};
}

json team_json(const team_info& t, const std::string& role) {
  json j{{"id", t.id},     {"slug", t.slug}, {"name", t.name},
         {"plan", t.plan}, {"role", role},   {"createdAt", rfc3339(t.created_at_ms)}};
  j["limits"] = {{"maxSandboxes", t.limits.max_sandboxes},
                 {"maxVcpu", t.limits.max_vcpu},
                 {"maxMemoryMb", t.limits.max_memory_mb},
                 {"maxLifetimeS", t.limits.max_lifetime_ms / 1000}};
  if (auth::allowed(role, auth::permission::billing_read))
    j["balanceMicros"] = t.balance_micros;
  return j;
}

json member_json(const member_record& m) {
  json j{{"email", m.email}, {"role", m.role}, {"since", rfc3339(m.since_ms)}};
  if (m.invited)
    j["invited"] = true;
  else
    j["userId"] = m.user_id;
  return j;
}

/// Starts a session for a user who proved who they are and answers the
/// tokens.
void open_session(api_context& ctx, const http::request& req,
                  const http::responder& respond, const user_record& user,
                  unsigned status) {
  auto refresh = auth::random_hex(32);
  auto expires_ms = (now_s() + refresh_ttl_s) * 1000;
  ctx.bridge.request(
    ctx.backends.database(),
    [&ctx, respond, user, refresh, status](const std::string& sid) {
      auto now = now_s();
      auto access = auth::sign_jwt({user.id, sid, now, now + access_ttl_s},
                                   ctx.users.key());
      respond(json_reply(status, {{"accessToken", access},
                                  {"refreshToken", refresh},
                                  {"tokenType", "Bearer"},
                                  {"expiresIn", access_ttl_s},
                                  {"user", user_json(user)}}));
    },
    error_reply(respond), atom::create_v, atom::session_v, user.id,
    auth::sha256_hex(refresh), expires_ms, client_ip(req));
}

/// The fields of a body: the JSON object and strings `names` (required).
bool strings(const json& body, std::initializer_list<const char*> names,
             std::vector<std::string>& out, const http::responder& respond) {
  for (auto name : names) {
    std::string v;
    if (!field(body, name, v, respond))
      return false;
    if (v.empty()) {
      respond(http::response::error(400, std::string{"field '"} + name
                                           + "' is required"));
      return false;
    }
    out.push_back(std::move(v));
  }
  return true;
}

// -- users --------------------------------------------------------------------

void do_register(api_context& ctx, http::request& req,
                 http::responder respond) {
  auto body = object_body(req, respond);
  std::vector<std::string> f;
  if (!body || !strings(*body, {"email", "password"}, f, respond))
    return;
  auto email = f[0];
  auto password = f[1];
  if (!valid_email(email))
    return respond(http::response::error(400, "'" + email
                                                + "' is not an email address"));
  if (auto why = auth::weak_password(password); !why.empty())
    return respond(http::response::error(400, why));
  ctx.bridge.blocking(
    [password] { return auth::hash_password(password); },
    [&ctx, req, respond, email](caf::expected<std::string> hash) {
      if (!hash)
        return respond(bridge::to_response(hash.error()));
      ctx.bridge.request(
        ctx.backends.database(),
        [&ctx, req, respond](const user_record& u, const team_info& t) {
          audit(ctx, req, {"user", u.id, "user.register", u.email, t.id, "{}"});
          audit(ctx, req, {"user", u.id, "team.create", t.slug, t.id, "{}"});
          respond(json_reply(201, {{"user", user_json(u)},
                                   {"team", team_json(t, "owner")}}));
        },
        error_reply(respond), atom::create_v, atom::user_v, email, *hash);
    },
    error_reply(respond));
}

void do_login(api_context& ctx, http::request& req, http::responder respond) {
  auto body = object_body(req, respond);
  std::vector<std::string> f;
  if (!body || !strings(*body, {"email", "password"}, f, respond))
    return;
  auto password = f[1];
  auto refuse = [respond] {
    respond(http::response::error(401, "wrong email or password"));
  };
  auto verify = [&ctx, req, respond, password,
                 refuse](std::optional<user_record> user) {
    auto hash = user && !user->disabled ? user->password_hash : decoy_hash();
    ctx.bridge.blocking(
      [password, hash] { return auth::verify_password(password, hash); },
      [&ctx, req, respond, user, refuse](bool ok) {
        if (!ok || !user || user->disabled)
          return refuse();
        open_session(ctx, req, respond, *user, 200);
      },
      error_reply(respond));
  };
  ctx.bridge.request(
    ctx.backends.database(),
    [verify](const user_record& u) { verify(u); },
    [verify, respond](const caf::error& err) {
      if (err == ec::not_found)
        verify(std::nullopt);
      else
        respond(bridge::to_response(err));
    },
    atom::get_v, atom::email_v, f[0]);
}

void do_refresh(api_context& ctx, http::request& req,
                http::responder respond) {
  auto body = object_body(req, respond);
  std::vector<std::string> f;
  if (!body || !strings(*body, {"refreshToken"}, f, respond))
    return;
  auto fresh = auth::random_hex(32);
  ctx.bridge.request(
    ctx.backends.database(),
    [&ctx, respond, fresh](const session_record& s) {
      auto now = now_s();
      auto access = auth::sign_jwt({s.user_id, s.id, now, now + access_ttl_s},
                                   ctx.users.key());
      respond(json_reply(200, {{"accessToken", access},
                               {"refreshToken", fresh},
                               {"tokenType", "Bearer"},
                               {"expiresIn", access_ttl_s}}));
    },
    error_reply(respond), atom::rotate_v, auth::sha256_hex(f[0]),
    auth::sha256_hex(fresh), (now_s() + refresh_ttl_s) * 1000);
}

void do_logout(api_context& ctx, http::request& req, http::responder respond) {
  ctx.users.check(req, respond, [&ctx, respond](const user_context& who) {
    ctx.bridge.request(
      ctx.backends.database(),
      [&ctx, respond, who](atom::ok_atom) {
        ctx.users.forget(who.session_id);
        respond(http::response::empty(204));
      },
      error_reply(respond), atom::revoke_v, atom::session_v, who.session_id);
  });
}

void do_me(api_context& ctx, http::request& req, http::responder respond) {
  ctx.users.check(req, respond, [&ctx, respond](const user_context& who) {
    ctx.bridge.request(
      ctx.backends.database(),
      [respond](const user_record& u,
                const std::vector<membership_record>& teams) {
        auto j = user_json(u);
        j["teams"] = json::array();
        for (auto& m : teams)
          j["teams"].push_back({{"id", m.team_id},
                                {"slug", m.team_slug},
                                {"name", m.team_name},
                                {"role", m.role}});
        respond(json_reply(200, j));
      },
      error_reply(respond), atom::get_v, atom::user_v, who.user_id);
  });
}

// -- teams --------------------------------------------------------------------

void do_create_team(api_context& ctx, http::request& req,
                    http::responder respond) {
  ctx.users.check(req, respond, [&ctx, req, respond](const user_context& who) {
    auto body = object_body(req, respond);
    std::vector<std::string> f;
    if (!body || !strings(*body, {"slug"}, f, respond))
      return;
    std::string name = f[0];
    if (!field(*body, "name", name, respond))
      return;
    if (!valid_slug(f[0]))
      return respond(http::response::error(
        400, "field 'slug' must be 1 to 63 lower-case letters, digits or "
             "'-', starting with a letter or digit"));
    ctx.bridge.request(
      ctx.backends.database(),
      [&ctx, req, respond, who](const team_info& t) {
        audit(ctx, req, {"user", who.user_id, "team.create", t.slug, t.id,
                         "{}"});
        respond(json_reply(201, team_json(t, "owner")));
      },
      error_reply(respond), atom::create_v, atom::team_v, who.user_id, f[0],
      name.empty() ? f[0] : name);
  });
}

void do_teams(api_context& ctx, http::request& req, http::responder respond) {
  ctx.users.check(req, respond, [&ctx, respond](const user_context& who) {
    ctx.bridge.request(
      ctx.backends.database(),
      [respond](const user_record&,
                const std::vector<membership_record>& teams) {
        auto out = json::array();
        for (auto& m : teams)
          out.push_back({{"id", m.team_id},
                         {"slug", m.team_slug},
                         {"name", m.team_name},
                         {"role", m.role}});
        respond(json_reply(200, out));
      },
      error_reply(respond), atom::get_v, atom::user_v, who.user_id);
  });
}

void do_members(api_context& ctx, http::request& req, http::responder respond) {
  with_team(ctx, req, respond, auth::permission::read,
            [&ctx, respond](const user_context&, const team_info& t,
                            const std::string&) {
              ctx.bridge.request(
                ctx.backends.database(),
                [respond](const std::vector<member_record>& ms) {
                  auto out = json::array();
                  for (auto& m : ms)
                    out.push_back(member_json(m));
                  respond(json_reply(200, out));
                },
                error_reply(respond), atom::list_v, atom::members_v, t.id);
            });
}

/// The role field of a body, checked against what the caller may grant.
std::optional<std::string> grantable_role(const json& body,
                                          const std::string& granter,
                                          const http::responder& respond) {
  std::string role = "member";
  if (!field(body, "role", role, respond))
    return std::nullopt;
  if (!auth::valid_role(role)) {
    respond(http::response::error(400, "field 'role' must be owner, admin, "
                                       "member or viewer"));
    return std::nullopt;
  }
  if (!auth::may_grant(granter, role)) {
    respond(http::response::error(403, "your role (" + granter
                                         + ") may not grant the role "
                                         + role));
    return std::nullopt;
  }
  return role;
}

void do_add_member(api_context& ctx, http::request& req,
                   http::responder respond) {
  with_team(
    ctx, req, respond, auth::permission::members_manage,
    [&ctx, req, respond](const user_context& who, const team_info& t,
                         const std::string& role) {
      auto body = object_body(req, respond);
      std::vector<std::string> f;
      if (!body || !strings(*body, {"email"}, f, respond))
        return;
      if (!valid_email(f[0]))
        return respond(
          http::response::error(400, "'" + f[0] + "' is not an email address"));
      auto granted = grantable_role(*body, role, respond);
      if (!granted)
        return;
      ctx.bridge.request(
        ctx.backends.database(),
        [&ctx, req, respond, who, t](const member_record& m) {
          audit(ctx, req, {"user", who.user_id,
                           m.invited ? "member.invite" : "member.add", m.email,
                           t.id, json{{"role", m.role}}.dump()});
          respond(json_reply(201, member_json(m)));
        },
        error_reply(respond), atom::put_v, atom::member_v, t.id, f[0],
        *granted, who.user_id);
    });
}

void do_set_role(api_context& ctx, http::request& req,
                 http::responder respond) {
  with_team(
    ctx, req, respond, auth::permission::members_manage,
    [&ctx, req, respond](const user_context& who, const team_info& t,
                         const std::string& role) {
      auto body = object_body(req, respond);
      if (!body)
        return;
      if (!body->contains("role"))
        return respond(http::response::error(400, "field 'role' is required"));
      auto granted = grantable_role(*body, role, respond);
      if (!granted)
        return;
      auto member = req.params.at("member");
      // Someone of a higher role keeps it: an admin cannot demote an owner.
      ctx.bridge.request(
        ctx.backends.database(),
        [&ctx, req, respond, who, t, role, member,
         granted](const std::vector<member_record>& ms) {
          auto m = std::find_if(ms.begin(), ms.end(), [&](auto& x) {
            return !x.invited && x.user_id == member;
          });
          if (m == ms.end())
            return respond(http::response::error(404, "no such member"));
          if (!auth::may_grant(role, m->role))
            return respond(http::response::error(
              403, "your role (" + role + ") may not change an " + m->role));
          ctx.bridge.request(
            ctx.backends.database(),
            [&ctx, req, respond, who, t, old = m->role](const member_record& x) {
              audit(ctx, req, {"user", who.user_id, "member.role", x.email,
                               t.id,
                               json{{"from", old}, {"to", x.role}}.dump()});
              respond(json_reply(200, member_json(x)));
            },
            error_reply(respond), atom::put_v, atom::role_v, t.id, member,
            *granted);
        },
        error_reply(respond), atom::list_v, atom::members_v, t.id);
    });
}

void do_remove_member(api_context& ctx, http::request& req,
                      http::responder respond) {
  // Anyone may leave; removing others takes members.manage.
  with_team(
    ctx, req, respond, auth::permission::read,
    [&ctx, req, respond](const user_context& who, const team_info& t,
                         const std::string& role) {
      auto member = req.params.at("member");
      auto self = member == who.user_id;
      if (!self && !auth::allowed(role, auth::permission::members_manage))
        return respond(http::response::error(
          403, "your role (" + role + ") may not remove members (needs "
                 + auth::to_string(auth::permission::members_manage) + ")"));
      ctx.bridge.request(
        ctx.backends.database(),
        [&ctx, req, respond, who, t, role, member,
         self](const std::vector<member_record>& ms) {
          auto m = std::find_if(ms.begin(), ms.end(), [&](auto& x) {
            return x.invited ? x.email == member : x.user_id == member;
          });
          if (m == ms.end())
            return respond(http::response::error(404, "no such member"));
          if (!self && !auth::may_grant(role, m->role))
            return respond(http::response::error(
              403, "your role (" + role + ") may not remove an " + m->role));
          ctx.bridge.request(
            ctx.backends.database(),
            [&ctx, req, respond, who, t, email = m->email](atom::ok_atom) {
              audit(ctx, req, {"user", who.user_id, "member.remove", email,
                               t.id, "{}"});
              respond(http::response::empty(204));
            },
            error_reply(respond), atom::revoke_v, atom::member_v, t.id,
            member);
        },
        error_reply(respond), atom::list_v, atom::members_v, t.id);
    });
}

void do_team(api_context& ctx, http::request& req, http::responder respond) {
  with_team(ctx, req, respond, auth::permission::read,
            [respond](const user_context&, const team_info& t,
                      const std::string& role) {
              respond(json_reply(200, team_json(t, role)));
            });
}

// -- audit ----------------------------------------------------------------------

void do_audit(api_context& ctx, http::request& req, http::responder respond) {
  with_team(
    ctx, req, respond, auth::permission::audit_read,
    [&ctx, req, respond](const user_context&, const team_info& t,
                         const std::string&) {
      audit_query q;
      q.team_id = t.id;
      if (!time_param(req, "from", q.from_ms, respond)
          || !time_param(req, "to", q.to_ms, respond))
        return;
      static const std::regex action_re{"[a-z_]{1,32}(\\.[a-z_]{0,32})?"};
      q.action = req.query_param("action").value_or("");
      if (!q.action.empty() && !std::regex_match(q.action, action_re))
        return respond(http::response::error(
          400, "query parameter 'action' must be an action (sandbox.kill) or "
               "a prefix (sandbox.)"));
      auto number = [&](const char* name, int64_t lo, int64_t hi,
                        int64_t& out) {
        auto v = req.query_param(name);
        if (!v)
          return true;
        char* end = nullptr;
        auto x = std::strtoll(v->c_str(), &end, 10);
        if (v->empty() || *end != '\0' || x < lo || x > hi) {
          respond(http::response::error(
            400, std::string{"query parameter '"} + name + "' must be from "
                   + std::to_string(lo) + " to " + std::to_string(hi)));
          return false;
        }
        out = x;
        return true;
      };
      int64_t limit = 100;
      if (!number("limit", 1, 1000, limit)
          || !number("before", 1, INT64_MAX, q.before_id))
        return;
      q.limit = static_cast<unsigned>(limit);
      ctx.bridge.request(
        ctx.backends.database(),
        [respond, limit](const std::vector<audit_row>& rows) {
          auto out = json::array();
          for (auto& r : rows) {
            auto details = json::parse(r.entry.details, nullptr, false);
            out.push_back({{"id", r.id},
                           {"at", rfc3339(r.at_ms)},
                           {"actorKind", r.entry.actor_kind},
                           {"actorId", r.entry.actor_id},
                           {"action", r.entry.action},
                           {"target", r.entry.target},
                           {"details", details.is_discarded() ? json::object()
                                                              : details},
                           {"remoteAddr", r.entry.remote_addr}});
          }
          auto reply = json_reply(200, out);
          // The next page: older than the last line shown.
          if (!rows.empty() && static_cast<int64_t>(rows.size()) == limit)
            reply.headers.emplace_back("X-Next-Before",
                                       std::to_string(rows.back().id));
          respond(std::move(reply));
        },
        error_reply(respond), atom::list_v, atom::audit_v, q);
    });
}

} // namespace

bool time_param(const http::request& req, const char* name, int64_t& out,
                const http::responder& respond) {
  auto v = req.query_param(name);
  if (!v || v->empty())
    return true;
  if (std::all_of(v->begin(), v->end(), ::isdigit) && v->size() <= 12) {
    out = std::stoll(*v) * 1000;
    return true;
  }
  std::tm tm{};
  auto end = strptime(v->c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (!end || (*end != '\0' && *end != 'Z' && *end != '.')) {
    respond(http::response::error(400, std::string{"query parameter '"} + name
                                         + "' must be RFC 3339 (UTC) or Unix "
                                           "seconds"));
    return false;
  }
  out = static_cast<int64_t>(timegm(&tm)) * 1000;
  return true;
}

std::function<void(const caf::error&)> error_reply(http::responder respond) {
  return [respond](const caf::error& err) {
    respond(bridge::to_response(err));
  };
}

http::handler with_context(api_context& ctx, context_fn fn) {
  return [&ctx, fn](http::request& req, http::responder respond) {
    fn(ctx, req, std::move(respond));
  };
}

std::string client_ip(const http::request& req) {
  auto& r = req.remote;
  if (!r.empty() && r.front() == '[') {
    auto close = r.find(']');
    return close == std::string::npos ? "" : r.substr(1, close - 1);
  }
  auto colon = r.rfind(':');
  return colon == std::string::npos ? r : r.substr(0, colon);
}

void audit(api_context& ctx, const http::request& req, audit_entry e) {
  e.remote_addr = client_ip(req);
  ctx.bridge.request(
    ctx.backends.database(), [](atom::ok_atom) {},
    [e](const caf::error& err) {
      log::get("http")->error("AUDIT NOT WRITTEN: {} {} by {} {}: {}",
                              e.action, e.target, e.actor_kind, e.actor_id,
                              message_of(err));
    },
    atom::audit_v, e);
}

void with_team(api_context& ctx, const http::request& req,
               const http::responder& respond, auth::permission p,
               std::function<void(const user_context&, const team_info&,
                                  const std::string& role)>
                 f) {
  // /v1/teams/{team}/…, or ?team= on routes without it (/v1/audit).
  auto i = req.params.find("team");
  auto team = i != req.params.end() ? i->second
                                    : req.query_param("team").value_or("");
  if (team.empty()) {
    respond(http::response::error(
      400, "name the team: query parameter 'team' (its slug or id)"));
    return;
  }
  ctx.users.check(req, respond, [&ctx, req, respond, p, f,
                                 team](const user_context& who) {
    ctx.bridge.request(
      ctx.backends.database(),
      [respond, p, f, who](const team_info& t, const std::string& role) {
        if (!auth::allowed(role, p)) {
          respond(http::response::error(
            403, "your role in team " + t.slug + " (" + role
                   + ") does not allow this (needs " + auth::to_string(p)
                   + ")"));
          return;
        }
        f(who, t, role);
      },
      error_reply(respond), atom::get_v, atom::role_v, team, who.user_id);
  });
}

void add_accounts(http::router& r, api_context& ctx) {
  auto route = [&ctx](context_fn fn) { return with_context(ctx, fn); };
  // Guessing one account's password: 10 tries a minute per address and
  // account. Sign-ups and refreshes: 60 a minute per address.
  auto guarded = [&ctx](context_fn fn, bool per_account) -> http::handler {
    return [&ctx, fn, per_account](http::request& req,
                                   http::responder respond) {
      auto subject = client_ip(req);
      rate r{1, 30};
      if (per_account) {
        auto body = json::parse(req.body, nullptr, false);
        auto email = body.is_object() && body["email"].is_string()
                       ? body["email"].get<std::string>()
                       : std::string{};
        std::transform(email.begin(), email.end(), email.begin(), ::tolower);
        subject += "/" + auth::sha256_hex(email).substr(0, 16);
        r = {10.0 / 60, 10};
      }
      ctx.limits.check(per_account ? "login" : "auth", subject, r, respond,
                       [&ctx, fn, req, respond]() mutable {
                         fn(ctx, req, std::move(respond));
                       });
    };
  };
  r.add("POST", "/v1/auth/register", guarded(do_register, false));
  r.add("POST", "/v1/auth/login", guarded(do_login, true));
  r.add("POST", "/v1/auth/refresh", guarded(do_refresh, false));
  r.add("POST", "/v1/auth/logout", route(do_logout));
  r.add("GET", "/v1/me", route(do_me));
  r.add("POST", "/v1/teams", route(do_create_team));
  r.add("GET", "/v1/teams", route(do_teams));
  r.add("GET", "/v1/teams/{team}", route(do_team));
  r.add("GET", "/v1/teams/{team}/members", route(do_members));
  r.add("POST", "/v1/teams/{team}/members", route(do_add_member));
  r.add("PATCH", "/v1/teams/{team}/members/{member}", route(do_set_role));
  r.add("DELETE", "/v1/teams/{team}/members/{member}", route(do_remove_member));
  r.add("GET", "/v1/teams/{team}/audit", route(do_audit));
  r.add("GET", "/v1/audit", route(do_audit));
}

} // namespace sbx::routes

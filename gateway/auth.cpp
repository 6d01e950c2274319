#include "gateway/auth.hpp"

#include "actors/error.hpp"
#include "gateway/backends.hpp"
#include "gateway/bridge.hpp"
#include "gateway/rate_limits.hpp"
#include "runtime/auth/api_key.hpp"
#include "runtime/auth/jwt.hpp"
#include "runtime/auth/roles.hpp"

namespace sbx {

namespace {

/// An unknown key is remembered briefly too, so that a client retrying a
/// wrong key does not hammer the database.
constexpr auto negative_ttl = std::chrono::seconds{1};

/// How long a verified key keeps working while PostgreSQL is unreachable.
constexpr auto stale_grace = std::chrono::minutes{5};

/// Entries kept before expired ones are swept.
constexpr size_t max_entries = 10'000;

/// The scope a request with an API key needs: reading sandboxes, changing
/// them, or reading templates.
std::string needed_scope(const http::request& req) {
  if (req.path.rfind("/templates", 0) == 0
      || req.path.rfind("/v2/templates", 0) == 0)
    return "templates:read";
  if (req.path.rfind("/v1/usage", 0) == 0
      || req.path.rfind("/v1/invoices", 0) == 0)
    return "billing:read";
  // A terminal is a shell: writing. Everything else that only reads is GET.
  return req.method == "GET" && req.path.find("/terminal") == std::string::npos
           ? "sandboxes:read"
           : "sandboxes:write";
}

} // namespace

std::string session_key(const std::string& cluster_secret) {
  return auth::hmac_sha256_hex(cluster_secret, "sandhive console sessions v1");
}

api_auth::api_auth(bridge& b, const backends& be,
                   std::chrono::milliseconds ttl, rate_limiter* limits)
  : bridge_(b), backends_(be), ttl_(ttl), limits_(limits) {
  // nop
}

std::shared_ptr<const api_auth::entry>
api_auth::cached(const std::string& hash, bool allow_stale) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = keys_.find(hash);
  if (i == keys_.end())
    return nullptr;
  auto& e = *i->second;
  auto now = clock::now();
  if (now < e.expires
      || (allow_stale && e.info && now < e.expires + stale_grace))
    return i->second;
  return nullptr;
}

void api_auth::remember(const std::string& hash, entry e) {
  auto fresh = std::make_shared<const entry>(std::move(e));
  std::lock_guard<std::mutex> guard{mtx_};
  if (keys_.size() >= max_entries) {
    auto now = clock::now();
    for (auto i = keys_.begin(); i != keys_.end();)
      i = i->second->expires + stale_grace < now ? keys_.erase(i)
                                                 : std::next(i);
    if (keys_.size() >= max_entries)
      keys_.clear();
  }
  keys_[hash] = std::move(fresh);
}

void api_auth::check(const http::request& req, const http::responder& respond,
                     std::function<void(const api_key_info&)> allowed) {
  // A key may carry only some scopes: 403 when it lacks this request's.
  // Then the team's rate for creates or for everything else.
  auto creates = req.method == "POST"
                 && (req.path == "/sandboxes" || req.path == "/v2/sandboxes");
  auto ok = [this, scope = needed_scope(req), creates, respond,
             allowed = std::move(allowed)](const api_key_info& info) {
    if (!auth::has_scope(info.scopes, scope)) {
      respond(http::response::error(403, "this API key lacks the scope "
                                           + scope));
      return;
    }
    if (!limits_) {
      allowed(info);
      return;
    }
    auto per_s = creates ? info.limits.rate_create : info.limits.rate_control;
    limits_->check(creates ? "create" : "control", info.team_id,
                   {per_s, per_s * 5}, respond,
                   [allowed, info] { allowed(info); });
  };
  auto key = req.header("X-API-KEY");
  if (key.empty()) {
    respond(http::response::error(
      401, "missing API key: send it in the X-API-KEY header (E2B_API_KEY)"));
    return;
  }
  auto hash = auth::sha256_hex(key);
  if (auto e = cached(hash, false)) {
    if (e->info)
      ok(*e->info);
    else
      respond(http::response::error(401, e->error));
    return;
  }
  bridge_.request(
    backends_.database(),
    [this, hash, respond, ok](const api_key_info& info) {
      remember(hash, {info, {}, clock::now() + ttl_});
      ok(info);
    },
    [this, hash, respond, ok](const caf::error& err) {
      if (err == ec::unauthenticated) {
        auto msg = message_of(err) + ": check E2B_API_KEY";
        remember(hash, {std::nullopt, msg, clock::now() + negative_ttl});
        respond(http::response::error(401, msg));
        return;
      }
      if (auto e = cached(hash, true); e && e->info) {
        ok(*e->info);
        return;
      }
      respond(http::response::error(
        503, "cannot verify the API key now: " + message_of(err)));
    },
    atom::key_v, hash);
}

// -- user_auth ----------------------------------------------------------------

user_auth::user_auth(bridge& b, const backends& be, std::string key,
                     std::chrono::milliseconds ttl, rate_limiter* limits)
  : bridge_(b), backends_(be), key_(std::move(key)), ttl_(ttl),
    limits_(limits) {
  // nop
}

void user_auth::forget(const std::string& session_id) {
  std::lock_guard<std::mutex> guard{mtx_};
  sessions_[session_id] = {false, clock::now() + std::chrono::hours{1}};
}

void user_auth::check(const http::request& req, const http::responder& respond,
                      std::function<void(const user_context&)> allowed) {
  // A person at a console: 20 requests a second, bursts of 100.
  auto ok = [this, respond, allowed = std::move(allowed)](
              const user_context& who) {
    if (!limits_) {
      allowed(who);
      return;
    }
    limits_->check("console", who.user_id, {20, 100}, respond,
                   [allowed, who] { allowed(who); });
  };
  auto header = req.header("Authorization");
  constexpr std::string_view bearer = "Bearer ";
  if (header.size() <= bearer.size()
      || header.compare(0, bearer.size(), bearer) != 0) {
    respond(http::response::error(
      401, "missing access token: log in (POST /v1/auth/login) and send "
           "'Authorization: Bearer <accessToken>'"));
    return;
  }
  auto now_s = std::chrono::duration_cast<std::chrono::seconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count();
  auto claims = auth::verify_jwt(header.substr(bearer.size()), key_, now_s);
  if (!claims) {
    respond(http::response::error(401, message_of(claims.error())));
    return;
  }
  user_context who{claims->sub, claims->sid};
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (sessions_.size() > 10'000)
      sessions_.clear();
    auto i = sessions_.find(who.session_id);
    if (i != sessions_.end() && clock::now() < i->second.expires) {
      if (i->second.live)
        ok(who);
      else
        respond(http::response::error(401, "the session has ended; log in "
                                           "again"));
      return;
    }
  }
  bridge_.request(
    backends_.database(),
    [this, who, respond, ok, now_s](const session_record& s) {
      auto live = !s.revoked && s.user_id == who.user_id
                  && s.expires_at_ms / 1000 > now_s;
      {
        std::lock_guard<std::mutex> guard{mtx_};
        sessions_[who.session_id] = {live, clock::now() + ttl_};
      }
      if (live)
        ok(who);
      else
        respond(http::response::error(401, "the session has ended; log in "
                                           "again"));
    },
    [respond](const caf::error& err) {
      if (err == ec::not_found)
        respond(http::response::error(401, "unknown session; log in again"));
      else
        respond(http::response::error(503, "cannot check the session now: "
                                             + message_of(err)));
    },
    atom::get_v, atom::session_v, who.session_id);
}

} // namespace sbx

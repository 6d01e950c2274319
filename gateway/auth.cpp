#include "gateway/auth.hpp"

#include "actors/error.hpp"
#include "gateway/backends.hpp"
#include "gateway/bridge.hpp"
#include "runtime/auth/api_key.hpp"

namespace sbx {

namespace {

/// An unknown key is remembered briefly too, so that a client retrying a
/// wrong key does not hammer the database.
constexpr auto negative_ttl = std::chrono::seconds{1};

/// How long a verified key keeps working while PostgreSQL is unreachable.
constexpr auto stale_grace = std::chrono::minutes{5};

/// Entries kept before expired ones are swept.
constexpr size_t max_entries = 10'000;

} // namespace

api_auth::api_auth(bridge& b, const backends& be,
                   std::chrono::milliseconds ttl)
  : bridge_(b), backends_(be), ttl_(ttl) {
  // nop
}

std::optional<api_auth::entry> api_auth::cached(const std::string& hash,
                                                bool allow_stale) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = keys_.find(hash);
  if (i == keys_.end())
    return std::nullopt;
  auto now = clock::now();
  if (now < i->second.expires
      || (allow_stale && i->second.info
          && now < i->second.expires + stale_grace))
    return i->second;
  return std::nullopt;
}

void api_auth::remember(const std::string& hash, entry e) {
  std::lock_guard<std::mutex> guard{mtx_};
  if (keys_.size() >= max_entries) {
    auto now = clock::now();
    for (auto i = keys_.begin(); i != keys_.end();)
      i = i->second.expires + stale_grace < now ? keys_.erase(i) : std::next(i);
    if (keys_.size() >= max_entries)
      keys_.clear();
  }
  keys_[hash] = std::move(e);
}

void api_auth::check(const http::request& req, const http::responder& respond,
                     std::function<void(const api_key_info&)> ok) {
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

} // namespace sbx

#pragma once

#include "actors/messages.hpp"
#include "gateway/http.hpp"

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace sbx {

class backends;
class bridge;
class rate_limiter;

/// Authenticates control-plane requests by their X-API-KEY header against
/// the key hashes in PostgreSQL. A verified key is remembered for `ttl`, so
/// a request does not cost a database round trip and a revoked key stops
/// working within `ttl`. While PostgreSQL is unreachable, a key verified
/// recently keeps working.
class api_auth {
public:
  using clock = std::chrono::steady_clock;

  /// `limits` (may be null) applies the team's request rates.
  api_auth(bridge& b, const backends& be, std::chrono::milliseconds ttl,
           rate_limiter* limits = nullptr);

  /// Runs `ok` with the key's owner, when the key has the request's scope
  /// and the team is within its rate; answers 401, 403, 429 (or 503)
  /// itself.
  void check(const http::request& req, const http::responder& respond,
             std::function<void(const api_key_info&)> ok);

private:
  struct entry {
    std::optional<api_key_info> info;
    std::string error;
    clock::time_point expires;
  };

  /// Entries are immutable and shared: a hit copies a pointer under the
  /// lock, not the key's strings.
  std::shared_ptr<const entry> cached(const std::string& hash,
                                      bool allow_stale);
  void remember(const std::string& hash, entry e);

  bridge& bridge_;
  const backends& backends_;
  std::chrono::milliseconds ttl_;
  rate_limiter* limits_;
  std::mutex mtx_;
  std::unordered_map<std::string, std::shared_ptr<const entry>> keys_;
};

/// Who a console request comes from, once its token checked out.
struct user_context {
  std::string user_id;
  std::string session_id;
};

/// Authenticates sandhive's own /v1 routes by `Authorization: Bearer` with a
/// console session's access token (a JWT, runtime/auth/jwt.hpp). The token
/// itself proves who and until when; that its session has not been ended
/// (logout) is asked of PostgreSQL and remembered for `ttl`, so a logout
/// takes effect on every gateway within `ttl`, and at once on this one.
class user_auth {
public:
  using clock = std::chrono::steady_clock;

  /// `key` signs the tokens: every gateway derives the same one from the
  /// cluster secret.
  /// `limits` (may be null) applies a per-user request rate.
  user_auth(bridge& b, const backends& be, std::string key,
            std::chrono::milliseconds ttl, rate_limiter* limits = nullptr);

  /// Runs `ok` with the caller, or answers 401, 429 (or 503) itself.
  void check(const http::request& req, const http::responder& respond,
             std::function<void(const user_context&)> ok);

  /// The key access tokens are signed with.
  const std::string& key() const {
    return key_;
  }

  /// Ends a session here at once (the database has it revoked already).
  void forget(const std::string& session_id);

private:
  struct entry {
    bool live = false;
    clock::time_point expires;
  };

  bridge& bridge_;
  const backends& backends_;
  std::string key_;
  std::chrono::milliseconds ttl_;
  rate_limiter* limits_;
  std::mutex mtx_;
  std::unordered_map<std::string, entry> sessions_;
};

/// The key console tokens are signed with, derived from the cluster secret
/// so that every gateway has it without another secret to distribute.
std::string session_key(const std::string& cluster_secret);

} // namespace sbx

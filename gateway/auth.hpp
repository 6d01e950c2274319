#pragma once

#include "actors/messages.hpp"
#include "gateway/http.hpp"

#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace sbx {

class backends;
class bridge;

/// Authenticates control-plane requests by their X-API-KEY header against
/// the key hashes in PostgreSQL. A verified key is remembered for `ttl`, so
/// a request does not cost a database round trip and a revoked key stops
/// working within `ttl`. While PostgreSQL is unreachable, a key verified
/// recently keeps working.
class api_auth {
public:
  using clock = std::chrono::steady_clock;

  api_auth(bridge& b, const backends& be, std::chrono::milliseconds ttl);

  /// Runs `ok` with the key's owner, or answers 401 (or 503) itself.
  void check(const http::request& req, const http::responder& respond,
             std::function<void(const api_key_info&)> ok);

private:
  struct entry {
    std::optional<api_key_info> info;
    std::string error;
    clock::time_point expires;
  };

  std::optional<entry> cached(const std::string& hash, bool allow_stale);
  void remember(const std::string& hash, entry e);

  bridge& bridge_;
  const backends& backends_;
  std::chrono::milliseconds ttl_;
  std::mutex mtx_;
  std::unordered_map<std::string, entry> keys_;
};

} // namespace sbx

#include "gateway/routes/envd_common.hpp"

#include "actors/error.hpp"
#include "gateway/bridge.hpp"
#include "runtime/auth/api_key.hpp"

#include <nlohmann/json.hpp>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <algorithm>

#include <strings.h>

namespace sbx::routes {

http::response sandbox_gone(const std::string& id) {
  nlohmann::json body = {{"sandboxId", id},
                         {"message", "The sandbox was not found"},
                         {"code", 502}};
  return http::response::json(
    502, body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

std::optional<std::string> basic_auth_user(const http::request& req) {
  auto h = req.header("Authorization");
  if (h.empty())
    return std::string{};
  if (h.size() < 6 || strncasecmp(h.data(), "Basic ", 6) != 0)
    return std::nullopt;
  auto b64 = h.substr(6);
  while (!b64.empty() && b64.back() == ' ')
    b64.pop_back();
  if (b64.empty() || b64.size() % 4 != 0 || b64.size() > 1024)
    return std::nullopt;
  std::string out(b64.size() / 4 * 3, '\0');
  auto n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                           reinterpret_cast<const unsigned char*>(b64.data()),
                           static_cast<int>(b64.size()));
  if (n < 0)
    return std::nullopt;
  // EVP_DecodeBlock counts the padding as zero bytes.
  auto pad = std::count(b64.end() - 2, b64.end(), '=');
  out.resize(static_cast<size_t>(n) - static_cast<size_t>(pad));
  return out.substr(0, out.find(':'));
}

bool same_secret(const std::string& a, const std::string& b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

void with_envd_sandbox(api_context& ctx, const http::request& req,
                       const http::responder& respond,
                       std::function<void(const sandbox_route&)> f) {
  auto id = req.header("E2b-Sandbox-Id");
  if (id.empty()) {
    respond(http::response::error(
      502, "no sandbox named: send the E2b-Sandbox-Id header"));
    return;
  }
  auto token = req.header("X-Access-Token");
  ctx.sandboxes.find(id, [id, token, respond,
                          f = std::move(f)](caf::expected<sandbox_route> r) {
    if (!r) {
      respond(r.error() == ec::not_found ? sandbox_gone(id)
                                         : bridge::to_response(r.error()));
      return;
    }
    if (!r->access_token.empty() && !same_secret(token, r->access_token)) {
      respond(http::response::error(
        401, "unauthorized access, please provide a valid access token or "
             "method signing if supported"));
      return;
    }
    f(*r);
  });
}

std::string auth_random_id() {
  return auth::random_hex(12);
}

} // namespace sbx::routes

#pragma once

#include "gateway/http.hpp"
#include "gateway/routes/routes.hpp"
#include "gateway/sandbox_routes.hpp"

#include <functional>
#include <optional>
#include <string>

/// What the data-plane routes (Connect RPC, /files, /health) share: finding
/// the sandbox a request is addressed to, and checking its access token.
namespace sbx::routes {

/// The body E2B's proxy sends for an unknown or dead sandbox (502), which
/// the SDKs read as "the sandbox is gone".
http::response sandbox_gone(const std::string& id);

/// The user named by `Authorization: Basic base64(user:)`; "" without the
/// header (the sandbox's default user); nullopt when malformed.
std::optional<std::string> basic_auth_user(const http::request& req);

/// Whether two secrets are equal, in time independent of where they differ.
bool same_secret(const std::string& a, const std::string& b);

/// Finds the sandbox of the E2b-Sandbox-Id header and checks X-Access-Token
/// (when the sandbox has a token), then runs `f`. Answers 502 for an unknown
/// sandbox and 401 for a wrong token itself.
void with_envd_sandbox(api_context& ctx, const http::request& req,
                       const http::responder& respond,
                       std::function<void(const sandbox_route&)> f);

/// A random id for gateway-side objects (watchers).
std::string auth_random_id();

} // namespace sbx::routes

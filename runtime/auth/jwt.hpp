#pragma once

#include <caf/expected.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

/// JSON Web Tokens (RFC 7519) signed with HS256, for console sessions. Only
/// HS256 is accepted: a token naming another algorithm ("none" included) is
/// refused, whatever it claims.
namespace sbx::auth {

struct jwt_claims {
  /// The user's id.
  std::string sub;
  /// The session the token belongs to (revoked at logout).
  std::string sid;
  /// Unix seconds.
  int64_t iat = 0;
  int64_t exp = 0;
};

/// header.payload.signature, base64url without padding.
std::string sign_jwt(const jwt_claims& claims, std::string_view key);

/// The claims of a token whose signature checks out and which has not
/// expired at `now_s`; ec::unauthenticated with the reason otherwise.
caf::expected<jwt_claims> verify_jwt(std::string_view token,
                                     std::string_view key, int64_t now_s);

/// base64url (RFC 4648 §5) without padding.
std::string base64url(std::string_view data);

/// Decodes base64url with or without padding; nothing when malformed.
std::optional<std::string> from_base64url(std::string_view text);

} // namespace sbx::auth

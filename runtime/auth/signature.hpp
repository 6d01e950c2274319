#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

/// Signed file URLs: how E2B's SDKs let a browser or curl reach envd's
/// `/files` without the sandbox's access token.
namespace sbx::auth {

/// The signature E2B's SDKs put in `?signature=`: "v1_" + unpadded standard
/// base64 of SHA-256("path:operation:user:token[:expiration]"). `user` is ""
/// when the caller named none; `operation` is "read" or "write".
std::string file_signature(std::string_view path, std::string_view operation,
                           std::string_view user, std::string_view token,
                           std::optional<int64_t> expiration);

/// What a `/files` request carries that bears on its authorization.
struct signature_params {
  /// The X-Access-Token header; absent and empty mean the same (as in Go).
  std::optional<std::string> access_token;
  /// The `signature` query parameter.
  std::optional<std::string> signature;
  /// The `signature_expiration` query parameter, still as text.
  std::optional<std::string> signature_expiration;
  /// The `path` query parameter as sent (not resolved).
  std::string path;
  /// The `username` query parameter, "" when absent.
  std::string username;
  /// "read" for GET /files, "write" for POST /files.
  std::string operation;
};

/// The outcome of checking a `/files` request, in envd's order.
enum class signature_check : uint8_t {
  /// Authorized, by header or by signature.
  ok,
  /// X-Access-Token was sent but is not the sandbox's token.
  token_mismatch,
  /// Neither a token header nor a `signature` parameter.
  missing_signature,
  /// The signature does not match (or its expiration is not an integer).
  invalid_signature,
  /// The signature matches but its expiration lies in the past.
  expired,
};

/// Checks a `/files` request the way envd's validateSigning does: a token
/// header decides alone; else the signature must match, then be unexpired.
/// An empty `token` means the sandbox has none, and everything passes.
/// @param now_s the current unix time in seconds.
signature_check check_file_signature(const signature_params& p,
                                     std::string_view token, int64_t now_s);

/// The HTTP status for `x`: 200 when ok, else 401.
unsigned http_status(signature_check x);

/// envd's error message for `x` ("" when ok), for the {"code","message"} body.
std::string_view message(signature_check x);

} // namespace sbx::auth

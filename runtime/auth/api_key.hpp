#pragma once

#include <string>
#include <string_view>

namespace sbx::auth {

/// A freshly made API key. Only `hash` is ever stored; `secret` is shown once.
struct api_key {
  /// The key itself: "e2b_" + 40 hex characters, as E2B's SDKs expect.
  std::string secret;
  /// Lower-case hex SHA-256 of `secret`.
  std::string hash;
  /// The first characters of the key ("e2b_1a2b3c"), safe to list.
  std::string prefix;
};

/// Makes a new key from the OS's CSPRNG (OpenSSL RAND_bytes).
api_key generate_api_key();

/// True if `x` has the shape of an API key ("e2b_" + 40 lower-case hex).
bool is_api_key(std::string_view x);

/// Lower-case hex SHA-256 of `x`.
std::string sha256_hex(std::string_view x);

/// Lower-case hex HMAC-SHA256 of `msg` keyed with `key`.
std::string hmac_sha256_hex(std::string_view key, std::string_view msg);

/// Compares in time independent of where the strings differ.
bool equal_constant_time(std::string_view a, std::string_view b);

/// `n` random bytes as lower-case hex (2n characters).
std::string random_hex(size_t n);

/// `n` bytes as lower-case hex.
std::string hex(const unsigned char* data, size_t n);

} // namespace sbx::auth

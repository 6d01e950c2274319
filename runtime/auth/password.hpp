#pragma once

#include <caf/expected.hpp>

#include <cstdint>
#include <string>
#include <string_view>

/// Passwords, stored only as a slow, salted, memory-hard hash: scrypt from
/// OpenSSL (EVP_PBE_scrypt). The stored form names its parameters, so they
/// can be raised later without breaking old hashes:
/// "scrypt$<log2 N>$<r>$<p>$<salt hex>$<hash hex>".
namespace sbx::auth {

/// scrypt's cost: N = 2^log2_n, r, p. The default (2^15, 8, 1) takes about
/// 32 MiB and tens of milliseconds per hash.
struct scrypt_params {
  unsigned log2_n = 15;
  unsigned r = 8;
  unsigned p = 1;
};

/// Hashes `password` with a fresh random salt. Blocks for the KDF's time:
/// never on an I/O thread or a cooperative actor.
caf::expected<std::string> hash_password(std::string_view password,
                                         const scrypt_params& params = {});

/// Whether `password` matches `stored` (constant-time compare); false for a
/// malformed `stored`. Blocks like hash_password.
bool verify_password(std::string_view password, std::string_view stored);

/// Why a new password is not acceptable ("" when it is): at least 10
/// characters, at most 1024.
std::string weak_password(std::string_view password);

} // namespace sbx::auth

#include "runtime/auth/api_key.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <stdexcept>
#include <vector>

namespace sbx::auth {

namespace {

constexpr std::string_view key_prefix = "e2b_";
constexpr size_t key_hex_chars = 40;

} // namespace

std::string hex(const unsigned char* data, size_t n) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string result(n * 2, '0');
  for (size_t i = 0; i < n; ++i) {
    result[2 * i] = digits[data[i] >> 4];
    result[2 * i + 1] = digits[data[i] & 0x0f];
  }
  return result;
}

std::string random_hex(size_t n) {
  std::vector<unsigned char> buf(n);
  // RAND_bytes only fails when the OS has no entropy source: a broken
  // invariant, not an input error.
  if (RAND_bytes(buf.data(), static_cast<int>(n)) != 1)
    throw std::runtime_error("RAND_bytes failed");
  return hex(buf.data(), n);
}

std::string sha256_hex(std::string_view x) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(x.data()), x.size(), digest);
  return hex(digest, sizeof(digest));
}

std::string hmac_sha256_hex(std::string_view key, std::string_view msg) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(msg.data()), msg.size(), digest,
       &len);
  return hex(digest, len);
}

bool equal_constant_time(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

api_key generate_api_key() {
  api_key result;
  result.secret = std::string{key_prefix} + random_hex(key_hex_chars / 2);
  result.hash = sha256_hex(result.secret);
  result.prefix = result.secret.substr(0, key_prefix.size() + 6);
  return result;
}

bool is_api_key(std::string_view x) {
  if (x.size() != key_prefix.size() + key_hex_chars
      || x.substr(0, key_prefix.size()) != key_prefix)
    return false;
  for (auto c : x.substr(key_prefix.size()))
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
      return false;
  return true;
}

} // namespace sbx::auth

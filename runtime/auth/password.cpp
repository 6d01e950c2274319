#include "runtime/auth/password.hpp"

#include "actors/error.hpp"
#include "runtime/auth/api_key.hpp"

#include <openssl/evp.h>

#include <sstream>
#include <vector>

namespace sbx::auth {

namespace {

constexpr size_t hash_bytes = 32;

bool from_hex(std::string_view hex, std::vector<unsigned char>& out) {
  if (hex.size() % 2 != 0)
    return false;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9')
      return c - '0';
    if (c >= 'a' && c <= 'f')
      return c - 'a' + 10;
    return -1;
  };
  out.clear();
  for (size_t i = 0; i < hex.size(); i += 2) {
    auto hi = nibble(hex[i]);
    auto lo = nibble(hex[i + 1]);
    if (hi < 0 || lo < 0)
      return false;
    out.push_back(static_cast<unsigned char>(hi << 4 | lo));
  }
  return true;
}

bool scrypt(std::string_view password, const std::vector<unsigned char>& salt,
            const scrypt_params& p, unsigned char* out) {
  // Memory needed is 128 * r * N bytes; allow it with room to spare.
  uint64_t n = uint64_t{1} << p.log2_n;
  uint64_t max_mem = 128 * uint64_t{p.r} * n * 2 + (1 << 20);
  return EVP_PBE_scrypt(password.data(), password.size(), salt.data(),
                        salt.size(), n, p.r, p.p, max_mem, out, hash_bytes)
         == 1;
}

} // namespace

caf::expected<std::string> hash_password(std::string_view password,
                                         const scrypt_params& params) {
  std::vector<unsigned char> salt;
  from_hex(random_hex(16), salt);
  unsigned char out[hash_bytes];
  if (!scrypt(password, salt, params, out))
    return make_error(ec::internal, "scrypt failed");
  std::ostringstream stored;
  stored << "scrypt$" << params.log2_n << "$" << params.r << "$" << params.p
         << "$" << hex(salt.data(), salt.size()) << "$"
         << hex(out, hash_bytes);
  return stored.str();
}

bool verify_password(std::string_view password, std::string_view stored) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (;;) {
    auto end = stored.find('$', start);
    parts.emplace_back(stored.substr(start, end - start));
    if (end == std::string_view::npos)
      break;
    start = end + 1;
  }
  if (parts.size() != 6 || parts[0] != "scrypt")
    return false;
  scrypt_params p;
  try {
    p.log2_n = static_cast<unsigned>(std::stoul(parts[1]));
    p.r = static_cast<unsigned>(std::stoul(parts[2]));
    p.p = static_cast<unsigned>(std::stoul(parts[3]));
  } catch (...) {
    return false;
  }
  // Bounds that keep a tampered row from asking for absurd work.
  if (p.log2_n < 10 || p.log2_n > 22 || p.r < 1 || p.r > 32 || p.p < 1
      || p.p > 16)
    return false;
  std::vector<unsigned char> salt, expected;
  if (!from_hex(parts[4], salt) || !from_hex(parts[5], expected)
      || expected.size() != hash_bytes)
    return false;
  unsigned char out[hash_bytes];
  if (!scrypt(password, salt, p, out))
    return false;
  return equal_constant_time(hex(out, hash_bytes), parts[5]);
}

std::string weak_password(std::string_view password) {
  if (password.size() < 10)
    return "a password needs at least 10 characters";
  if (password.size() > 1024)
    return "a password may have at most 1024 characters";
  return "";
}

} // namespace sbx::auth

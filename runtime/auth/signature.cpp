#include "runtime/auth/signature.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <charconv>

namespace sbx::auth {

namespace {

// Constant time for equal lengths; a length mismatch may return early, which
// only leaks the length (fixed for signatures, as in Go's ConstantTimeCompare).
bool equal_secret(std::string_view x, std::string_view y) {
  return x.size() == y.size()
         && CRYPTO_memcmp(x.data(), y.data(), x.size()) == 0;
}

// Parses like Go's strconv.ParseInt(s, 10, 64), which envd's query binding
// uses: an optional sign, decimal digits, nothing else, no overflow.
std::optional<int64_t> parse_int64(std::string_view x) {
  if (!x.empty() && x[0] == '+') {
    x.remove_prefix(1);
    if (!x.empty() && x[0] == '-')
      return std::nullopt;
  }
  int64_t result = 0;
  auto [end, ec] = std::from_chars(x.data(), x.data() + x.size(), result);
  if (x.empty() || ec != std::errc{} || end != x.data() + x.size())
    return std::nullopt;
  return result;
}

} // namespace

std::string file_signature(std::string_view path, std::string_view operation,
                           std::string_view user, std::string_view token,
                           std::optional<int64_t> expiration) {
  std::string input;
  input.reserve(path.size() + operation.size() + user.size() + token.size()
                + 24);
  input.append(path).append(":").append(operation).append(":");
  input.append(user).append(":").append(token);
  if (expiration)
    input.append(":").append(std::to_string(*expiration));
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_len = 0;
  // Only fails on allocation failure inside OpenSSL; the empty digest then
  // yields a signature that matches nothing, which fails closed.
  if (EVP_Digest(input.data(), input.size(), digest, &digest_len,
                 EVP_sha256(), nullptr)
      != 1)
    digest_len = 0;
  // 4 output characters per 3 input bytes, plus the NUL EVP_EncodeBlock adds.
  unsigned char b64[4 * ((EVP_MAX_MD_SIZE + 2) / 3) + 1];
  auto n = EVP_EncodeBlock(b64, digest, static_cast<int>(digest_len));
  std::string result = "v1_";
  result.append(reinterpret_cast<const char*>(b64), static_cast<size_t>(n));
  // Go's RawStdEncoding and the SDKs drop the padding.
  while (!result.empty() && result.back() == '=')
    result.pop_back();
  return result;
}

signature_check check_file_signature(const signature_params& p,
                                     std::string_view token, int64_t now_s) {
  // A sandbox without a token has no signing either (envd returns early).
  if (token.empty())
    return signature_check::ok;
  // A token header decides alone, even if a signature is present too. Go's
  // Header.Get returns "" for a missing header, so empty counts as absent.
  if (p.access_token && !p.access_token->empty())
    return equal_secret(*p.access_token, token)
             ? signature_check::ok
             : signature_check::token_mismatch;
  if (!p.signature)
    return signature_check::missing_signature;
  std::optional<int64_t> expiration;
  if (p.signature_expiration) {
    // envd rejects a non-integer earlier, in query binding (400); we fold it
    // into "invalid signature" since no signer could have produced it.
    expiration = parse_int64(*p.signature_expiration);
    if (!expiration)
      return signature_check::invalid_signature;
  }
  auto expected = file_signature(p.path, p.operation, p.username, token,
                                 expiration);
  if (!equal_secret(expected, *p.signature))
    return signature_check::invalid_signature;
  // Checked after the signature so that an expired URL is reported as such
  // only to whoever holds a genuine one.
  if (expiration && *expiration < now_s)
    return signature_check::expired;
  return signature_check::ok;
}

unsigned http_status(signature_check x) {
  return x == signature_check::ok ? 200 : 401;
}

std::string_view message(signature_check x) {
  switch (x) {
    case signature_check::ok:
      return "";
    case signature_check::token_mismatch:
      return "access token present in header but does not match";
    case signature_check::missing_signature:
      return "missing signature query parameter";
    case signature_check::invalid_signature:
      return "invalid signature";
    case signature_check::expired:
      return "signature is already expired";
  }
  return "invalid signature";
}

} // namespace sbx::auth

#include "runtime/auth/jwt.hpp"

#include "actors/error.hpp"

#include <nlohmann/json.hpp>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

namespace sbx::auth {

namespace {

constexpr std::string_view header = R"({"alg":"HS256","typ":"JWT"})";

std::string hmac(std::string_view key, std::string_view msg) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(msg.data()), msg.size(), out,
       &len);
  return std::string(reinterpret_cast<char*>(out), len);
}

caf::error refused(std::string why) {
  return make_error(ec::unauthenticated, "invalid token: " + std::move(why));
}

} // namespace

std::string base64url(std::string_view data) {
  std::string out(4 * ((data.size() + 2) / 3) + 1, '\0');
  auto n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                           reinterpret_cast<const unsigned char*>(data.data()),
                           static_cast<int>(data.size()));
  out.resize(static_cast<size_t>(n));
  while (!out.empty() && out.back() == '=')
    out.pop_back();
  for (auto& c : out)
    c = c == '+' ? '-' : c == '/' ? '_' : c;
  return out;
}

std::optional<std::string> from_base64url(std::string_view text) {
  std::string in{text};
  for (auto& c : in) {
    if (c == '-')
      c = '+';
    else if (c == '_')
      c = '/';
    else if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '='))
      return std::nullopt;
  }
  while (in.size() % 4 != 0)
    in += '=';
  std::string out(in.size() / 4 * 3 + 1, '\0');
  auto n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                           reinterpret_cast<const unsigned char*>(in.data()),
                           static_cast<int>(in.size()));
  if (n < 0)
    return std::nullopt;
  // EVP_DecodeBlock counts the padding as zero bytes.
  size_t pad = 0;
  for (auto i = in.rbegin(); i != in.rend() && *i == '='; ++i)
    ++pad;
  out.resize(static_cast<size_t>(n) - pad);
  return out;
}

std::string sign_jwt(const jwt_claims& c, std::string_view key) {
  nlohmann::json payload{{"sub", c.sub}, {"sid", c.sid}, {"iat", c.iat},
                         {"exp", c.exp}};
  auto input = base64url(header) + "." + base64url(payload.dump());
  return input + "." + base64url(hmac(key, input));
}

caf::expected<jwt_claims> verify_jwt(std::string_view token,
                                     std::string_view key, int64_t now_s) {
  auto dot1 = token.find('.');
  auto dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos
      || token.find('.', dot2 + 1) != std::string_view::npos)
    return refused("not a JWT");
  auto head = from_base64url(token.substr(0, dot1));
  auto body = from_base64url(token.substr(dot1 + 1, dot2 - dot1 - 1));
  auto sig = from_base64url(token.substr(dot2 + 1));
  if (!head || !body || !sig)
    return refused("not base64url");
  auto h = nlohmann::json::parse(*head, nullptr, false);
  if (!h.is_object() || h.value("alg", "") != "HS256")
    return refused("only HS256 is accepted");
  auto expected = hmac(key, token.substr(0, dot2));
  if (sig->size() != expected.size()
      || CRYPTO_memcmp(sig->data(), expected.data(), expected.size()) != 0)
    return refused("bad signature");
  auto p = nlohmann::json::parse(*body, nullptr, false);
  if (!p.is_object() || !p["sub"].is_string() || !p["sid"].is_string()
      || !p["exp"].is_number_integer() || !p["iat"].is_number_integer())
    return refused("missing claims");
  jwt_claims c{p["sub"], p["sid"], p["iat"], p["exp"]};
  if (c.exp <= now_s)
    return make_error(ec::unauthenticated, "the token has expired; refresh it");
  return c;
}

} // namespace sbx::auth

// Console access tokens: HS256 only, signatures, expiry, tampering.

#include "actors/error.hpp"
#include "runtime/auth/jwt.hpp"

#include <boost/test/unit_test.hpp>

using namespace sbx;
using namespace sbx::auth;

namespace {

const std::string key = "0123456789abcdef0123456789abcdef";

jwt_claims claims() {
  return {"user-1", "session-1", 1000, 2000};
}

bool refused(const std::string& token, int64_t now = 1500,
             const std::string& k = key) {
  auto c = verify_jwt(token, k, now);
  return !c && c.error() == ec::unauthenticated;
}

} // namespace

BOOST_AUTO_TEST_SUITE(jwt)

BOOST_AUTO_TEST_CASE(a_signed_token_verifies_until_it_expires) {
  auto token = sign_jwt(claims(), key);
  auto c = verify_jwt(token, key, 1500);
  BOOST_REQUIRE(c);
  BOOST_CHECK_EQUAL(c->sub, "user-1");
  BOOST_CHECK_EQUAL(c->sid, "session-1");
  BOOST_CHECK_EQUAL(c->exp, 2000);
  BOOST_CHECK(refused(token, 2000));
  BOOST_CHECK(refused(token, 1500, "another key"));
}

BOOST_AUTO_TEST_CASE(the_header_is_hs256_and_the_encoding_base64url) {
  auto token = sign_jwt(claims(), key);
  auto head = from_base64url(token.substr(0, token.find('.')));
  BOOST_REQUIRE(head);
  BOOST_CHECK_EQUAL(*head, R"({"alg":"HS256","typ":"JWT"})");
  BOOST_CHECK(token.find('=') == std::string::npos);
  BOOST_CHECK(token.find('+') == std::string::npos);
  BOOST_CHECK(token.find('/') == std::string::npos);
  // RFC 4648 test vectors, url-safe and unpadded.
  BOOST_CHECK_EQUAL(base64url("f"), "Zg");
  BOOST_CHECK_EQUAL(base64url("fo"), "Zm8");
  BOOST_CHECK_EQUAL(base64url("foobar"), "Zm9vYmFy");
  BOOST_CHECK_EQUAL(base64url("\xfb\xff"), "-_8");
  BOOST_CHECK_EQUAL(from_base64url("-_8").value_or(""), "\xfb\xff");
  BOOST_CHECK_EQUAL(from_base64url("Zm8=").value_or(""), "fo");
  BOOST_CHECK(!from_base64url("Zm8*"));
}

BOOST_AUTO_TEST_CASE(tampered_and_foreign_tokens_are_refused) {
  auto token = sign_jwt(claims(), key);
  auto dot1 = token.find('.');
  auto dot2 = token.rfind('.');
  // Another payload under the same signature.
  auto other = sign_jwt({"user-2", "session-1", 1000, 2000}, key);
  auto swapped = token.substr(0, dot1)
                 + other.substr(other.find('.'), other.rfind('.') - other.find('.'))
                 + token.substr(dot2);
  BOOST_CHECK(refused(swapped));
  // alg "none" with no signature, whatever the payload says.
  auto none = base64url(R"({"alg":"none","typ":"JWT"})") + "."
              + token.substr(dot1 + 1, dot2 - dot1 - 1) + ".";
  BOOST_CHECK(refused(none));
  BOOST_CHECK(refused(""));
  BOOST_CHECK(refused("a.b"));
  BOOST_CHECK(refused("a.b.c.d"));
  BOOST_CHECK(refused(token + "x"));
}

BOOST_AUTO_TEST_SUITE_END()

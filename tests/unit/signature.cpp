#include "runtime/auth/signature.hpp"

#include <boost/test/unit_test.hpp>

using namespace sbx;
using auth::signature_check;

namespace {

constexpr std::string_view token = "secret-token";
constexpr int64_t now = 1795309000;

// A request as the JS SDK's uploadUrl/downloadUrl would produce it.
auth::signature_params signed_request(std::string operation,
                                      std::optional<int64_t> expiration) {
  auth::signature_params p;
  p.path = "/home/user/x";
  p.operation = std::move(operation);
  p.signature = auth::file_signature(p.path, p.operation, p.username, token,
                                     expiration);
  if (expiration)
    p.signature_expiration = std::to_string(*expiration);
  return p;
}

signature_check check(const auth::signature_params& p) {
  return auth::check_file_signature(p, token, now);
}

} // namespace

BOOST_AUTO_TEST_SUITE(signature)

BOOST_AUTO_TEST_CASE(matches_the_sdk_test_vectors) {
  BOOST_TEST(auth::file_signature("/home/user/x", "write", "", token,
                                  std::nullopt)
             == "v1_GTHS/+P2Nv7Mh4QBGZknua4Q+zTT5zRdaliYgRJ22GE");
  BOOST_TEST(auth::file_signature("/home/user/x", "read", "", token,
                                  int64_t{1795309029})
             == "v1_1c5t5gV34MO8zAi7P+AGlVEjsXN+DSrSOScg04LXAlQ");
}

BOOST_AUTO_TEST_CASE(user_and_operation_are_part_of_the_signature) {
  auto base = auth::file_signature("/a", "read", "", token, std::nullopt);
  BOOST_TEST(base.size() == 3u + 43u);
  BOOST_TEST(base != auth::file_signature("/a", "write", "", token,
                                          std::nullopt));
  BOOST_TEST(base != auth::file_signature("/a", "read", "root", token,
                                          std::nullopt));
  BOOST_TEST(base != auth::file_signature("/a", "read", "", "other",
                                          std::nullopt));
}

BOOST_AUTO_TEST_CASE(valid_signatures_pass) {
  auto p = signed_request("write", std::nullopt);
  BOOST_TEST((check(p) == signature_check::ok));
  p = signed_request("read", now + 60);
  BOOST_TEST((check(p) == signature_check::ok));
  // Expiring exactly now still counts (envd rejects only exp < now).
  p = signed_request("read", now);
  BOOST_TEST((check(p) == signature_check::ok));
}

BOOST_AUTO_TEST_CASE(expired_signatures_fail_after_the_match) {
  auto p = signed_request("read", now - 1);
  auto r = check(p);
  BOOST_TEST((r == signature_check::expired));
  BOOST_TEST(auth::http_status(r) == 401u);
  BOOST_TEST(auth::message(r) == "signature is already expired");
  // A forged expiration is an invalid signature, not an expired one.
  p.signature_expiration = std::to_string(now - 2);
  BOOST_TEST((check(p) == signature_check::invalid_signature));
  // Extending a URL's lifetime breaks its signature.
  p = signed_request("read", now + 10);
  p.signature_expiration = std::to_string(now + 100000);
  BOOST_TEST((check(p) == signature_check::invalid_signature));
}

BOOST_AUTO_TEST_CASE(the_token_header_decides_alone) {
  auth::signature_params p;
  p.path = "/home/user/x";
  p.operation = "read";
  p.access_token = std::string{token};
  BOOST_TEST((check(p) == signature_check::ok));
  // A wrong token fails even next to a valid signature.
  p = signed_request("read", std::nullopt);
  p.access_token = "wrong-token";
  auto r = check(p);
  BOOST_TEST((r == signature_check::token_mismatch));
  BOOST_TEST(auth::message(r)
             == "access token present in header but does not match");
  // A prefix of the token is no match either.
  p.access_token = "secret";
  BOOST_TEST((check(p) == signature_check::token_mismatch));
  // An empty header counts as absent, as Go's Header.Get sees it.
  p.access_token = "";
  BOOST_TEST((check(p) == signature_check::ok));
}

BOOST_AUTO_TEST_CASE(a_missing_signature_fails) {
  auth::signature_params p;
  p.path = "/home/user/x";
  p.operation = "write";
  auto r = check(p);
  BOOST_TEST((r == signature_check::missing_signature));
  BOOST_TEST(auth::message(r) == "missing signature query parameter");
  // An empty parameter is present, so it is merely invalid.
  p.signature = "";
  BOOST_TEST((check(p) == signature_check::invalid_signature));
}

BOOST_AUTO_TEST_CASE(tampered_signatures_fail) {
  auto good = signed_request("write", std::nullopt);
  auto p = good;
  p.signature->back() = p.signature->back() == 'A' ? 'B' : 'A';
  auto r = check(p);
  BOOST_TEST((r == signature_check::invalid_signature));
  BOOST_TEST(auth::message(r) == "invalid signature");
  p = good;
  *p.signature += "=";
  BOOST_TEST((check(p) == signature_check::invalid_signature));
  // The signature is bound to the path, the user and the operation.
  p = good;
  p.path = "/home/user/y";
  BOOST_TEST((check(p) == signature_check::invalid_signature));
  p = good;
  p.username = "root";
  BOOST_TEST((check(p) == signature_check::invalid_signature));
  p = good;
  p.operation = "read";
  BOOST_TEST((check(p) == signature_check::invalid_signature));
}

BOOST_AUTO_TEST_CASE(non_numeric_expirations_are_invalid) {
  auto p = signed_request("read", now + 60);
  for (auto bad : {"", "abc", "12x", "1.5", " 1", "+-1",
                   "99999999999999999999"}) {
    p.signature_expiration = bad;
    BOOST_TEST((check(p) == signature_check::invalid_signature),
               "expiration '" << bad << "'");
  }
  // Go's ParseInt accepts a '+' sign; the value is what is signed.
  p.signature_expiration = "+" + std::to_string(now + 60);
  BOOST_TEST((check(p) == signature_check::ok));
}

BOOST_AUTO_TEST_CASE(sandboxes_without_a_token_need_no_signature) {
  auth::signature_params p;
  p.path = "/x";
  p.operation = "read";
  BOOST_TEST((auth::check_file_signature(p, "", now) == signature_check::ok));
  BOOST_TEST(auth::http_status(signature_check::ok) == 200u);
  BOOST_TEST(auth::message(signature_check::ok).empty());
}

BOOST_AUTO_TEST_SUITE_END()

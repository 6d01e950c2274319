// Passwords: scrypt hashes that verify, salts that differ, and stored forms
// that cannot be turned against the server.

#include "runtime/auth/password.hpp"

#include <boost/test/unit_test.hpp>

#include <chrono>

using namespace sbx::auth;

BOOST_AUTO_TEST_SUITE(password)

BOOST_AUTO_TEST_CASE(a_hash_verifies_its_password_only) {
  auto h = hash_password("correct horse battery");
  BOOST_REQUIRE(h);
  BOOST_CHECK(h->rfind("scrypt$15$8$1$", 0) == 0);
  BOOST_CHECK(verify_password("correct horse battery", *h));
  BOOST_CHECK(!verify_password("correct horse batterx", *h));
  BOOST_CHECK(!verify_password("", *h));
  // A fresh salt each time.
  auto again = hash_password("correct horse battery");
  BOOST_REQUIRE(again);
  BOOST_CHECK_NE(*h, *again);
  BOOST_CHECK(verify_password("correct horse battery", *again));
}

BOOST_AUTO_TEST_CASE(it_is_slow_on_purpose) {
  auto start = std::chrono::steady_clock::now();
  auto h = hash_password("correct horse battery");
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
              std::chrono::steady_clock::now() - start)
              .count();
  BOOST_TEST_MESSAGE("one scrypt hash: " << ms << " ms");
  BOOST_CHECK_GE(ms, 10);
}

BOOST_AUTO_TEST_CASE(malformed_or_absurd_stored_forms_never_verify) {
  BOOST_CHECK(!verify_password("x", ""));
  BOOST_CHECK(!verify_password("x", "plain"));
  BOOST_CHECK(!verify_password("x", "scrypt$15$8$1$zz$00"));
  BOOST_CHECK(!verify_password("x", "bcrypt$15$8$1$00$00"));
  // Parameters a tampered row could use to make the server work forever.
  BOOST_CHECK(!verify_password("x", "scrypt$40$8$1$00$"
                                    + std::string(64, '0')));
  BOOST_CHECK(!verify_password("x", "scrypt$15$999$1$00$"
                                    + std::string(64, '0')));
}

BOOST_AUTO_TEST_CASE(weak_passwords_are_refused) {
  BOOST_CHECK(!weak_password("short").empty());
  BOOST_CHECK(weak_password("long enough!").empty());
  BOOST_CHECK(!weak_password(std::string(2000, 'x')).empty());
}

BOOST_AUTO_TEST_SUITE_END()

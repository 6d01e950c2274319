#include "runtime/auth/api_key.hpp"

#include <boost/test/unit_test.hpp>

#include <set>

using namespace sbx;

BOOST_AUTO_TEST_SUITE(api_key)

BOOST_AUTO_TEST_CASE(keys_have_the_e2b_shape_and_differ) {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    auto k = auth::generate_api_key();
    BOOST_TEST(k.secret.size() == 44u);
    BOOST_TEST(k.secret.rfind("e2b_", 0) == 0u);
    BOOST_TEST(auth::is_api_key(k.secret));
    BOOST_TEST(k.hash == auth::sha256_hex(k.secret));
    BOOST_TEST(k.prefix == k.secret.substr(0, 10));
    seen.insert(k.secret);
  }
  BOOST_TEST(seen.size() == 100u);
}

BOOST_AUTO_TEST_CASE(sha256_matches_known_vectors) {
  BOOST_TEST(auth::sha256_hex("")
             == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  BOOST_TEST(auth::sha256_hex("abc")
             == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

BOOST_AUTO_TEST_CASE(malformed_keys_are_recognized) {
  BOOST_TEST(!auth::is_api_key(""));
  BOOST_TEST(!auth::is_api_key("e2b_123"));
  BOOST_TEST(!auth::is_api_key("e2b_" + std::string(40, 'G')));
  BOOST_TEST(!auth::is_api_key("abc_" + std::string(40, 'a')));
  BOOST_TEST(auth::is_api_key("e2b_" + std::string(40, 'a')));
}

BOOST_AUTO_TEST_SUITE_END()

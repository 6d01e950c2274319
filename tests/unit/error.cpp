#include "actors/error.hpp"

#include <caf/sec.hpp>

#include "tests/support/printers.hpp"

#include <boost/test/unit_test.hpp>

using namespace sbx;

BOOST_AUTO_TEST_SUITE(error)

BOOST_AUTO_TEST_CASE(every_code_maps_to_its_http_status) {
  const std::vector<std::pair<ec, unsigned>> table = {
    {ec::invalid_argument, 400},   {ec::unauthenticated, 401},
    {ec::permission_denied, 403},  {ec::not_found, 404},
    {ec::already_exists, 409},     {ec::conflict, 409},
    {ec::payload_too_large, 413},  {ec::resource_exhausted, 429},
    {ec::unavailable, 503},        {ec::timeout, 504},
    {ec::migration_failed, 500},   {ec::system_error, 500},
    {ec::internal, 500},
    {ec::payment_required, 402},
  };
  for (auto& [code, status] : table)
    BOOST_TEST(http_status(make_error(code, "x")) == status, to_string(code));
}

BOOST_AUTO_TEST_CASE(caf_errors_map_too) {
  BOOST_TEST(http_status(caf::make_error(caf::sec::request_timeout)) == 504u);
  BOOST_TEST(http_status(caf::make_error(caf::sec::request_receiver_down))
             == 503u);
  BOOST_TEST(http_status(caf::make_error(caf::sec::unexpected_message))
             == 500u);
  BOOST_TEST(http_status(caf::error{}) == 200u);
}

BOOST_AUTO_TEST_CASE(message_is_the_context_or_the_code_name) {
  BOOST_TEST(message_of(make_error(ec::not_found, "sandbox x not found"))
             == "sandbox x not found");
  BOOST_TEST(message_of(caf::make_error(ec::conflict)) == "conflict");
  BOOST_TEST(message_of(caf::make_error(caf::sec::request_timeout))
             == "request_timeout");
  BOOST_TEST(message_of(caf::error{}).empty());
}

BOOST_AUTO_TEST_CASE(json_error_is_the_e2b_shape) {
  BOOST_TEST(json_error(404, "sandbox \"x\" not found")
             == R"({"code":404,"message":"sandbox \"x\" not found"})");
  // Invalid UTF-8 from user input does not throw.
  BOOST_TEST(json_error(400, "bad \xff byte").find("\"code\":400")
             != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

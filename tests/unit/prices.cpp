// Money as integer micro-units: text both ways without floating point,
// price lists from config, and the months billing closes.

#include "actors/billing.hpp"
#include "runtime/billing/money.hpp"

#include <boost/test/unit_test.hpp>

using namespace sbx;

BOOST_AUTO_TEST_SUITE(prices)

BOOST_AUTO_TEST_CASE(amounts_format_exactly) {
  BOOST_CHECK_EQUAL(money::format(0), "0.000000");
  BOOST_CHECK_EQUAL(money::format(1), "0.000001");
  BOOST_CHECK_EQUAL(money::format(12'345'678), "12.345678");
  BOOST_CHECK_EQUAL(money::format(-124'359), "-0.124359");
  BOOST_CHECK_EQUAL(money::format(INT64_MIN), "-9223372036854.775808");
}

BOOST_AUTO_TEST_CASE(amounts_parse_exactly_or_not_at_all) {
  BOOST_CHECK_EQUAL(*money::parse("12"), 12'000'000);
  BOOST_CHECK_EQUAL(*money::parse("12.5"), 12'500'000);
  BOOST_CHECK_EQUAL(*money::parse("0.000001"), 1);
  BOOST_CHECK_EQUAL(*money::parse("999999999999.999999"),
                    999'999'999'999'999'999);
  // 0.1 + 0.2 is 0.3 here.
  BOOST_CHECK_EQUAL(*money::parse("0.1") + *money::parse("0.2"),
                    *money::parse("0.3"));
  for (auto bad : {"", "-1", "+1", "1e3", "1.", ".5", "1.0000001", "1,5",
                   "0x10", "1000000000000", " 1", "one"})
    BOOST_CHECK_MESSAGE(!money::parse(bad), "'" << bad << "' parsed");
}

BOOST_AUTO_TEST_CASE(price_lists_name_known_plans_and_sane_prices) {
  auto p = money::parse_plan_prices("free=0,pro=50400,enterprise=40000");
  BOOST_REQUIRE(p);
  BOOST_CHECK_EQUAL(p->at("free"), 0);
  BOOST_CHECK_EQUAL(p->at("pro"), 50'400);
  BOOST_CHECK_EQUAL(p->at("enterprise"), 40'000);
  BOOST_CHECK(money::parse_plan_prices("pro=1000000000000"));
  for (auto bad : {"pro=-1", "pro=1.5", "pro=", "=5", "gold=5", "pro",
                   "pro=1000000000001", "pro=99999999999999999999"})
    BOOST_CHECK_MESSAGE(!money::parse_plan_prices(bad), "'" << bad
                                                            << "' parsed");
}

BOOST_AUTO_TEST_CASE(months_are_utc_and_roll_over_years) {
  BOOST_CHECK_EQUAL(month_of(0), "1970-01-01");
  // 2026-12-31T23:59:59.999Z and a millisecond later.
  BOOST_CHECK_EQUAL(month_of(1'798'761'599'999), "2026-12-01");
  BOOST_CHECK_EQUAL(month_of(1'798'761'600'000), "2027-01-01");
  BOOST_CHECK_EQUAL(previous_month("2027-01-01"), "2026-12-01");
  BOOST_CHECK_EQUAL(previous_month("2026-12-01"), "2026-11-01");
}

BOOST_AUTO_TEST_SUITE_END()

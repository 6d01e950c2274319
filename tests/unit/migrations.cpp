#include "runtime/store/migrations.hpp"

#include "actors/error.hpp"

#include "tests/support/printers.hpp"

#include <boost/test/unit_test.hpp>

using namespace sbx;

namespace {

std::vector<migration> parsed(std::vector<migration_file> files) {
  auto result = parse_migrations(files);
  BOOST_REQUIRE(result);
  return *result;
}

applied_migration applied(const migration& m) {
  return {m.version, m.name, m.checksum};
}

} // namespace

BOOST_AUTO_TEST_SUITE(migrations)

BOOST_AUTO_TEST_CASE(sorted_by_version_not_by_name) {
  auto ms = parsed({{"0010_ten.sql", "SELECT 10"},
                    {"0002_two.sql", "SELECT 2"},
                    {"0001_one.sql", "SELECT 1"},
                    {"9_nine.sql", "SELECT 9"}});
  BOOST_REQUIRE_EQUAL(ms.size(), 4u);
  BOOST_TEST(ms[0].version == 1);
  BOOST_TEST(ms[1].version == 2);
  BOOST_TEST(ms[2].version == 9);
  BOOST_TEST(ms[3].version == 10);
  BOOST_TEST(ms[3].name == "0010_ten.sql");
  BOOST_TEST(ms[0].checksum.size() == 64u);
}

BOOST_AUTO_TEST_CASE(bad_names_and_duplicate_versions_are_errors) {
  auto bad = parse_migrations({{"initial.sql", ""}});
  BOOST_REQUIRE(!bad);
  BOOST_TEST(message_of(bad.error()).find("bad migration file name") == 0);
  BOOST_TEST(!parse_migrations({{"0001_x.txt", ""}}));
  BOOST_TEST(!parse_migrations({{"_x.sql", ""}}));
  auto dup = parse_migrations({{"0001_a.sql", ""}, {"1_b.sql", ""}});
  BOOST_REQUIRE(!dup);
  BOOST_TEST(message_of(dup.error()).find("same version") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(plan_returns_only_pending_in_order) {
  auto ms = parsed({{"0001_a.sql", "A"}, {"0002_b.sql", "B"},
                    {"0003_c.sql", "C"}});
  auto all = plan_migrations(ms, {});
  BOOST_REQUIRE(all);
  BOOST_TEST(all->size() == 3u);
  auto rest = plan_migrations(ms, {applied(ms[0])});
  BOOST_REQUIRE(rest);
  BOOST_REQUIRE_EQUAL(rest->size(), 2u);
  BOOST_TEST((*rest)[0].name == "0002_b.sql");
  BOOST_TEST((*rest)[1].name == "0003_c.sql");
  auto none = plan_migrations(ms, {applied(ms[0]), applied(ms[1]),
                                   applied(ms[2])});
  BOOST_REQUIRE(none);
  BOOST_TEST(none->empty());
}

BOOST_AUTO_TEST_CASE(a_newer_database_is_refused) {
  auto ms = parsed({{"0001_a.sql", "A"}});
  auto plan = plan_migrations(ms, {applied(ms[0]), {2, "0002_future.sql", "x"}});
  BOOST_REQUIRE(!plan);
  BOOST_TEST(plan.error() == ec::migration_failed);
  BOOST_TEST(message_of(plan.error()).find("upgrade sandhive")
             != std::string::npos);
}

BOOST_AUTO_TEST_CASE(an_edited_applied_migration_is_refused) {
  auto ms = parsed({{"0001_a.sql", "A"}});
  auto old = applied(ms[0]);
  old.checksum = std::string(64, '0');
  auto plan = plan_migrations(ms, {old});
  BOOST_REQUIRE(!plan);
  BOOST_TEST(message_of(plan.error()).find("changed after it was applied")
             != std::string::npos);
}

BOOST_AUTO_TEST_CASE(the_embedded_migrations_parse) {
  auto ms = parse_migrations(embedded_migrations());
  BOOST_REQUIRE(ms);
  BOOST_REQUIRE(!ms->empty());
  BOOST_TEST((*ms)[0].name == "0001_initial.sql");
  BOOST_TEST((*ms)[0].sql.find("CREATE TABLE api_keys") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

// The permission table, row by row, and the scopes a role's keys may carry.

#include "runtime/auth/roles.hpp"

#include <boost/test/unit_test.hpp>

using namespace sbx::auth;

BOOST_AUTO_TEST_SUITE(roles)

BOOST_AUTO_TEST_CASE(the_permission_table) {
  struct row {
    permission p;
    bool owner, admin, member, viewer;
  };
  // Who may create sandboxes, manage keys, see billing, change limits, …
  const row table[] = {
    {permission::read, true, true, true, true},
    {permission::sandboxes_write, true, true, true, false},
    {permission::keys_create, true, true, true, true},
    {permission::keys_manage, true, true, false, false},
    {permission::members_manage, true, true, false, false},
    {permission::billing_read, true, true, false, false},
    {permission::limits_change, true, false, false, false},
    {permission::audit_read, true, true, false, false},
  };
  for (auto& r : table) {
    BOOST_TEST_CONTEXT(to_string(r.p)) {
      BOOST_TEST(allowed("owner", r.p) == r.owner);
      BOOST_TEST(allowed("admin", r.p) == r.admin);
      BOOST_TEST(allowed("member", r.p) == r.member);
      BOOST_TEST(allowed("viewer", r.p) == r.viewer);
      BOOST_TEST(!allowed("", r.p));
      BOOST_TEST(!allowed("root", r.p));
    }
  }
}

BOOST_AUTO_TEST_CASE(roles_are_granted_only_downwards) {
  BOOST_TEST(may_grant("owner", "owner"));
  BOOST_TEST(may_grant("owner", "viewer"));
  BOOST_TEST(!may_grant("admin", "owner"));
  BOOST_TEST(may_grant("admin", "admin"));
  BOOST_TEST(may_grant("admin", "member"));
  BOOST_TEST(!may_grant("member", "member"));
  BOOST_TEST(!may_grant("member", "viewer"));
  BOOST_TEST(!may_grant("viewer", "viewer"));
  BOOST_TEST(!may_grant("owner", "superuser"));
}

BOOST_AUTO_TEST_CASE(keys_carry_at_most_their_makers_rights) {
  using v = std::vector<std::string>;
  BOOST_TEST((scopes_for("owner")
              == v{"sandboxes:read", "templates:read", "sandboxes:write",
                   "billing:read"}));
  BOOST_TEST((scopes_for("member")
              == v{"sandboxes:read", "templates:read", "sandboxes:write"}));
  BOOST_TEST((scopes_for("viewer") == v{"sandboxes:read", "templates:read"}));
  BOOST_TEST(scopes_for("nobody").empty());
  BOOST_TEST(has_scope({"*"}, "billing:read"));
  BOOST_TEST(has_scope({"sandboxes:read"}, "sandboxes:read"));
  BOOST_TEST(!has_scope({"sandboxes:read"}, "sandboxes:write"));
  BOOST_TEST(!has_scope({}, "sandboxes:read"));
  BOOST_TEST(valid_scope("templates:read"));
  BOOST_TEST(!valid_scope("sandboxes:*"));
}

BOOST_AUTO_TEST_SUITE_END()

#include "runtime/auth/roles.hpp"

#include <algorithm>
#include <array>

namespace sbx::auth {

namespace {

/// Rows: permissions; columns: owner, admin, member, viewer.
struct row {
  permission p;
  std::array<bool, 4> who;
};

constexpr row table[] = {
  {permission::read, {true, true, true, true}},
  {permission::sandboxes_write, {true, true, true, false}},
  {permission::keys_create, {true, true, true, true}},
  {permission::keys_manage, {true, true, false, false}},
  {permission::members_manage, {true, true, false, false}},
  {permission::billing_read, {true, true, false, false}},
  {permission::limits_change, {true, false, false, false}},
  {permission::audit_read, {true, true, false, false}},
};

/// 0 for owner … 3 for viewer; -1 for no role.
int rank(std::string_view role) {
  auto& all = roles();
  auto i = std::find(all.begin(), all.end(), role);
  return i == all.end() ? -1 : static_cast<int>(i - all.begin());
}

} // namespace

const char* to_string(permission p) {
  switch (p) {
    case permission::read:
      return "team.read";
    case permission::sandboxes_write:
      return "sandboxes.write";
    case permission::keys_create:
      return "keys.create";
    case permission::keys_manage:
      return "keys.manage";
    case permission::members_manage:
      return "members.manage";
    case permission::billing_read:
      return "billing.read";
    case permission::limits_change:
      return "limits.change";
    case permission::audit_read:
      return "audit.read";
  }
  return "?";
}

const std::vector<std::string>& roles() {
  static const std::vector<std::string> all = {"owner", "admin", "member",
                                               "viewer"};
  return all;
}

bool valid_role(std::string_view role) {
  return rank(role) >= 0;
}

bool allowed(std::string_view role, permission p) {
  auto r = rank(role);
  if (r < 0)
    return false;
  for (auto& x : table)
    if (x.p == p)
      return x.who[static_cast<size_t>(r)];
  return false;
}

bool may_grant(std::string_view granter, std::string_view role) {
  auto g = rank(granter);
  auto r = rank(role);
  if (g < 0 || r < 0 || !allowed(granter, permission::members_manage))
    return false;
  return g <= r;
}

const std::vector<std::string>& scopes() {
  static const std::vector<std::string> all
    = {"sandboxes:read", "sandboxes:write", "templates:read", "billing:read"};
  return all;
}

bool valid_scope(std::string_view scope) {
  auto& all = scopes();
  return std::find(all.begin(), all.end(), scope) != all.end();
}

std::vector<std::string> scopes_for(std::string_view role) {
  std::vector<std::string> out;
  if (!allowed(role, permission::read))
    return out;
  out = {"sandboxes:read", "templates:read"};
  if (allowed(role, permission::sandboxes_write))
    out.push_back("sandboxes:write");
  if (allowed(role, permission::billing_read))
    out.push_back("billing:read");
  return out;
}

bool has_scope(const std::vector<std::string>& granted,
               std::string_view needed) {
  return std::any_of(granted.begin(), granted.end(),
                     [&](const std::string& s) {
                       return s == "*" || s == needed;
                     });
}

} // namespace sbx::auth

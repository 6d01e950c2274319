#pragma once

#include <string>
#include <string_view>
#include <vector>

/// Who may do what in a team: the roles (owner, admin, member, viewer), the
/// permission table every /v1 route checks, and the scopes of API keys.
namespace sbx::auth {

enum class permission {
  /// List and look at sandboxes, templates and the team.
  read,
  /// Create, change and kill sandboxes.
  sandboxes_write,
  /// Create API keys (with scopes the creator's role allows) and revoke
  /// one's own.
  keys_create,
  /// Revoke anyone's API keys.
  keys_manage,
  /// Add and remove members, change roles.
  members_manage,
  /// See usage, balances and invoices.
  billing_read,
  /// Lower the team's own limits.
  limits_change,
  /// Read the audit log.
  audit_read,
};

/// "sandboxes.write", … for error messages.
const char* to_string(permission p);

/// The roles, most powerful first.
const std::vector<std::string>& roles();

bool valid_role(std::string_view role);

/// The permission table.
bool allowed(std::string_view role, permission p);

/// Whether `granter` may give someone the role `role` (or take it away):
/// owners any role, admins up to admin, others none.
bool may_grant(std::string_view granter, std::string_view role);

/// Every API key scope: sandboxes:read, sandboxes:write, templates:read,
/// billing:read.
const std::vector<std::string>& scopes();

bool valid_scope(std::string_view scope);

/// The scopes a key made by someone of `role` may carry.
std::vector<std::string> scopes_for(std::string_view role);

/// Whether a key with `granted` scopes ("*" is all) has `needed`.
bool has_scope(const std::vector<std::string>& granted,
               std::string_view needed);

} // namespace sbx::auth

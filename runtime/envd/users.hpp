#pragma once

#include <optional>
#include <string>

#include <sys/types.h>

namespace sbx::envd {

/// A user of the sandbox, from its own /etc/passwd (envd is static and
/// resolves names without NSS).
struct user_info {
  std::string name;
  uid_t uid = 0;
  gid_t gid = 0;
  std::string home;
  std::string shell;
};

/// Looks up `name` in `<root>/etc/passwd`.
std::optional<user_info> find_user(const std::string& name,
                                   const std::string& root = "");

/// The name of `uid` (or the number as text).
std::string user_name(uid_t uid, const std::string& root = "");

/// The name of `gid` (or the number as text).
std::string group_name(gid_t gid, const std::string& root = "");

} // namespace sbx::envd

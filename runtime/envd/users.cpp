#include "runtime/envd/users.hpp"

#include <fstream>
#include <sstream>
#include <vector>

namespace sbx::envd {

namespace {

/// Calls `f` with the fields of every line of a colon-separated file until
/// it returns true.
template <class F>
void each_entry(const std::string& path, F f) {
  std::ifstream in{path};
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#')
      continue;
    std::vector<std::string> fields;
    std::stringstream ss{line};
    std::string field;
    while (std::getline(ss, field, ':'))
      fields.push_back(field);
    if (fields.size() >= 3 && f(fields))
      return;
  }
}

} // namespace

std::optional<user_info> find_user(const std::string& name,
                                   const std::string& root) {
  std::optional<user_info> result;
  each_entry(root + "/etc/passwd", [&](const std::vector<std::string>& f) {
    if (f[0] != name || f.size() < 7)
      return false;
    result = user_info{f[0], static_cast<uid_t>(std::stoul(f[2])),
                       static_cast<gid_t>(std::stoul(f[3])), f[5], f[6]};
    return true;
  });
  return result;
}

std::string user_name(uid_t uid, const std::string& root) {
  auto result = std::to_string(uid);
  each_entry(root + "/etc/passwd", [&](const std::vector<std::string>& f) {
    if (f[2] != std::to_string(uid))
      return false;
    result = f[0];
    return true;
  });
  return result;
}

std::string group_name(gid_t gid, const std::string& root) {
  auto result = std::to_string(gid);
  each_entry(root + "/etc/group", [&](const std::vector<std::string>& f) {
    if (f[2] != std::to_string(gid))
      return false;
    result = f[0];
    return true;
  });
  return result;
}

} // namespace sbx::envd

#include "runtime/store/migrations.hpp"

#include "actors/error.hpp"
#include "runtime/auth/api_key.hpp"

#include <algorithm>
#include <cctype>
#include <map>

namespace sbx {

caf::expected<std::vector<migration>>
parse_migrations(const std::vector<migration_file>& files) {
  std::vector<migration> result;
  for (auto& f : files) {
    auto us = f.name.find('_');
    auto ok = us != std::string::npos && us > 0 && us <= 9
              && f.name.size() > us + 5
              && f.name.compare(f.name.size() - 4, 4, ".sql") == 0
              && std::all_of(f.name.begin(), f.name.begin() + us,
                             [](unsigned char c) { return std::isdigit(c); });
    if (!ok)
      return make_error(ec::invalid_argument,
                        "bad migration file name '" + f.name
                          + "': expected NNNN_what.sql");
    migration m;
    m.version = std::stoi(f.name.substr(0, us));
    m.name = f.name;
    m.sql = f.sql;
    m.checksum = auth::sha256_hex(f.sql);
    result.push_back(std::move(m));
  }
  std::sort(result.begin(), result.end(),
            [](auto& a, auto& b) { return a.version < b.version; });
  for (size_t i = 1; i < result.size(); ++i)
    if (result[i].version == result[i - 1].version)
      return make_error(ec::invalid_argument,
                        "migrations " + result[i - 1].name + " and "
                          + result[i].name + " have the same version");
  return result;
}

caf::expected<std::vector<migration>>
plan_migrations(const std::vector<migration>& available,
                const std::vector<applied_migration>& applied) {
  std::map<int, const migration*> known;
  for (auto& m : available)
    known[m.version] = &m;
  std::map<int, const applied_migration*> done;
  for (auto& a : applied) {
    auto i = known.find(a.version);
    if (i == known.end())
      return make_error(ec::migration_failed,
                        "the database has migration " + a.name
                          + " which this sandhive does not know: the schema "
                            "is newer than this binary; upgrade sandhive");
    if (i->second->checksum != a.checksum)
      return make_error(ec::migration_failed,
                        "migration " + a.name
                          + " changed after it was applied; add a new "
                            "migration instead of editing an applied one");
    done[a.version] = &a;
  }
  std::vector<migration> result;
  for (auto& m : available)
    if (done.count(m.version) == 0)
      result.push_back(m);
  return result;
}

} // namespace sbx

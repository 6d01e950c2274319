#pragma once

#include <caf/expected.hpp>

#include <string>
#include <vector>

namespace sbx {

/// A migration file as shipped: "NNNN_what.sql" and its SQL.
struct migration_file {
  std::string name;
  std::string sql;
};

/// A parsed migration, ready to apply.
struct migration {
  int version = 0;
  std::string name;
  std::string sql;
  /// SHA-256 of `sql`; a recorded migration whose file changed is an error.
  std::string checksum;
};

/// A row of the schema_migrations table.
struct applied_migration {
  int version = 0;
  std::string name;
  std::string checksum;
};

/// The migrations compiled into this binary (generated from
/// runtime/store/migrations/*.sql).
const std::vector<migration_file>& embedded_migrations();

/// Parses file names "NNNN_what.sql" and sorts by version. Fails on a bad
/// name or two files with the same version.
caf::expected<std::vector<migration>>
parse_migrations(const std::vector<migration_file>& files);

/// Returns the migrations still to apply, in order. Fails when the database
/// has a version this binary does not know (it is newer) or when an applied
/// file has changed since.
caf::expected<std::vector<migration>>
plan_migrations(const std::vector<migration>& available,
                const std::vector<applied_migration>& applied);

} // namespace sbx

#pragma once

#include "runtime/embedded/servers.hpp"
#include "tests/support/subprocess.hpp"

#include <memory>

namespace sbx::test {

/// The integration tests' real PostgreSQL and Redis: sandhive's own embedded
/// servers, in a temporary directory on free loopback ports, started on
/// first use and stopped when the test process exits.
class services {
public:
  /// The process-wide instance (started on the first call).
  static services& get();

  embedded::postgres& postgres() {
    return *pg_;
  }

  embedded::redis& redis() {
    return *redis_;
  }

  ~services();

private:
  services();

  temp_dir dir_;
  std::unique_ptr<embedded::postgres> pg_;
  std::unique_ptr<embedded::redis> redis_;
};

/// A new empty database on the shared server, for a test that needs its own
/// schema; returns its URL.
std::string fresh_database(const std::string& name);

} // namespace sbx::test

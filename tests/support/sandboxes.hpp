#pragma once

#include "runtime/sandbox/driver.hpp"
#include "tests/support/envd_harness.hpp"
#include "tests/support/subprocess.hpp"

#include <boost/test/unit_test.hpp>

#include <memory>
#include <string>

namespace sbx::test {

/// The base template, built once per test process in a temporary directory.
const std::string& base_rootfs();

/// Why real sandboxes cannot run on this host ("" when they can): they need
/// root, cgroups, overlayfs and user namespaces.
const std::string& sandbox_unsupported();

/// A Boost.Test precondition: skips a test, printing the reason, where
/// sandboxes cannot run.
boost::test_tools::assertion_result
sandboxes_supported(boost::unit_test::test_unit_id);

/// A Linux driver with a run dir and parent cgroup of its own, so that test
/// processes running side by side never touch each other's sandboxes.
struct driver_fixture {
  temp_dir dir;
  std::string cgroup_parent;
  driver_ptr drv;

  driver_fixture();
  ~driver_fixture();

  /// A spec for sandbox `id` from the base template.
  sandbox_spec spec(const std::string& id) const;

  /// Creates sandbox `id` and returns a harness on its envd (after hello).
  std::unique_ptr<envd_harness> start(const sandbox_spec& s);
};

} // namespace sbx::test

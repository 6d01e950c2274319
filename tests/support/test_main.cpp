// The Boost.Test runner shared by the unit and integration binaries.
#define BOOST_TEST_MODULE sandhive
#include <boost/test/unit_test.hpp>

#include "runtime/sandbox/driver.hpp"

#include <unistd.h>

namespace {

/// Runs before any test, while the process is single-threaded: sandboxes
/// made by the tests mount their layers in a namespace of this process, so
/// that a test killed halfway leaves no mount on the host.
struct private_mounts {
  private_mounts() {
    if (::geteuid() == 0)
      static_cast<void>(sbx::isolate_mounts());
  }
};

} // namespace

BOOST_TEST_GLOBAL_FIXTURE(private_mounts);

#pragma once

#include "actors/interfaces.hpp"
#include "runtime/sandbox/driver.hpp"

#include <memory>

namespace sbx {

struct driver_worker_state {
  static inline const char* name = "driver-worker";
  std::shared_ptr<driver> drv;
};

/// Runs blocking driver calls for the node and its sandboxes. Spawn it
/// detached; a node keeps a few so that one slow teardown does not hold up
/// every create.
/// @param drv The node's driver (thread-safe).
driver_worker_actor::behavior_type
driver_worker(driver_worker_actor::stateful_pointer<driver_worker_state> self,
              std::shared_ptr<driver> drv);

} // namespace sbx

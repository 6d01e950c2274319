#pragma once

#include "actors/interfaces.hpp"
#include "runtime/sandbox/driver.hpp"
#include "runtime/sandbox/envd_hub.hpp"
#include "runtime/sandbox/template.hpp"

#include <caf/actor_system.hpp>

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace sbx {

class metrics;

/// How a node runs.
struct node_config {
  std::string name = "local";
  /// Templates in `<data_dir>/templates`, sandboxes in `<data_dir>/sandboxes`.
  std::string data_dir;
  /// The sandhive-envd binary.
  std::string envd_path;
  std::string cgroup_root = "/sys/fs/cgroup";
  std::string cgroup_parent = "sandhive";
  /// vCPUs that may be promised to sandboxes (0: cores × overcommit).
  unsigned vcpu_capacity = 0;
  /// vCPUs promised per real core when `vcpu_capacity` is 0. A vCPU is a
  /// CFS quota, a cap rather than a reservation, and most sandboxes idle.
  unsigned vcpu_overcommit = 32;
  /// Memory that may be promised (0: the machine's memory).
  uint64_t memory_capacity_mb = 0;
  unsigned max_sandboxes = 1000;
  /// Warm sandboxes to keep per template.
  std::map<std::string, unsigned> pools = {{"base", 2}};
  /// Threads for blocking driver calls.
  unsigned workers = 2;
  /// Create latency and warm-pool hits go here; may be null.
  metrics* stats = nullptr;
};

/// A template the node can start.
struct template_entry {
  std::string rootfs;
  template_manifest manifest;
};

struct node_state {
  static inline const char* name = "node";

  struct sandbox_entry {
    sandbox_actor handle;
    std::string template_id;
    unsigned vcpu = 0;
    uint64_t memory_mb = 0;
  };

  node_config cfg;
  std::shared_ptr<driver> drv;
  std::shared_ptr<envd_hub> hub;
  std::vector<driver_worker_actor> workers;
  size_t next_worker = 0;
  std::map<std::string, template_entry> templates;
  std::map<std::string, sandbox_entry> sandboxes;
  std::map<std::string, pool_actor> pools;
  unsigned vcpu_used = 0;
  uint64_t memory_used_mb = 0;
  std::vector<caf::actor> subscribers;
  /// Set once the node shuts down: it waits for its sandboxes to end.
  bool stopping = false;
  caf::error exit_reason;

  node_state(node_actor::stateful_base<node_state>*) {
    // nop
  }

  /// Ends every sandbox still running when the node stops.
  ~node_state();
};

/// One machine: owns the driver, the envd hub, the templates, the capacity,
/// every sandbox actor and the warm pools. A sandbox that ends reports to it;
/// a sandbox actor that dies without doing so is cleaned up here.
node_actor::behavior_type node(node_actor::stateful_pointer<node_state> self,
                               node_config cfg, std::shared_ptr<driver> drv,
                               std::shared_ptr<envd_hub> hub,
                               std::map<std::string, template_entry> templates);

/// Prepares and spawns a node: builds the base template when missing, loads
/// every template, makes the Linux driver and removes what a crashed
/// earlier run left behind. Blocks; call it at startup.
caf::expected<node_actor> make_node(caf::actor_system& sys, node_config cfg);

/// A new sandbox id: 20 lower-case letters and digits, as E2B's.
std::string make_sandbox_id();

} // namespace sbx

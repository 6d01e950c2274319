#pragma once

#include "actors/interfaces.hpp"

#include <caf/actor.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace sbx {

class cache_client;
class metrics;
class store;

/// A component owned by the supervisor.
struct component {
  std::string name;
  /// Spawns (and respawns) the component.
  std::function<caf::actor(caf::actor_system&)> make;
  /// The readiness check it answers (`ping`) under this name; empty for
  /// none.
  std::string check;
  caf::actor handle;
  int restarts = 0;
};

/// What the supervisor starts. Later roles add their components here.
struct supervisor_config {
  /// The PostgreSQL store, shared with the database actor.
  std::shared_ptr<store> db;
  /// The Redis client, shared with the cache actor.
  std::shared_ptr<cache_client> cache;
  /// The role's own components (directory, scheduler, node, …), started
  /// in this order after the database and the cache.
  std::vector<component> components;

  /// Adds a component, started after those added before it.
  void add(std::string name, std::function<caf::actor(caf::actor_system&)> make,
           std::string check = {}) {
    components.push_back({std::move(name), std::move(make), std::move(check)});
  }
  /// Process metrics; may be null.
  metrics* stats = nullptr;
  /// Told of every component (re)started, so that others (the gateway's
  /// routes) always talk to the live one.
  std::function<void(const std::string& name, const caf::actor&)> on_start;
  /// Deadline of one readiness probe.
  std::chrono::milliseconds probe_timeout{2000};
  /// Restarts allowed per component before the supervisor gives up on it.
  int max_restarts = 5;
};

struct supervisor_state {
  static inline const char* name = "supervisor";
  /// In start order.
  std::vector<component> components;

  /// Adds a component, started after those added before it.
  void add(std::string name, std::function<caf::actor(caf::actor_system&)> make,
           std::string check = {}) {
    components.push_back({std::move(name), std::move(make), std::move(check)});
  }
  supervisor_config cfg;
  bool stopping = false;
  /// Delivered once the last component is down.
  caf::typed_response_promise<atom::ok_atom> stopped;
};

/// The root of a process: starts its components in order, restarts one that
/// dies, answers readiness probes, and on `shutdown` stops the components in
/// reverse order, waiting for each to be down before stopping the next.
supervisor_actor::behavior_type
supervisor(supervisor_actor::stateful_pointer<supervisor_state> self,
           supervisor_config cfg);

} // namespace sbx

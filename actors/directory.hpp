#pragma once

#include "actors/interfaces.hpp"

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace sbx {

class metrics;

struct directory_state {
  static inline const char* name = "directory";

  struct entry {
    /// Null for a sandbox known only from PostgreSQL (the control
    /// restarted) until its node joins again and reports it.
    sandbox_actor handle;
    sandbox_info info;
  };

  std::map<std::string, entry> sandboxes;
  /// Told (ended, id) about every end: the gateways' route caches.
  std::vector<caf::actor> subscribers;
  /// Told (event, info) about every change: operators following events.
  std::vector<caf::actor> followers;
  /// Whether the live sandboxes of PostgreSQL were loaded: only then is a
  /// sandbox a node reports but nobody knows one the cluster ended.
  bool loaded = false;
  std::function<database_actor()> database;
  std::function<scheduler_actor()> scheduler;
  metrics* stats = nullptr;
};

/// Knows every claimed sandbox: it watches each one (`atom::watch`), keeps
/// its last info, and records its life in the sandboxes table: created,
/// every state change, and its end with the reason ("node_lost" when its
/// node went away, "lost" when its actor died without saying). At start it
/// loads the sandboxes PostgreSQL records as live; those whose node does
/// not report them within `grace` end as node_lost.
/// @param stats Sandboxes by state and template, ends by reason; may be null.
directory_actor::behavior_type
directory(directory_actor::stateful_pointer<directory_state> self,
          std::function<database_actor()> database,
          std::function<scheduler_actor()> scheduler,
          std::chrono::milliseconds grace = std::chrono::seconds{30},
          metrics* stats = nullptr);

} // namespace sbx

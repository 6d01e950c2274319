#pragma once

#include "actors/interfaces.hpp"
#include "runtime/store/store.hpp"

#include <memory>

namespace sbx {

class metrics;

struct database_state {
  static inline const char* name = "database";
  std::shared_ptr<store> db;
  metrics* stats = nullptr;
};

/// Serves PostgreSQL requests for the other actors. Spawn it detached: every
/// handler blocks on the store, whose own timeouts bound how long.
/// @param db The store; it reconnects by itself after an outage.
/// @param stats Counts failed calls; may be null.
database_actor::behavior_type
database(database_actor::stateful_pointer<database_state> self,
         std::shared_ptr<store> db, metrics* stats);

} // namespace sbx

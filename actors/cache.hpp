#pragma once

#include "actors/interfaces.hpp"
#include "runtime/cache/cache_client.hpp"

#include <memory>

namespace sbx {

class metrics;

struct cache_state {
  static inline const char* name = "cache";
  std::shared_ptr<cache_client> client;
  metrics* stats = nullptr;
};

/// Serves Redis requests for the other actors. Spawn it detached: every
/// handler blocks on the client, whose own timeouts bound how long.
/// @param client The Redis client; it reconnects by itself after an outage.
/// @param stats Counts failed calls; may be null.
cache_actor::behavior_type
cache(cache_actor::stateful_pointer<cache_state> self,
      std::shared_ptr<cache_client> client, metrics* stats);

} // namespace sbx

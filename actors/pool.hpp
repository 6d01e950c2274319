#pragma once

#include "actors/interfaces.hpp"

#include <deque>
#include <string>

namespace sbx {

struct pool_state {
  static inline const char* name = "pool";
  std::string template_id;
  node_actor node;
  /// Warm sandboxes to keep.
  unsigned target = 0;
  /// Started, answering, unclaimed; oldest first.
  std::deque<sandbox_actor> ready;
  /// Starts in flight.
  unsigned starting = 0;
  unsigned hits = 0;
  unsigned misses = 0;
};

/// Keeps `size` warm sandboxes of one template ready on a node: fully
/// started, envd answering, unclaimed. A claim takes the oldest and the pool
/// refills in the background; a warm sandbox that dies is replaced.
/// @param template_id The template of every sandbox of this pool.
/// @param node Starts the sandboxes.
/// @param size Warm sandboxes to keep.
pool_actor::behavior_type pool(pool_actor::stateful_pointer<pool_state> self,
                               std::string template_id, node_actor node,
                               unsigned size);

} // namespace sbx

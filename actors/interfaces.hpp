#pragma once

#include "actors/atoms.hpp"
#include "actors/messages.hpp"

#include <caf/replies_to.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <string>

/// Every typed actor handle of sandhive, one comment per handler. In CAF 0.18
/// the signatures become `result<R>(A, B)`; keeping them here makes that a
/// one-file change.
namespace sbx {

/// Owns the PostgreSQL store; detached, because libpqxx blocks.
using database_actor = caf::typed_actor<
  /// Checks that PostgreSQL answers.
  caf::replies_to<atom::ping>::with<atom::ok_atom>>;

/// Owns the Redis client; detached, because hiredis blocks.
using cache_actor = caf::typed_actor<
  /// Checks that Redis answers.
  caf::replies_to<atom::ping>::with<atom::ok_atom>>;

/// Starts the components of a process in order, restarts one that dies, and
/// stops them in reverse order.
using supervisor_actor = caf::typed_actor<
  /// Probes every dependency (PostgreSQL, Redis) for /ready.
  caf::replies_to<atom::get_atom, atom::ready>::with<readiness>,
  /// Stops all components, last started first; answers when they are down.
  caf::replies_to<atom::shutdown>::with<atom::ok_atom>>;

} // namespace sbx

CAF_BEGIN_TYPE_ID_BLOCK(sbx_actors, caf::id_block::sbx_types::end)

  CAF_ADD_TYPE_ID(sbx_actors, (sbx::database_actor))
  CAF_ADD_TYPE_ID(sbx_actors, (sbx::supervisor_actor))

CAF_END_TYPE_ID_BLOCK(sbx_actors)

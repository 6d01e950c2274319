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
  caf::replies_to<atom::ping>::with<atom::ok_atom>,
  /// Finds the live API key with this SHA-256 (hex); unauthenticated when
  /// unknown, revoked or expired.
  caf::replies_to<atom::key, std::string>::with<api_key_info>,
  /// Records a sandbox's state, on this node, in the sandboxes table.
  caf::reacts_to<atom::put, sandbox_info, std::string>>;

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

/// Runs a node's blocking driver calls (clone, mounts, freezer, teardown) on
/// a thread of its own; detached.
using driver_worker_actor = caf::typed_actor<
  /// Creates and starts a sandbox.
  caf::replies_to<atom::create, sandbox_spec>::with<sandbox_process>,
  /// Freezes (true) or thaws (false) a sandbox.
  caf::replies_to<atom::pause, std::string, bool>::with<atom::ok_atom>,
  /// Ends a sandbox's processes, keeping its files.
  caf::replies_to<atom::shutdown, std::string>::with<atom::ok_atom>,
  /// Starts envd again on a stopped sandbox's files.
  caf::replies_to<atom::restart, std::string>::with<sandbox_process>,
  /// Removes a sandbox completely.
  caf::replies_to<atom::destroy, std::string>::with<atom::ok_atom>,
  /// Resource use of a sandbox.
  caf::replies_to<atom::stats, std::string>::with<sandbox_stats>>;

/// One sandbox: its lifecycle (starting → running → paused → killed), its
/// timeout, and its processes and files through its envd.
using sandbox_actor = caf::typed_actor<
  /// Describes the sandbox.
  caf::replies_to<atom::get_atom>::with<sandbox_info>,
  /// Hands a (warm) sandbox to a client: team, metadata, env vars, access
  /// token and timeout apply without a restart.
  caf::replies_to<atom::claim, sandbox_request>::with<sandbox_info>,
  /// Sets the timeout to this many milliseconds from now.
  caf::replies_to<atom::timeout, int64_t>::with<sandbox_info>,
  /// Pauses: true keeps memory (freeze), false keeps only the files.
  caf::replies_to<atom::pause, bool>::with<sandbox_info>,
  /// Resumes a paused sandbox.
  caf::replies_to<atom::resume>::with<sandbox_info>,
  /// Kills the sandbox, with the reason to report.
  caf::replies_to<atom::kill, std::string>::with<atom::ok_atom>,
  /// Resource use now.
  caf::replies_to<atom::stats>::with<sandbox_stats>,
  /// A unary envd request (List, SendInput, Stat, …): one reply.
  caf::replies_to<atom::request, envd_request>::with<envd_reply>,
  /// Starts a stream (Start, Connect, WatchDir, ReadFile); its messages go
  /// to the sink as (event, stream id, reply) until one ends it.
  caf::replies_to<atom::stream, envd_request, caf::actor>::with<uint64_t>,
  /// The sink has passed on `bytes` more of stream `id`.
  caf::reacts_to<atom::ack, uint64_t, uint64_t>,
  /// The sink of stream `id` went away.
  caf::reacts_to<atom::cancel, uint64_t>,
  /// One chunk of an upload (upload id 0 starts one); answers the upload id,
  /// and the final reply (entry or error) for the last chunk.
  caf::replies_to<atom::write, uint64_t, envd_request>::with<uint64_t,
                                                              envd_reply>,
  /// Sends lifecycle events to the subscriber.
  caf::reacts_to<atom::subscribe, caf::actor>,
  /// Sends (update, sandbox_info) to the watcher now and after every change
  /// (state, timeout, claim), so that a cache of it stays current.
  caf::reacts_to<atom::watch, caf::actor>,
  /// Internal: a message from envd (via the node's envd hub).
  caf::reacts_to<atom::envd, envd_reply>,
  /// Internal: envd's socket closed.
  caf::reacts_to<atom::closed>,
  /// Internal: the bytes queued towards envd drained.
  caf::reacts_to<atom::drained>,
  /// Internal: check the timeout.
  caf::reacts_to<atom::tick>>;

/// Knows every claimed sandbox: where it runs and its last state, and
/// records its life in PostgreSQL (the sandboxes table).
using directory_actor = caf::typed_actor<
  /// A sandbox was created on `node` for a client: watch it and record it.
  caf::reacts_to<atom::put, std::string, sandbox_actor, sandbox_info>,
  /// Finds a sandbox: its actor and last known info.
  caf::replies_to<atom::get_atom, std::string>::with<sandbox_actor,
                                                     sandbox_info>,
  /// Internal: a watched sandbox changed.
  caf::reacts_to<atom::update, sandbox_info>>;

/// Keeps warm sandboxes of one template ready on one node.
using pool_actor = caf::typed_actor<
  /// Takes a warm sandbox, or answers nothing ready (an invalid handle).
  caf::replies_to<atom::claim>::with<sandbox_actor>,
  /// Changes how many warm sandboxes to keep.
  caf::replies_to<atom::size, unsigned>::with<atom::ok_atom>,
  /// Warm sandboxes ready now.
  caf::replies_to<atom::get_atom>::with<unsigned>,
  /// Internal: start more until the pool is full.
  caf::reacts_to<atom::refill>>;

/// One machine: its driver, capacity, sandboxes and pools.
using node_actor = caf::typed_actor<
  /// Creates a sandbox (warm from the pool when one is ready, else cold)
  /// and claims it for the request.
  caf::replies_to<atom::create, sandbox_request>::with<sandbox_actor,
                                                       sandbox_info>,
  /// Starts an unclaimed sandbox of a template (for pools).
  caf::replies_to<atom::create, std::string>::with<sandbox_actor>,
  /// Finds a sandbox by id.
  caf::replies_to<atom::get_atom, std::string>::with<sandbox_actor>,
  /// Lists the sandboxes of this node.
  caf::replies_to<atom::list>::with<std::vector<sandbox_info>>,
  /// Lists the templates of this node.
  caf::replies_to<atom::list, atom::templates>::with<
    std::vector<template_info>>,
  /// Capacity, use and warm pools.
  caf::replies_to<atom::stats>::with<node_load>,
  /// Sets the warm pool size of a template.
  caf::replies_to<atom::size, std::string, unsigned>::with<atom::ok_atom>,
  /// Internal: a sandbox ended (id, reason).
  caf::reacts_to<atom::ended, std::string, std::string>,
  /// Sends lifecycle events of all sandboxes to the subscriber.
  caf::reacts_to<atom::subscribe, caf::actor>,
  /// Internal: the grace period of a shutdown is over.
  caf::reacts_to<atom::tick>>;

} // namespace sbx

CAF_BEGIN_TYPE_ID_BLOCK(sbx_actors, caf::id_block::sbx_types::end)

  CAF_ADD_TYPE_ID(sbx_actors, (sbx::database_actor))
  CAF_ADD_TYPE_ID(sbx_actors, (sbx::supervisor_actor))
  CAF_ADD_TYPE_ID(sbx_actors, (sbx::driver_worker_actor))
  CAF_ADD_TYPE_ID(sbx_actors, (sbx::sandbox_actor))
  CAF_ADD_TYPE_ID(sbx_actors, (sbx::pool_actor))
  CAF_ADD_TYPE_ID(sbx_actors, (sbx::node_actor))
  CAF_ADD_TYPE_ID(sbx_actors, (sbx::directory_actor))

CAF_END_TYPE_ID_BLOCK(sbx_actors)

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
  /// Records a sandbox's state in the sandboxes table.
  caf::replies_to<atom::put, sandbox_info>::with<atom::ok_atom>,
  /// The sandboxes recorded as live (not ended), to rebuild the directory.
  caf::replies_to<atom::list, atom::live>::with<std::vector<sandbox_info>>,
  /// A team's limits: its plan's, with its own overrides.
  caf::replies_to<atom::get_atom, atom::limits, std::string>::with<
    team_limits>,
  /// A team by slug or id.
  caf::replies_to<atom::get_atom, atom::team, std::string>::with<team_info>,
  /// Every team, by slug.
  caf::replies_to<atom::list, atom::teams>::with<std::vector<team_info>>,
  /// Changes a team's plan or limit overrides; answers the team after it.
  caf::replies_to<atom::put, team_change>::with<team_info>,
  /// What a team (by id) used this calendar month.
  caf::replies_to<atom::get_atom, atom::month, std::string>::with<team_month>,
  /// Writes a line of the audit log.
  caf::replies_to<atom::audit, audit_entry>::with<atom::ok_atom>,
  /// Lines of the audit log, newest first.
  caf::replies_to<atom::list, atom::audit, audit_query>::with<
    std::vector<audit_row>>,
  /// Registers a user (email, password hash) with a team of their own.
  caf::replies_to<atom::create, atom::user, std::string, std::string>::with<
    user_record, team_info>,
  /// A user by email, password hash included (for login).
  caf::replies_to<atom::get_atom, atom::email, std::string>::with<
    user_record>,
  /// A user by id with their teams.
  caf::replies_to<atom::get_atom, atom::user, std::string>::with<
    user_record, std::vector<membership_record>>,
  /// Starts a session (user id, refresh token hash, expiry, address);
  /// answers its id.
  caf::replies_to<atom::create, atom::session, std::string, std::string,
                  int64_t, std::string>::with<std::string>,
  /// A session by id.
  caf::replies_to<atom::get_atom, atom::session, std::string>::with<
    session_record>,
  /// Replaces a refresh token (old hash, new hash, new expiry).
  caf::replies_to<atom::rotate, std::string, std::string, int64_t>::with<
    session_record>,
  /// Ends a session.
  caf::replies_to<atom::revoke, atom::session, std::string>::with<
    atom::ok_atom>,
  /// Creates a team (owner's user id, slug, name).
  caf::replies_to<atom::create, atom::team, std::string, std::string,
                  std::string>::with<team_info>,
  /// A team (id or slug) with the role of a user in it.
  caf::replies_to<atom::get_atom, atom::role, std::string, std::string>::with<
    team_info, std::string>,
  /// A team's members and invitations.
  caf::replies_to<atom::list, atom::members, std::string>::with<
    std::vector<member_record>>,
  /// Adds a member by email, or invites the address (team, email, role,
  /// invited by).
  caf::replies_to<atom::put, atom::member, std::string, std::string,
                  std::string, std::string>::with<member_record>,
  /// Changes a member's role (team, user id, role).
  caf::replies_to<atom::put, atom::role, std::string, std::string,
                  std::string>::with<member_record>,
  /// Removes a member (user id) or an invitation (email) from a team.
  caf::replies_to<atom::revoke, atom::member, std::string, std::string>::with<
    atom::ok_atom>,
  /// Stores a new API key.
  caf::replies_to<atom::put, new_api_key>::with<api_key_row>,
  /// A team's API keys.
  caf::replies_to<atom::list, atom::api_key, std::string>::with<
    std::vector<api_key_row>>,
  /// Revokes a team's API key (team id, key id).
  caf::replies_to<atom::revoke, atom::api_key, std::string, std::string>::with<
    api_key_row>,
  /// Stores usage records (a resend is harmless); answers how many were new.
  caf::replies_to<atom::put, std::vector<usage_record>>::with<uint64_t>,
  /// Milliseconds a team's sandboxes ran this month.
  caf::replies_to<atom::get_atom, atom::usage, std::string>::with<uint64_t>,
  /// A team's usage per day (team, from, to in Unix ms).
  caf::replies_to<atom::list, atom::usage, std::string, int64_t,
                  int64_t>::with<std::vector<usage_day>>,
  /// A team's invoice lines of a month ("2026-12-01") at these prices.
  caf::replies_to<atom::list, atom::invoice, std::string, std::string,
                  price_list>::with<std::vector<invoice_line>>,
  /// Charges a team what its month's usage costs beyond what was charged.
  caf::replies_to<atom::charge, std::string, std::string, price_list>::with<
    charge_result>,
  /// Adds credit to a team (team, micro-units, reference, by whom).
  caf::replies_to<atom::credit, std::string, int64_t, std::string,
                  std::string>::with<charge_result>,
  /// Stores a month's invoice as final (once); answers the stored one.
  caf::replies_to<atom::put, invoice>::with<invoice>,
  /// A final invoice (team, "2026-12").
  caf::replies_to<atom::get_atom, atom::invoice, std::string,
                  std::string>::with<invoice>,
  /// A team's final invoices, newest first, without lines.
  caf::replies_to<atom::list, atom::invoices, std::string>::with<
    std::vector<invoice>>>;

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
  /// The claimed sandboxes with their actors (same order), to report them
  /// when joining a cluster.
  caf::replies_to<atom::list, atom::live>::with<std::vector<sandbox_info>,
                                                std::vector<sandbox_actor>>,
  /// Capacity, use and warm pools.
  caf::replies_to<atom::stats>::with<node_load>,
  /// Sets the warm pool size of a template.
  caf::replies_to<atom::size, std::string, unsigned>::with<atom::ok_atom>,
  /// Internal: a sandbox ended (id, reason).
  caf::reacts_to<atom::ended, std::string, std::string>,
  /// Sends lifecycle events of all sandboxes to the subscriber.
  caf::reacts_to<atom::subscribe, caf::actor>,
  /// Kills these sandboxes (all, warm ones too, when the list is empty)
  /// with the reason to report.
  caf::reacts_to<atom::kill, std::vector<std::string>, std::string>,
  /// Internal: the grace period of a shutdown is over.
  caf::reacts_to<atom::tick>>;

/// A node joining (or joining again): who it is, where gateways reach it,
/// what it can start and what it runs. Holds handles, so it lives here
/// rather than in messages.hpp.
struct node_registration {
  node_actor handle;
  node_load load;
  std::vector<template_info> templates;
  /// The claimed sandboxes it runs, with their actors (same order).
  std::vector<sandbox_info> sandboxes;
  std::vector<sandbox_actor> handles;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, node_registration& x) {
  return f(caf::meta::type_name("sbx.node_registration"), x.handle, x.load,
           x.templates, x.sandboxes, x.handles);
}

/// One team: its limits and what it uses now. Every sandbox counts from
/// the reservation made before a node is asked until its end, once, by
/// id, so the counters stay exact whatever order messages arrive in.
using user_actor = caf::typed_actor<
  /// Reserves room for a sandbox under `key` (a request id); fails with
  /// resource_exhausted (and a retry-after) over a limit.
  caf::replies_to<atom::reserve, std::string, sandbox_request>::with<
    atom::ok_atom>,
  /// The reservation `key` became this sandbox.
  caf::reacts_to<atom::commit, std::string, sandbox_info>,
  /// Counts a sandbox found running (a node joined again); idempotent.
  caf::reacts_to<atom::adopt, sandbox_info>,
  /// Ends a reservation or a sandbox; idempotent.
  caf::reacts_to<atom::release, std::string>,
  /// Limits and counters.
  caf::replies_to<atom::get_atom>::with<team_usage>,
  /// Replaces the limits (an operator changed them).
  caf::replies_to<atom::limits, team_limits>::with<atom::ok_atom>,
  /// The milliseconds the team's sandboxes ran this month (from billing).
  caf::reacts_to<atom::usage, uint64_t>,
  /// Whether the team's balance is used up (from billing): no creates.
  caf::reacts_to<atom::balance, bool>>;

/// Places sandboxes on nodes by load and quota, and knows the nodes: their
/// capacity, use, warm pools, health and whether they take new sandboxes.
using scheduler_actor = caf::typed_actor<
  /// A node joins or joins again; answers the ids of its sandboxes that the
  /// cluster ended while it was away (the node kills them).
  caf::replies_to<atom::join, node_registration>::with<
    std::vector<std::string>>,
  /// A node's load, every second; not_found tells a node the scheduler does
  /// not know (it restarted, or declared the node lost) to join again.
  caf::replies_to<atom::heartbeat, node_load>::with<atom::ok_atom>,
  /// Creates a sandbox: reserves the team's quota, places it, asks the node
  /// (another one when a node fails, three tries at most).
  caf::replies_to<atom::create, sandbox_request>::with<sandbox_actor,
                                                       sandbox_info>,
  /// The node table.
  caf::replies_to<atom::list, atom::nodes>::with<std::vector<node_status>>,
  /// The templates the ready nodes can start.
  caf::replies_to<atom::list, atom::templates>::with<
    std::vector<template_info>>,
  /// Cordons (true) or uncordons (false) a node: no new sandboxes on it.
  caf::replies_to<atom::cordon, std::string, bool>::with<atom::ok_atom>,
  /// Drains a node: no new sandboxes; those still running after this many
  /// milliseconds are killed.
  caf::replies_to<atom::drain, std::string, int64_t>::with<atom::ok_atom>,
  /// A team's limits and counters.
  caf::replies_to<atom::get_atom, atom::limits, std::string>::with<team_usage>,
  /// A team's limits changed (an operator): they apply from now on.
  caf::replies_to<atom::limits, std::string, team_limits>::with<atom::ok_atom>,
  /// A node's actor, by name, to talk to it directly.
  caf::replies_to<atom::get_atom, atom::node, std::string>::with<node_actor>,
  /// Counters since the scheduler started.
  caf::replies_to<atom::stats>::with<scheduler_stats>,
  /// A sandbox ended (from the directory): its quota is released.
  caf::reacts_to<atom::ended, sandbox_info>,
  /// A team's sandboxes ran this many milliseconds this month (from
  /// billing), for its monthly sandbox-hours.
  caf::reacts_to<atom::usage, std::string, uint64_t>,
  /// A team's balance is used up (true) or not (from billing).
  caf::reacts_to<atom::balance, std::string, bool>,
  /// Internal: check heartbeats and drain deadlines.
  caf::reacts_to<atom::tick>>;

/// Knows every claimed sandbox of the cluster: where it runs and its last
/// state, and records its life in PostgreSQL (the sandboxes table).
using directory_actor = caf::typed_actor<
  /// A sandbox was created for a client: watch it and record it; answers
  /// once PostgreSQL has it, so that a restarted control knows it.
  caf::replies_to<atom::put, sandbox_actor, sandbox_info>::with<
    atom::ok_atom>,
  /// Finds a sandbox: its actor and last known info.
  caf::replies_to<atom::get_atom, std::string>::with<sandbox_actor,
                                                     sandbox_info>,
  /// The sandboxes of a team ("": all), with their last known info.
  caf::replies_to<atom::list, std::string>::with<std::vector<sandbox_info>>,
  /// A node (re)joined running these: adopts the ones still live and
  /// answers the ids of those the cluster ended meanwhile.
  caf::replies_to<atom::adopt, node_registration>::with<
    std::vector<std::string>>,
  /// A node is lost: its sandboxes end with reason node_lost.
  caf::reacts_to<atom::lost, std::string>,
  /// Sends (ended, id) to the subscriber whenever a sandbox ends.
  caf::reacts_to<atom::subscribe, caf::actor>,
  /// Sends (event, sandbox_info) to the subscriber whenever a sandbox is
  /// created, changes state or ends, until the subscriber goes down.
  caf::reacts_to<atom::subscribe, atom::event, caf::actor>,
  /// Internal: a watched sandbox changed.
  caf::reacts_to<atom::update, sandbox_info>,
  /// Internal: sandboxes rebuilt from PostgreSQL whose node did not come
  /// back in time are lost.
  caf::reacts_to<atom::tick>,
  /// Internal: time to update the metrics.
  caf::reacts_to<atom::sample>>;

/// Usage and money: stores the usage nodes measure, keeps the teams'
/// monthly sandbox-hours current in the scheduler, charges billed teams'
/// balances, stops the teams whose balance ran out, and makes invoices.
using billing_actor = caf::typed_actor<
  /// Usage a node measured; answered once PostgreSQL has it (a resend
  /// changes nothing), so the node may forget it.
  caf::replies_to<atom::usage, std::vector<usage_record>>::with<
    atom::ok_atom>,
  /// Adds credit to a team (team, micro-units, reference, by whom).
  caf::replies_to<atom::credit, std::string, int64_t, std::string,
                  std::string>::with<charge_result>,
  /// A team's invoice of a month ("2026-12"): final once stored, else a
  /// draft priced now.
  caf::replies_to<atom::get_atom, atom::invoice, std::string,
                  std::string>::with<invoice>,
  /// A team's invoices: this month's draft, then the final ones.
  caf::replies_to<atom::list, atom::invoices, std::string>::with<
    std::vector<invoice>>,
  /// Internal: time to charge.
  caf::reacts_to<atom::tick>>;

/// A node's meter: samples its sandboxes' cgroups and sends their usage to
/// billing, keeping what billing has not confirmed (on disk too).
using meter_actor = caf::typed_actor<
  /// Internal: time to sample.
  caf::reacts_to<atom::tick>,
  /// A sandbox of the node changed or ended (from the node).
  caf::reacts_to<atom::event, sandbox_event>,
  /// Internal: send what waits.
  caf::reacts_to<atom::usage>>;

/// The operators' side of the control: runs the commands of `sandhive
/// admin` (see actors/admin_commands.hpp) for the sessions the door opened,
/// and writes every change to the audit log.
using admin_actor = caf::typed_actor<
  /// Opens a session for an operator the door admitted (name, address);
  /// answers its token.
  caf::replies_to<atom::open, std::string, std::string>::with<std::string>,
  /// Runs a command; answers its result as JSON text.
  caf::replies_to<atom::run, admin_command>::with<std::string>,
  /// Sends (event, sandbox_info) to the sink for every change of every
  /// sandbox, until the sink goes down.
  caf::replies_to<atom::subscribe, std::string, caf::actor>::with<
    atom::ok_atom>>;

/// The control's handles, as a process gets them once admitted. An
/// operator gets only the admin actor and a session.
struct cluster_handles {
  scheduler_actor scheduler;
  directory_actor directory;
  database_actor database;
  admin_actor admin;
  std::string session;
  billing_actor billing;
  /// The Redis gateways share rate limits in (unless they have their own
  /// redis-url).
  std::string redis_url;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, cluster_handles& x) {
  return f(caf::meta::type_name("sbx.cluster_handles"), x.scheduler,
           x.directory, x.database, x.admin, x.session, x.billing,
           x.redis_url);
}

/// The only actor the control publishes on its cluster port: admits the
/// processes that prove they know the cluster secret and hands them the
/// control's actors. Everyone else is refused, and logged.
using door_actor = caf::typed_actor<
  /// A fresh single-use nonce to prove the secret with.
  caf::replies_to<atom::hello>::with<std::string>,
  /// Admits a process.
  caf::replies_to<atom::join, join_request>::with<cluster_handles>,
  /// The members admitted and still connected: nodes and gateways.
  caf::replies_to<atom::list, atom::members>::with<std::vector<caf::actor>>>;

/// A node's or gateway's membership of the cluster: joins through the
/// control's door, joins again whenever it loses the control, and for a
/// node registers it and reports its load every heartbeat.
using member_actor = caf::typed_actor<
  /// Whether this process is in the cluster (for /ready): unavailable, with
  /// the last reason, while it is not.
  caf::replies_to<atom::ping>::with<atom::ok_atom>,
  /// Changes the log threshold of a component ("all": every one) in this
  /// process.
  caf::replies_to<atom::log_level, std::string, std::string>::with<
    atom::ok_atom>,
  /// Internal: (re)join now.
  caf::reacts_to<atom::join>,
  /// Internal: time for a heartbeat.
  caf::reacts_to<atom::heartbeat>>;

/// The operator shell's link to the control: joins it as an operator
/// (cluster secret and admin token), runs commands there, and joins again
/// after losing it. A command in flight when the control goes away fails at
/// once instead of waiting for its timeout.
using admin_client_actor = caf::typed_actor<
  /// Runs a command (the words typed); answers its result as JSON text.
  caf::replies_to<atom::run, std::vector<std::string>>::with<std::string>,
  /// Sends (event, sandbox_info) to the sink for every sandbox change.
  caf::replies_to<atom::subscribe, caf::actor>::with<atom::ok_atom>>;

} // namespace sbx

CAF_BEGIN_TYPE_ID_BLOCK(sbx_actors, caf::id_block::sbx_types::end)

  CAF_ADD_TYPE_ID(sbx_actors, (sbx::database_actor))
  CAF_ADD_TYPE_ID(sbx_actors, (sbx::supervisor_actor))
  CAF_ADD_TYPE_ID(sbx_actors, (sbx::driver_worker_actor))
  CAF_ADD_TYPE_ID(sbx_actors, (sbx::sandbox_actor))
  CAF_ADD_TYPE_ID(sbx_actors, (sbx::pool_actor))
  CAF_ADD_TYPE_ID(sbx_actors, (sbx::node_actor))
  CAF_ADD_TYPE_ID(sbx_actors, (sbx::directory_actor))
  CAF_ADD_TYPE_ID(sbx_actors, (sbx::user_actor))
  CAF_ADD_TYPE_ID(sbx_actors, (sbx::scheduler_actor))
  CAF_ADD_TYPE_ID(sbx_actors, (sbx::door_actor))
  CAF_ADD_TYPE_ID(sbx_actors, (sbx::member_actor))
  CAF_ADD_TYPE_ID(sbx_actors, (sbx::admin_actor))
  CAF_ADD_TYPE_ID(sbx_actors, (sbx::billing_actor))
  CAF_ADD_TYPE_ID(sbx_actors, (sbx::meter_actor))
  CAF_ADD_TYPE_ID(sbx_actors, (sbx::admin_client_actor))
  CAF_ADD_TYPE_ID(sbx_actors, (sbx::node_registration))
  CAF_ADD_TYPE_ID(sbx_actors, (sbx::cluster_handles))
  CAF_ADD_TYPE_ID(sbx_actors, (std::vector<sbx::sandbox_actor>))

CAF_END_TYPE_ID_BLOCK(sbx_actors)

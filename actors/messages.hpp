#pragma once

#include "runtime/sandbox/driver.hpp"
#include "runtime/store/store.hpp"

#include <caf/meta/type_name.hpp>
#include <caf/type_id.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

/// Message types that travel between actors (and later between processes).
/// Every `inspect` lives here: the inspection API changes in CAF 0.18.
namespace sbx {

/// The outcome of probing one dependency.
struct check {
  /// What was probed: "postgres", "redis", …
  std::string name;
  bool ok = false;
  /// Why it failed; empty when ok.
  std::string message;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, check& x) {
  return f(caf::meta::type_name("sbx.check"), x.name, x.ok, x.message);
}

/// Whether a process can serve requests: ready only if every check is ok.
struct readiness {
  bool ready = false;
  std::vector<check> checks;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, readiness& x) {
  return f(caf::meta::type_name("sbx.readiness"), x.ready, x.checks);
}

/// A template as clients see it.
struct template_info {
  std::string id;
  unsigned vcpu = 0;
  uint64_t memory_mb = 0;
  uint64_t disk_mb = 0;
  /// Unix time in milliseconds.
  int64_t created_at_ms = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, template_info& x) {
  return f(caf::meta::type_name("sbx.template_info"), x.id, x.vcpu,
           x.memory_mb, x.disk_mb, x.created_at_ms);
}

/// A serialized sandhive.envd.ToEnvd; the sandbox assigns its id. Bytes
/// rather than the protobuf object, so that it can cross processes.
struct envd_request {
  std::string bytes;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, envd_request& x) {
  return f(caf::meta::type_name("sbx.envd_request"), x.bytes);
}

/// A serialized sandhive.envd.FromEnvd.
struct envd_reply {
  std::string bytes;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, envd_reply& x) {
  return f(caf::meta::type_name("sbx.envd_reply"), x.bytes);
}

/// What a client asks for when it creates a sandbox.
struct sandbox_request {
  std::string template_id = "base";
  std::string team;
  std::map<std::string, std::string> metadata;
  std::map<std::string, std::string> envs;
  /// Lifetime from now; the sandbox is killed (or paused) when it passes.
  int64_t timeout_ms = 300'000;
  /// Pause instead of kill when the timeout passes.
  bool auto_pause = false;
  /// Required by envd requests through the gateway (X-Access-Token).
  std::string access_token;
  /// 0 takes the template's value.
  unsigned vcpu = 0;
  uint64_t memory_mb = 0;
  uint64_t disk_mb = 0;
  /// The API key that asks (for usage per key), if one does.
  std::string api_key_id;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, sandbox_request& x) {
  return f(caf::meta::type_name("sbx.sandbox_request"), x.template_id, x.team,
           x.metadata, x.envs, x.timeout_ms, x.auto_pause, x.access_token,
           x.vcpu, x.memory_mb, x.disk_mb, x.api_key_id);
}

/// A sandbox as clients see it.
struct sandbox_info {
  std::string id;
  std::string template_id;
  std::string team;
  /// The node it runs on.
  std::string node;
  /// starting, running, paused or killed.
  std::string state;
  std::map<std::string, std::string> metadata;
  unsigned vcpu = 0;
  uint64_t memory_mb = 0;
  uint64_t disk_mb = 0;
  /// Unix time in milliseconds.
  int64_t started_at_ms = 0;
  /// When the timeout passes (0: none, a warm sandbox).
  int64_t end_at_ms = 0;
  std::string access_token;
  /// Why it ended, once killed.
  std::string end_reason;
  /// Grows with every change, so that a cache keeps the newest.
  uint64_t revision = 0;
  /// The API key that created it, if one did.
  std::string api_key_id;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, sandbox_info& x) {
  return f(caf::meta::type_name("sbx.sandbox_info"), x.id, x.template_id,
           x.team, x.node, x.state, x.metadata, x.vcpu, x.memory_mb, x.disk_mb,
           x.started_at_ms, x.end_at_ms, x.access_token, x.end_reason,
           x.revision, x.api_key_id);
}

/// Resource use of a sandbox, from its cgroup and writable layer.
struct sandbox_stats {
  uint64_t cpu_usec = 0;
  uint64_t memory_bytes = 0;
  uint64_t memory_limit = 0;
  uint64_t disk_bytes = 0;
  uint64_t disk_limit = 0;
  uint64_t oom_kills = 0;
  uint64_t pids = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, sandbox_stats& x) {
  return f(caf::meta::type_name("sbx.sandbox_stats"), x.cpu_usec,
           x.memory_bytes, x.memory_limit, x.disk_bytes, x.disk_limit,
           x.oom_kills, x.pids);
}

/// A lifecycle event: a sandbox changed state.
struct sandbox_event {
  std::string id;
  std::string state;
  std::string reason;
  int64_t at_ms = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, sandbox_event& x) {
  return f(caf::meta::type_name("sbx.sandbox_event"), x.id, x.state, x.reason,
           x.at_ms);
}

/// A node's capacity and what is in use.
struct node_load {
  std::string name;
  /// Where gateways reach the node's actors directly (HOST:PORT); empty for
  /// a node in the control's own process.
  std::string address;
  unsigned vcpu_capacity = 0;
  uint64_t memory_capacity_mb = 0;
  unsigned max_sandboxes = 0;
  unsigned vcpu_used = 0;
  uint64_t memory_used_mb = 0;
  unsigned sandboxes = 0;
  /// Warm sandboxes ready per template.
  std::map<std::string, unsigned> warm;
  /// Warm sandboxes each pool tries to keep, per template.
  std::map<std::string, unsigned> pool_size;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, node_load& x) {
  return f(caf::meta::type_name("sbx.node_load"), x.name, x.address,
           x.vcpu_capacity, x.memory_capacity_mb, x.max_sandboxes, x.vcpu_used,
           x.memory_used_mb, x.sandboxes, x.warm, x.pool_size);
}

/// A node as the scheduler sees it.
struct node_status {
  node_load load;
  /// ready, cordoned, draining or lost.
  std::string state;
  /// Starts sent to it and not yet answered.
  unsigned starting = 0;
  /// Unix milliseconds of its last heartbeat.
  int64_t last_heartbeat_ms = 0;
  /// When a drain kills what still runs (Unix ms; 0: no drain).
  int64_t drain_deadline_ms = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, node_status& x) {
  return f(caf::meta::type_name("sbx.node_status"), x.load, x.state,
           x.starting, x.last_heartbeat_ms, x.drain_deadline_ms);
}

/// What a team may use: its plan's limits with its own overrides.
struct team_limits {
  /// Sandboxes running at once.
  unsigned max_sandboxes = 20;
  /// Per sandbox.
  unsigned max_vcpu = 8;
  uint64_t max_memory_mb = 8192;
  /// Longest timeout a sandbox may have.
  int64_t max_lifetime_ms = 24 * 3600 * 1000;
  /// Requests per second through the gateways (token buckets holding five
  /// seconds' worth): sandbox creates, and every other control-plane call.
  double rate_create = 10;
  double rate_control = 100;
  /// Sandbox-hours a calendar month (0: no limit).
  uint64_t max_sandbox_hours = 100;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, team_limits& x) {
  return f(caf::meta::type_name("sbx.team_limits"), x.max_sandboxes,
           x.max_vcpu, x.max_memory_mb, x.max_lifetime_ms, x.rate_create,
           x.rate_control, x.max_sandbox_hours);
}

/// Who an API key belongs to, once verified, with the team's limits (its
/// request rates apply at the gateway).
struct api_key_info {
  std::string key_id;
  std::string team_id;
  std::string team_slug;
  /// Granted scopes ("*" for all).
  std::vector<std::string> scopes;
  team_limits limits;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, api_key_info& x) {
  return f(caf::meta::type_name("sbx.api_key_info"), x.key_id, x.team_id,
           x.team_slug, x.scopes, x.limits);
}

/// A team's live counters.
struct team_usage {
  team_limits limits;
  /// Sandboxes counted against the limit (running and being started).
  unsigned sandboxes = 0;
  unsigned vcpu = 0;
  uint64_t memory_mb = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, team_usage& x) {
  return f(caf::meta::type_name("sbx.team_usage"), x.limits, x.sandboxes,
           x.vcpu, x.memory_mb);
}

/// A team as operators see it.
struct team_info {
  std::string id;
  std::string slug;
  std::string name;
  /// free, pro or enterprise.
  std::string plan;
  /// The team's own overrides of its plan's limits.
  std::map<std::string, int64_t> overrides;
  /// The effective limits: the plan's with the overrides.
  team_limits limits;
  /// Prepaid balance in micro-units of currency.
  int64_t balance_micros = 0;
  /// Unix milliseconds.
  int64_t created_at_ms = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, team_info& x) {
  return f(caf::meta::type_name("sbx.team_info"), x.id, x.slug, x.name, x.plan,
           x.overrides, x.limits, x.balance_micros, x.created_at_ms);
}

/// What a team used this calendar month (UTC), as the store counts it.
using team_month = team_month_record;

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, team_month& x) {
  return f(caf::meta::type_name("sbx.team_month"), x.sandboxes,
           x.sandbox_seconds, x.vcpu_seconds, x.memory_mb_seconds);
}

/// A change of a team's plan and limit overrides; a value of 0 removes an
/// override (the plan's limit applies again).
struct team_change {
  std::string team;
  /// Empty keeps the plan.
  std::string plan;
  std::map<std::string, int64_t> overrides;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, team_change& x) {
  return f(caf::meta::type_name("sbx.team_change"), x.team, x.plan,
           x.overrides);
}

/// One line of the audit log: who changed what, when and from where.
using audit_entry = audit_record;

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, audit_entry& x) {
  return f(caf::meta::type_name("sbx.audit_entry"), x.actor_kind, x.actor_id,
           x.action, x.target, x.team_id, x.details, x.remote_addr);
}

// -- accounts: the store's records, as they cross to the gateways -------------

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, user_record& x) {
  return f(caf::meta::type_name("sbx.user_record"), x.id, x.email,
           x.password_hash, x.created_at_ms, x.disabled);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, membership_record& x) {
  return f(caf::meta::type_name("sbx.membership_record"), x.team_id,
           x.team_slug, x.team_name, x.role);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, member_record& x) {
  return f(caf::meta::type_name("sbx.member_record"), x.user_id, x.email,
           x.role, x.invited, x.since_ms);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, session_record& x) {
  return f(caf::meta::type_name("sbx.session_record"), x.id, x.user_id,
           x.expires_at_ms, x.revoked);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, api_key_row& x) {
  return f(caf::meta::type_name("sbx.api_key_row"), x.id, x.name, x.prefix,
           x.scopes, x.created_by, x.created_by_id, x.created_at_ms,
           x.last_used_at_ms, x.expires_at_ms, x.revoked_at_ms);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, audit_row& x) {
  return f(caf::meta::type_name("sbx.audit_row"), x.id, x.at_ms, x.entry);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, audit_query& x) {
  return f(caf::meta::type_name("sbx.audit_query"), x.team_id, x.from_ms,
           x.to_ms, x.action, x.limit, x.before_id);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, usage_record& x) {
  return f(caf::meta::type_name("sbx.usage_record"), x.id, x.team_id,
           x.sandbox_id, x.template_id, x.api_key_id, x.node,
           x.period_start_ms, x.period_end_ms, x.cpu_usec, x.memory_mib_ms,
           x.disk_mib_ms, x.vcpu_ms);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, usage_day& x) {
  return f(caf::meta::type_name("sbx.usage_day"), x.date, x.template_id,
           x.api_key_id, x.sandbox_ms, x.cpu_usec, x.vcpu_ms, x.memory_mib_ms,
           x.disk_mib_ms);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, price_list& x) {
  return f(caf::meta::type_name("sbx.price_list"), x.vcpu_hour,
           x.memory_gib_hour, x.disk_gib_month);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, invoice_line& x) {
  return f(caf::meta::type_name("sbx.invoice_line"), x.sandbox_id,
           x.template_id, x.sandbox_ms, x.vcpu_ms, x.memory_mib_ms,
           x.disk_mib_ms, x.vcpu_micros, x.memory_micros, x.disk_micros,
           x.amount_micros);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, invoice& x) {
  return f(caf::meta::type_name("sbx.invoice"), x.team_id, x.month, x.status,
           x.prices, x.lines, x.total_micros);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, charge_result& x) {
  return f(caf::meta::type_name("sbx.charge_result"), x.team_id,
           x.charged_micros, x.balance_micros, x.frozen_since_ms);
}

/// A new API key to store: made (and shown once) by the gateway, stored as
/// its hash.
struct new_api_key {
  std::string team_id;
  /// The user who made it.
  std::string created_by;
  std::string name;
  std::string hash;
  std::string prefix;
  std::vector<std::string> scopes;
  /// Unix ms; 0 for never.
  int64_t expires_at_ms = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, new_api_key& x) {
  return f(caf::meta::type_name("sbx.new_api_key"), x.team_id, x.created_by,
           x.name, x.hash, x.prefix, x.scopes, x.expires_at_ms);
}

/// The scheduler's counters since it started.
struct scheduler_stats {
  uint64_t creates = 0;
  uint64_t create_failures = 0;
  uint64_t quota_rejections = 0;
  uint64_t placement_retries = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, scheduler_stats& x) {
  return f(caf::meta::type_name("sbx.scheduler_stats"), x.creates,
           x.create_failures, x.quota_rejections, x.placement_retries);
}

/// An operator command: the words typed, with the session that the door
/// opened for the operator.
struct admin_command {
  std::string session;
  std::vector<std::string> words;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, admin_command& x) {
  return f(caf::meta::type_name("sbx.admin_command"), x.session, x.words);
}

/// A process asking to join the cluster. The proof is the HMAC-SHA256 of
/// the nonce the door handed out, keyed with the cluster secret, so the
/// secret never crosses the wire.
struct join_request {
  /// node, gateway or admin.
  std::string role;
  std::string name;
  std::string nonce;
  std::string proof;
  /// Role admin: HMAC-SHA256(admin token, nonce|name).
  std::string token_proof;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, join_request& x) {
  return f(caf::meta::type_name("sbx.join_request"), x.role, x.name, x.nonce,
           x.proof, x.token_proof);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, cgroup_limits& x) {
  return f(caf::meta::type_name("sbx.cgroup_limits"), x.vcpu, x.memory_bytes,
           x.pids);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, sandbox_spec& x) {
  return f(caf::meta::type_name("sbx.sandbox_spec"), x.id, x.rootfs,
           x.hostname, x.limits, x.disk_bytes);
}

/// A sandbox the driver started: the socket to its envd (meaningful only in
/// the node's own process) and envd's pid.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, sandbox_process& x) {
  return f(caf::meta::type_name("sbx.sandbox_process"), x.envd_fd, x.pid);
}

} // namespace sbx

CAF_BEGIN_TYPE_ID_BLOCK(sbx_types, caf::first_custom_type_id)

  CAF_ADD_TYPE_ID(sbx_types, (sbx::check))
  CAF_ADD_TYPE_ID(sbx_types, (sbx::readiness))
  CAF_ADD_TYPE_ID(sbx_types, (sbx::envd_request))
  CAF_ADD_TYPE_ID(sbx_types, (sbx::envd_reply))
  CAF_ADD_TYPE_ID(sbx_types, (sbx::sandbox_request))
  CAF_ADD_TYPE_ID(sbx_types, (sbx::sandbox_info))
  CAF_ADD_TYPE_ID(sbx_types, (sbx::sandbox_stats))
  CAF_ADD_TYPE_ID(sbx_types, (sbx::sandbox_event))
  CAF_ADD_TYPE_ID(sbx_types, (sbx::node_load))
  CAF_ADD_TYPE_ID(sbx_types, (sbx::cgroup_limits))
  CAF_ADD_TYPE_ID(sbx_types, (sbx::sandbox_spec))
  CAF_ADD_TYPE_ID(sbx_types, (sbx::sandbox_process))
  CAF_ADD_TYPE_ID(sbx_types, (sbx::api_key_info))
  CAF_ADD_TYPE_ID(sbx_types, (sbx::template_info))
  CAF_ADD_TYPE_ID(sbx_types, (std::vector<sbx::template_info>))
  CAF_ADD_TYPE_ID(sbx_types, (sbx::node_status))
  CAF_ADD_TYPE_ID(sbx_types, (std::vector<sbx::node_status>))
  CAF_ADD_TYPE_ID(sbx_types, (sbx::team_limits))
  CAF_ADD_TYPE_ID(sbx_types, (sbx::team_usage))
  CAF_ADD_TYPE_ID(sbx_types, (sbx::join_request))
  CAF_ADD_TYPE_ID(sbx_types, (std::vector<sbx::sandbox_info>))
  CAF_ADD_TYPE_ID(sbx_types, (std::vector<std::string>))
  CAF_ADD_TYPE_ID(sbx_types, (sbx::team_info))
  CAF_ADD_TYPE_ID(sbx_types, (std::vector<sbx::team_info>))
  CAF_ADD_TYPE_ID(sbx_types, (sbx::team_month))
  CAF_ADD_TYPE_ID(sbx_types, (sbx::team_change))
  CAF_ADD_TYPE_ID(sbx_types, (sbx::audit_entry))
  CAF_ADD_TYPE_ID(sbx_types, (sbx::scheduler_stats))
  CAF_ADD_TYPE_ID(sbx_types, (sbx::admin_command))
  CAF_ADD_TYPE_ID(sbx_types, (sbx::user_record))
  CAF_ADD_TYPE_ID(sbx_types, (sbx::membership_record))
  CAF_ADD_TYPE_ID(sbx_types, (std::vector<sbx::membership_record>))
  CAF_ADD_TYPE_ID(sbx_types, (sbx::member_record))
  CAF_ADD_TYPE_ID(sbx_types, (std::vector<sbx::member_record>))
  CAF_ADD_TYPE_ID(sbx_types, (sbx::session_record))
  CAF_ADD_TYPE_ID(sbx_types, (sbx::api_key_row))
  CAF_ADD_TYPE_ID(sbx_types, (std::vector<sbx::api_key_row>))
  CAF_ADD_TYPE_ID(sbx_types, (sbx::audit_row))
  CAF_ADD_TYPE_ID(sbx_types, (std::vector<sbx::audit_row>))
  CAF_ADD_TYPE_ID(sbx_types, (sbx::audit_query))
  CAF_ADD_TYPE_ID(sbx_types, (sbx::new_api_key))
  CAF_ADD_TYPE_ID(sbx_types, (sbx::usage_record))
  CAF_ADD_TYPE_ID(sbx_types, (std::vector<sbx::usage_record>))
  CAF_ADD_TYPE_ID(sbx_types, (sbx::usage_day))
  CAF_ADD_TYPE_ID(sbx_types, (std::vector<sbx::usage_day>))
  CAF_ADD_TYPE_ID(sbx_types, (sbx::price_list))
  CAF_ADD_TYPE_ID(sbx_types, (sbx::invoice_line))
  CAF_ADD_TYPE_ID(sbx_types, (std::vector<sbx::invoice_line>))
  CAF_ADD_TYPE_ID(sbx_types, (sbx::invoice))
  CAF_ADD_TYPE_ID(sbx_types, (std::vector<sbx::invoice>))
  CAF_ADD_TYPE_ID(sbx_types, (sbx::charge_result))

CAF_END_TYPE_ID_BLOCK(sbx_types)

#pragma once

#include "runtime/auth/api_key.hpp"
#include "runtime/store/migrations.hpp"

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace sbx {

/// One sandbox's life as the sandboxes table records it.
struct sandbox_record {
  std::string id;
  std::string team_id;
  std::string template_id;
  std::string node;
  std::map<std::string, std::string> metadata;
  unsigned vcpu = 0;
  uint64_t memory_mb = 0;
  uint64_t disk_mb = 0;
  /// starting, running, paused or killed.
  std::string state;
  /// Unix milliseconds.
  int64_t created_at_ms = 0;
  /// Set once killed.
  std::string end_reason;
};

/// A team: its plan and its own overrides of the plan's limits
/// (max_sandboxes, max_vcpu, max_memory_mb, max_lifetime_s).
struct team_record {
  std::string plan;
  std::map<std::string, int64_t> limits;
  std::string id;
  std::string slug;
  std::string name;
  int64_t balance_micros = 0;
  /// Unix milliseconds.
  int64_t created_at_ms = 0;
};

/// What a team used in the current calendar month (UTC).
struct team_month_record {
  /// Sandboxes created this month.
  uint64_t sandboxes = 0;
  /// Seconds its sandboxes ran this month, and the same weighted by their
  /// vCPUs and memory.
  uint64_t sandbox_seconds = 0;
  uint64_t vcpu_seconds = 0;
  uint64_t memory_mb_seconds = 0;
};

/// One line of the audit log: who changed what, when and from where.
struct audit_record {
  /// user, api_key, operator or system.
  std::string actor_kind;
  /// The user, key or operator name.
  std::string actor_id;
  /// What happened, as noun.verb: "node.drain", "sandbox.kill", …
  std::string action;
  /// What it happened to (a node name, a sandbox id, a team).
  std::string target;
  /// The team concerned (its id); empty when none is.
  std::string team_id;
  /// A JSON object with the details.
  std::string details = "{}";
  /// Where the request came from (an IP address), or empty.
  std::string remote_addr;
};

/// An API key as the store knows it (never the key itself).
struct api_key_record {
  std::string key_id;
  std::string team_id;
  std::string team_slug;
  std::vector<std::string> scopes;
};

/// The system of record (PostgreSQL). Implementations block: call them only
/// from a detached actor or a thread of their own. Every method returns an
/// error value (ec::unavailable while the database is away) instead of
/// throwing, and the store reconnects by itself.
class store {
public:
  virtual ~store() = default;

  /// Checks that the database answers.
  virtual caf::error ping() = 0;

  /// Applies the pending ones of `all` in order, each in its own transaction,
  /// and records them. Returns the names of the migrations applied.
  virtual caf::expected<std::vector<std::string>>
  migrate(const std::vector<migration>& all) = 0;

  /// Called with a new key before the bootstrap transaction commits; an
  /// error aborts the bootstrap.
  using key_sink = std::function<caf::error(const auth::api_key&)>;

  /// Creates the team `default` and its first API key, once: returns the key
  /// when it was created now and nothing when the team existed already.
  virtual caf::expected<std::optional<auth::api_key>>
  bootstrap(const key_sink& persist) = 0;

  /// The live key with SHA-256 `hash`: ec::unauthenticated when no such key
  /// exists, or it is revoked or expired.
  virtual caf::expected<api_key_record> find_api_key(const std::string& hash)
    = 0;

  /// Records a sandbox's current state (created, paused, resumed, ended);
  /// idempotent, so a record sent twice is harmless.
  virtual caf::error record_sandbox(const sandbox_record& rec) = 0;

  /// Every sandbox recorded as live (not ended), on any node.
  virtual caf::expected<std::vector<sandbox_record>> live_sandboxes() = 0;

  /// A team by id or slug; ec::not_found when unknown.
  virtual caf::expected<team_record> find_team(const std::string& team)
    = 0;

  /// Every team, by slug.
  virtual caf::expected<std::vector<team_record>> list_teams() = 0;

  /// Changes a team's plan (unless empty) and limit overrides (a value of 0
  /// removes one); answers the team after the change.
  virtual caf::expected<team_record>
  change_team(const std::string& team, const std::string& plan,
              const std::map<std::string, int64_t>& overrides)
    = 0;

  /// What the team with this id used this calendar month (UTC).
  virtual caf::expected<team_month_record>
  team_month(const std::string& team_id) = 0;

  /// Appends a line to the audit log.
  virtual caf::error record_audit(const audit_record& rec) = 0;

  /// Ends every sandbox of `node` still recorded as live (after a crash,
  /// nothing of them survived); returns how many.
  virtual caf::expected<size_t> end_live_sandboxes(const std::string& node,
                                                   const std::string& reason)
    = 0;
};

using store_ptr = std::unique_ptr<store>;

/// Returns a PostgreSQL store for `url` with connect and statement timeouts.
/// Connects lazily.
store_ptr make_pg_store(std::string url, std::chrono::milliseconds timeout);

} // namespace sbx

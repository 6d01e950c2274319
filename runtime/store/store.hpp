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
  /// The API key that created it, if one did.
  std::string api_key_id;
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

/// A person with a login.
struct user_record {
  std::string id;
  std::string email;
  /// The scrypt hash (runtime/auth/password.hpp); only the store and the
  /// login route ever see it.
  std::string password_hash;
  int64_t created_at_ms = 0;
  bool disabled = false;
};

/// What one sandbox used over one period, as its node measured it. `id` is
/// made by the node, so that a record sent twice is stored once.
struct usage_record {
  std::string id;
  std::string team_id;
  std::string sandbox_id;
  std::string template_id;
  /// The API key that created the sandbox, when one did.
  std::string api_key_id;
  std::string node;
  /// Unix ms.
  int64_t period_start_ms = 0;
  int64_t period_end_ms = 0;
  /// CPU time used.
  uint64_t cpu_usec = 0;
  /// Memory and disk held, integrated over the period (MiB × ms).
  uint64_t memory_mib_ms = 0;
  uint64_t disk_mib_ms = 0;
  /// vCPUs allotted, integrated over the period (vCPU × ms).
  uint64_t vcpu_ms = 0;
};

/// Usage totals of one day (UTC), overall or for one template or key.
struct usage_day {
  /// "2026-12-01".
  std::string date;
  /// What the totals are for: "" (the team), a template, or an API key id
  /// ("" for sandboxes no key created).
  std::string template_id;
  std::string api_key_id;
  uint64_t sandbox_ms = 0;
  uint64_t cpu_usec = 0;
  uint64_t vcpu_ms = 0;
  uint64_t memory_mib_ms = 0;
  uint64_t disk_mib_ms = 0;
};

/// Prices of a plan, in micro-units of currency: per vCPU-hour, per
/// GiB-hour of memory, per GiB-month (30 days) of disk.
struct price_list {
  int64_t vcpu_hour = 0;
  int64_t memory_gib_hour = 0;
  int64_t disk_gib_month = 0;

  bool free() const {
    return vcpu_hour == 0 && memory_gib_hour == 0 && disk_gib_month == 0;
  }
};

/// One line of an invoice: one sandbox's month, with what each resource
/// costs (each rounded down to a micro-unit, once, here).
struct invoice_line {
  std::string sandbox_id;
  std::string template_id;
  uint64_t sandbox_ms = 0;
  uint64_t vcpu_ms = 0;
  uint64_t memory_mib_ms = 0;
  uint64_t disk_mib_ms = 0;
  int64_t vcpu_micros = 0;
  int64_t memory_micros = 0;
  int64_t disk_micros = 0;
  int64_t amount_micros = 0;
};

/// A month's invoice of a team: final once the month is over and stored,
/// a draft before.
struct invoice {
  std::string team_id;
  /// "2026-12".
  std::string month;
  /// draft or final.
  std::string status;
  price_list prices;
  std::vector<invoice_line> lines;
  int64_t total_micros = 0;
};

/// What a billing run did for a team.
struct charge_result {
  std::string team_id;
  /// Charged now (0 when nothing new was due).
  int64_t charged_micros = 0;
  int64_t balance_micros = 0;
  /// When the balance ran out (Unix ms), 0 while there is credit.
  int64_t frozen_since_ms = 0;
};

/// A user's place in a team.
struct membership_record {
  std::string team_id;
  std::string team_slug;
  std::string team_name;
  /// owner, admin, member or viewer.
  std::string role;
};

/// A member of a team as the team sees them; `invited` for an address that
/// has no account yet (it joins when it registers).
struct member_record {
  /// Empty while invited.
  std::string user_id;
  std::string email;
  std::string role;
  bool invited = false;
  /// Joined or invited, Unix ms.
  int64_t since_ms = 0;
};

/// A console session.
struct session_record {
  std::string id;
  std::string user_id;
  int64_t expires_at_ms = 0;
  bool revoked = false;
};

/// An API key as listed (never the key itself).
struct api_key_row {
  std::string id;
  std::string name;
  /// The first characters, to tell keys apart.
  std::string prefix;
  std::vector<std::string> scopes;
  /// The creator's email and id; empty for keys made by the system.
  std::string created_by;
  std::string created_by_id;
  /// Unix ms; 0 for never (last use, expiry) or not (revocation).
  int64_t created_at_ms = 0;
  int64_t last_used_at_ms = 0;
  int64_t expires_at_ms = 0;
  int64_t revoked_at_ms = 0;
};

/// A line of the audit log as read back.
struct audit_row {
  int64_t id = 0;
  /// Unix ms.
  int64_t at_ms = 0;
  audit_record entry;
};

/// Which lines of the audit log to read: a team's, between two times, of
/// one action, newest first.
struct audit_query {
  std::string team_id;
  /// Unix ms; 0 for no bound.
  int64_t from_ms = 0;
  int64_t to_ms = 0;
  /// An action ("sandbox.kill") or a prefix ending in '.' ("sandbox.").
  std::string action;
  unsigned limit = 100;
  /// Only lines older than this id (paging); 0 for the newest.
  int64_t before_id = 0;
};

/// An API key as the store knows it (never the key itself).
struct api_key_record {
  std::string key_id;
  std::string team_id;
  std::string team_slug;
  std::vector<std::string> scopes;
  /// The team's plan and limit overrides, so that its limits travel with
  /// the key.
  std::string plan;
  std::map<std::string, int64_t> limits;
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

  // -- usage ------------------------------------------------------------------

  /// Stores usage records in one transaction; a record whose id is stored
  /// already is skipped. Answers how many were new.
  virtual caf::expected<size_t>
  record_usage(const std::vector<usage_record>& records) = 0;

  /// Milliseconds the team's sandboxes ran this calendar month (UTC), from
  /// the usage records.
  virtual caf::expected<uint64_t> month_sandbox_ms(const std::string& team_id)
    = 0;

  /// A team's usage per day between two times (Unix ms): totals, per
  /// template (template_id set) and per API key (api_key_id set, the
  /// others "*").
  virtual caf::expected<std::vector<usage_day>>
  usage_days(const std::string& team_id, int64_t from_ms, int64_t to_ms) = 0;

  /// Lines of the audit log, newest first.
  virtual caf::expected<std::vector<audit_row>>
  read_audit(const audit_query& q) = 0;

  // -- accounts ---------------------------------------------------------------

  /// Creates a user, their own team (they own it) and the memberships their
  /// invitations promised, in one transaction; ec::already_exists when the
  /// email is taken. Answers the user and their team.
  virtual caf::expected<std::pair<user_record, team_record>>
  register_user(const std::string& email, const std::string& password_hash)
    = 0;

  /// A user by email (case-insensitive); ec::not_found when none.
  virtual caf::expected<user_record>
  find_user_by_email(const std::string& email) = 0;

  /// A user by id; ec::not_found when none.
  virtual caf::expected<user_record> find_user(const std::string& id) = 0;

  /// The teams a user belongs to, with the role in each.
  virtual caf::expected<std::vector<membership_record>>
  memberships(const std::string& user_id) = 0;

  /// Starts a session whose refresh token has SHA-256 `refresh_hash`;
  /// answers its id.
  virtual caf::expected<std::string>
  create_session(const std::string& user_id, const std::string& refresh_hash,
                 int64_t expires_at_ms, const std::string& remote_addr)
    = 0;

  /// A session by id; ec::not_found when none.
  virtual caf::expected<session_record> find_session(const std::string& id)
    = 0;

  /// Replaces the refresh token `old_hash` by `new_hash`. A token that was
  /// replaced before (used twice: stolen) revokes its session; an unknown,
  /// revoked or expired one is ec::unauthenticated.
  virtual caf::expected<session_record>
  rotate_session(const std::string& old_hash, const std::string& new_hash,
                 int64_t expires_at_ms)
    = 0;

  /// Ends a session (logout).
  virtual caf::error revoke_session(const std::string& id) = 0;

  // -- billing ----------------------------------------------------------------

  /// The month's invoice lines of a team (month given by its first day,
  /// "2026-12-01"), priced with `prices`.
  virtual caf::expected<std::vector<invoice_line>>
  invoice_lines(const std::string& team_id, const std::string& month,
                const price_list& prices)
    = 0;

  /// Charges a team what its usage this month costs beyond what was
  /// charged for the month already, in one transaction with its balance;
  /// marks the team frozen when the balance is used up (and unfreezes it
  /// when it is not).
  virtual caf::expected<charge_result>
  charge_usage(const std::string& team_id, const std::string& month,
               const price_list& prices)
    = 0;

  /// Adds credit to a team (id or slug); answers the new balance.
  virtual caf::expected<charge_result>
  credit(const std::string& team, int64_t amount_micros,
         const std::string& reference, const std::string& created_by)
    = 0;

  /// Stores a month's invoice as final (once: a second call changes
  /// nothing); answers the stored one.
  virtual caf::expected<invoice> finalize_invoice(const invoice& draft) = 0;

  /// A stored (final) invoice; ec::not_found when the month has none.
  virtual caf::expected<invoice> final_invoice(const std::string& team_id,
                                               const std::string& month)
    = 0;

  /// The months a team has final invoices for, newest first (lines empty).
  virtual caf::expected<std::vector<invoice>>
  final_invoices(const std::string& team_id) = 0;

  // -- teams ------------------------------------------------------------------

  /// Creates a team owned by `user_id`; ec::already_exists when the slug is
  /// taken.
  virtual caf::expected<team_record> create_team(const std::string& user_id,
                                                 const std::string& slug,
                                                 const std::string& name)
    = 0;

  /// The role of a user in a team (by id or slug), with the team;
  /// ec::not_found when either is unknown or the user is no member.
  virtual caf::expected<std::pair<team_record, std::string>>
  role_in(const std::string& team, const std::string& user_id) = 0;

  /// Members and invitations of a team.
  virtual caf::expected<std::vector<member_record>>
  team_members(const std::string& team_id) = 0;

  /// Adds the user with this email (or invites the address when it has no
  /// account yet); ec::already_exists when they are a member.
  virtual caf::expected<member_record>
  add_member(const std::string& team_id, const std::string& email,
             const std::string& role, const std::string& invited_by)
    = 0;

  /// Changes a member's role; ec::conflict when it would leave the team
  /// without an owner.
  virtual caf::expected<member_record>
  set_role(const std::string& team_id, const std::string& user_id,
           const std::string& role)
    = 0;

  /// Removes a member (or an invitation, by email); ec::conflict when it
  /// would leave the team without an owner.
  virtual caf::error remove_member(const std::string& team_id,
                                   const std::string& member)
    = 0;

  // -- API keys ---------------------------------------------------------------

  /// Stores a new key (its hash and prefix); answers it as listed.
  virtual caf::expected<api_key_row>
  create_api_key(const std::string& team_id, const std::string& created_by,
                 const std::string& name, const auth::api_key& key,
                 const std::vector<std::string>& scopes, int64_t expires_at_ms)
    = 0;

  /// A team's keys, newest first, revoked ones included.
  virtual caf::expected<std::vector<api_key_row>>
  api_keys(const std::string& team_id) = 0;

  /// Revokes a key of the team; ec::not_found when it has no such key.
  /// Answers the key with who made it (user id in `created_by`).
  virtual caf::expected<api_key_row>
  revoke_api_key(const std::string& team_id, const std::string& key_id) = 0;

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

#pragma once

#include "actors/interfaces.hpp"

#include <functional>
#include <map>
#include <string>

namespace sbx {

/// The limits of a plan (free, pro, enterprise) with a team's overrides
/// (max_sandboxes, max_vcpu, max_memory_mb, max_lifetime_s, rate_create,
/// rate_control, max_sandbox_hours) applied.
team_limits limits_of(const std::string& plan,
                      const std::map<std::string, int64_t>& overrides);

struct user_state {
  static inline const char* name = "user";

  /// What one sandbox (or one reservation for it) holds.
  struct hold {
    unsigned vcpu = 0;
    uint64_t memory_mb = 0;
    /// When its timeout passes (Unix ms), for Retry-After.
    int64_t end_at_ms = 0;
  };

  std::string team;
  team_limits limits;
  /// By reservation key until committed, then by sandbox id.
  std::map<std::string, hold> holds;
  /// Milliseconds its sandboxes ran this month, as billing last counted.
  uint64_t month_ms = 0;
  /// Its prepaid balance is used up (billing says so).
  bool frozen = false;
};

/// One team: checks a create against the team's limits and counts what the
/// team holds. Its limits come from PostgreSQL at start (the plan's
/// defaults while PostgreSQL cannot be read) and from operators later.
user_actor::behavior_type user(user_actor::stateful_pointer<user_state> self,
                               std::string team,
                               std::function<database_actor()> database);

} // namespace sbx

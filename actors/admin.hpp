#pragma once

#include "actors/interfaces.hpp"

#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <string>

namespace sbx {

struct admin_config {
  std::function<scheduler_actor()> scheduler;
  std::function<directory_actor()> directory;
  std::function<database_actor()> database;
  std::function<billing_actor()> billing;
  /// Knows the nodes and gateways, to change their log levels.
  std::function<door_actor()> door;
  /// Deadline of each request a command makes.
  std::chrono::milliseconds timeout{10'000};
  /// Sessions kept at most; the oldest is dropped beyond.
  size_t max_sessions = 256;
};

struct admin_state {
  static inline const char* name = "admin";

  /// An operator admitted by the door.
  struct session {
    std::string operator_name;
    /// The operator's host as the control sees it.
    std::string address;
  };

  admin_config cfg;
  std::map<std::string, session> sessions;
  /// Session tokens, oldest first.
  std::deque<std::string> order;
};

/// Runs operator commands (actors/admin_commands.hpp) against the
/// scheduler, the directory, PostgreSQL and every member process, and
/// writes each change to the audit log as the operator who made it.
admin_actor::behavior_type admin(admin_actor::stateful_pointer<admin_state> self,
                                 admin_config cfg);

} // namespace sbx

#pragma once

#include "actors/interfaces.hpp"

#include <caf/io/middleman_actor.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <vector>
#include <string>

namespace sbx {

struct admin_client_config {
  /// The operator's name, as the audit log records it.
  std::string name;
  /// The control's cluster address.
  std::string host;
  uint16_t port = 0;
  /// Connects to the control (plain or TLS).
  caf::io::middleman_actor middleman;
  std::string secret;
  std::string admin_token;
  /// Deadline of one command.
  std::chrono::milliseconds timeout{30'000};
};

struct admin_client_state {
  static inline const char* name = "admin-client";

  admin_client_config cfg;
  door_actor door;
  admin_actor admin;
  std::string session;
  bool joining = false;
  /// Told when the join under way succeeds (no error) or fails.
  std::vector<std::function<void(const caf::error&)>> waiting;
  /// Commands sent to the control, by number: failed at once when it goes
  /// away.
  std::map<uint64_t, caf::typed_response_promise<std::string>> in_flight;
  uint64_t next_id = 0;
  /// Following events: told (lost, why) when the control goes away.
  std::vector<caf::actor> sinks;
};

/// The shell's side of `sandhive admin` (see admin_client_actor).
admin_client_actor::behavior_type
admin_client(admin_client_actor::stateful_pointer<admin_client_state> self,
             admin_client_config cfg);

} // namespace sbx

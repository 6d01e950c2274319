#pragma once

#include "actors/interfaces.hpp"

#include <caf/io/middleman_actor.hpp>

#include <deque>
#include <functional>
#include <string>

namespace sbx {

struct door_config {
  std::string secret;
  /// What operators prove besides the secret; empty admits no operator.
  std::string admin_token;
  /// The control's live actors.
  std::function<cluster_handles()> handles;
  /// Tells the address of a remote process (for the audit log); may be
  /// null.
  caf::io::middleman_actor middleman;
};

struct door_state {
  static inline const char* name = "door";
  door_config cfg;
  /// Nonces handed out and not used yet, oldest first (bounded).
  std::deque<std::string> nonces;
  /// The nodes' and gateways' member actors admitted, while connected.
  std::vector<caf::actor> members;
};

/// The proof a process sends to join: HMAC-SHA256(secret, nonce|role|name).
std::string join_proof(const std::string& secret, const std::string& nonce,
                       const std::string& role, const std::string& name);

/// The proof an operator adds: HMAC-SHA256(admin token, nonce|name).
std::string admin_proof(const std::string& token, const std::string& nonce,
                        const std::string& name);

/// Admits the processes that prove they know the cluster secret (see
/// door_actor) and hands them the control's live actors; operators, who
/// also prove the admin token, get a session with the admin actor only.
door_actor::behavior_type door(door_actor::stateful_pointer<door_state> self,
                               door_config cfg);

} // namespace sbx

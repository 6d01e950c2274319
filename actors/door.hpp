#pragma once

#include "actors/interfaces.hpp"

#include <deque>
#include <functional>
#include <string>

namespace sbx {

struct door_state {
  static inline const char* name = "door";
  std::string secret;
  /// Nonces handed out and not used yet, oldest first (bounded).
  std::deque<std::string> nonces;
  std::function<cluster_handles()> handles;
};

/// The proof a process sends to join: HMAC-SHA256(secret, nonce|role|name).
std::string join_proof(const std::string& secret, const std::string& nonce,
                       const std::string& role, const std::string& name);

/// Admits the processes that prove they know the cluster secret (see
/// door_actor) and hands them the control's live actors.
door_actor::behavior_type door(door_actor::stateful_pointer<door_state> self,
                               std::string secret,
                               std::function<cluster_handles()> handles);

} // namespace sbx

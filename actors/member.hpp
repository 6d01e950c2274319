#pragma once

#include "actors/interfaces.hpp"

#include <caf/io/middleman_actor.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <utility>

namespace sbx {

struct member_config {
  /// node or gateway.
  std::string role;
  std::string name;
  /// The control's cluster address...
  std::string host;
  uint16_t port = 0;
  /// ...or its door in this very process (`sandhive up`).
  door_actor door;
  /// Connects to the control and to nodes (plain or TLS).
  caf::io::middleman_actor middleman;
  std::string secret;
  /// Role node: the (live) node to register, and where gateways reach it.
  std::function<node_actor()> node;
  std::string address;
  std::chrono::milliseconds heartbeat{1000};
  /// Told the control's handles on every join, and empty ones on losing it.
  std::function<void(const cluster_handles&)> on_join;
  /// Told why the control refused this process for good (wrong secret,
  /// nonsense capacity); the member then stops trying.
  std::function<void(const caf::error&)> on_refused;
};

struct member_state {
  static inline const char* name = "member";
  member_config cfg;
  door_actor door;
  cluster_handles handles;
  bool joined = false;
  bool joining = false;
  /// Gateways: the node addresses connected to directly, so that data goes
  /// gateway → node without passing through the control.
  std::set<std::string> connected;
  /// Gateways: each node's beacon → its (address, name); the beacon's down
  /// message says the direct connection dropped.
  std::map<caf::actor_addr, std::pair<std::string, std::string>> beacons;
  unsigned missed = 0;
  /// Why the last attempt to join failed, for readiness.
  std::string last_error = "joining";
};

/// Keeps a node or gateway process in the cluster (see member_actor).
member_actor::behavior_type
member(member_actor::stateful_pointer<member_state> self, member_config cfg);

} // namespace sbx

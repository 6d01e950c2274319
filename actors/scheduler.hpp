#pragma once

#include "actors/interfaces.hpp"
#include "actors/placement.hpp"

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace sbx {

class metrics;

struct scheduler_config {
  placement::options placement;
  /// A node silent for this long is lost (a killed one is seen at once
  /// through its connection).
  std::chrono::milliseconds node_timeout{5000};
  /// How long a node may take to start a sandbox.
  std::chrono::milliseconds start_timeout{60'000};
  /// Nodes tried per create at most.
  unsigned max_tries = 3;
  std::function<database_actor()> database;
  std::function<directory_actor()> directory;
  /// Placement, creates and the node table go here; may be null.
  metrics* stats = nullptr;
};

struct scheduler_state {
  static inline const char* name = "scheduler";

  /// What the table does not hold about a node.
  struct node_entry {
    node_actor handle;
    std::string address;
    std::vector<template_info> templates;
    /// Warm sandboxes each of its pools keeps.
    std::map<std::string, unsigned> pool_size;
    std::chrono::steady_clock::time_point last_heartbeat;
    int64_t last_heartbeat_ms = 0;
    int64_t drain_deadline_ms = 0;
    /// Reserved by starts in flight, added to what the node reports.
    unsigned inflight_vcpu = 0;
    uint64_t inflight_memory_mb = 0;
  };

  /// One create, through its tries.
  struct attempt {
    uint64_t id = 0;
    /// The user actor's reservation key.
    std::string key;
    sandbox_request req;
    caf::typed_response_promise<sandbox_actor, sandbox_info> rp;
    unsigned tries = 0;
    std::vector<size_t> excluded;
    /// The node asked now.
    size_t node = 0;
    /// Grows when the node asked is given up (lost), so that its late
    /// answer is ignored.
    uint64_t generation = 0;
    std::string last_error;
  };

  scheduler_config cfg;
  /// Index-aligned: the placement table and the rest. A node keeps its slot
  /// (not ready) when lost, and gets it back when it joins again.
  std::vector<placement::node> table;
  std::vector<node_entry> nodes;
  std::map<std::string, size_t> by_name;
  std::map<std::string, user_actor> users;
  std::map<uint64_t, std::shared_ptr<attempt>> inflight;
  uint64_t next_id = 0;
  scheduler_stats counters;
  std::mt19937_64 rng{std::random_device{}()};
};

/// Places sandboxes: reserves the team's quota in its user actor, picks a
/// node (placement::place), asks it, and on failure tries another node.
/// Keeps the node table from joins and heartbeats; a node whose connection
/// drops or that misses heartbeats for `node_timeout` is lost: its starts
/// in flight are retried elsewhere and the directory ends its sandboxes.
scheduler_actor::behavior_type
scheduler(scheduler_actor::stateful_pointer<scheduler_state> self,
          scheduler_config cfg);

/// Why a node's self-description cannot be accepted ("" when it can).
std::string invalid_registration(const node_load& load);

} // namespace sbx

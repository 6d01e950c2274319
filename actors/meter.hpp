#pragma once

#include "actors/interfaces.hpp"

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <string>

namespace sbx {

struct meter_config {
  /// The node's name, recorded with the usage.
  std::string node_name;
  std::function<node_actor()> node;
  /// Empty while the node is not in a cluster.
  std::function<billing_actor()> billing;
  std::chrono::milliseconds interval{10'000};
  /// Records kept waiting at most; beyond, each sandbox's are merged into
  /// one (exact: their periods follow each other).
  size_t max_pending = 50'000;
  /// Where waiting usage survives a restart (empty: memory only).
  std::string spool;
};

struct meter_state {
  static inline const char* name = "meter";

  /// What the meter knew of a sandbox at its last sample.
  struct sample {
    int64_t at_ms = 0;
    uint64_t cpu_usec = 0;
    uint64_t disk_bytes = 0;
    sandbox_info info;
  };

  meter_config cfg;
  std::map<std::string, sample> seen;
  /// Measured, not yet confirmed by billing; the first `sending` of them
  /// are on their way.
  std::deque<usage_record> pending;
  size_t sending = 0;
  /// The node the meter follows the events of.
  node_actor following;
  bool sampling = false;
};

/// Measures a node's sandboxes every `interval`: from each sandbox's cgroup
/// the CPU time used, and what it holds (vCPUs and memory while running,
/// its disk always) integrated over the period; and the last stretch when
/// a sandbox ends. Usage waits (in `spool` too) until billing confirms it
/// is stored; a resend is stored once, by the records' ids.
meter_actor::behavior_type meter(meter_actor::stateful_pointer<meter_state> self,
                                 meter_config cfg);

/// Merges each sandbox's records into one covering them all.
std::deque<usage_record> merge_by_sandbox(const std::deque<usage_record>& xs);

} // namespace sbx

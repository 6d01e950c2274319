#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

/// Where a new sandbox goes: a pure function of the scheduler's node table,
/// so that it can be tested and measured without actors or machines.
namespace sbx::placement {

/// One node as the scheduler sees it. `*_used` include what the scheduler
/// reserved for starts in flight, so a burst of creates never sees a node
/// emptier than it is about to be.
struct node {
  std::string name;
  bool ready = true;
  bool cordoned = false;
  bool draining = false;
  unsigned vcpu_capacity = 0;
  uint64_t memory_capacity_mb = 0;
  unsigned max_sandboxes = 0;
  unsigned vcpu_used = 0;
  uint64_t memory_used_mb = 0;
  unsigned sandboxes = 0;
  /// Starts sent to the node and not yet answered.
  unsigned starting = 0;
  /// Templates the node can start.
  std::vector<std::string> templates;
  /// Warm sandboxes ready per template.
  std::map<std::string, unsigned> warm;
};

/// What a sandbox needs.
struct request {
  std::string template_id;
  unsigned vcpu = 1;
  uint64_t memory_mb = 512;
};

struct options {
  /// Candidates sampled per decision (power of K choices).
  unsigned sample = 3;
  /// vCPUs promised per vCPU of capacity (a vCPU is a CFS cap, not a
  /// reservation); memory is never overcommitted.
  double vcpu_overcommit = 1.0;
  /// Score taken off a node with a warm sandbox of the template.
  double warm_bonus = 0.25;
  /// Score added per start in flight, so concurrent creates spread.
  double starting_penalty = 0.05;
};

/// Whether a node can take a request (ready, schedulable, has the template
/// and room).
bool fits(const node& n, const request& r, const options& o);

/// Why a node cannot take a request ("" when it can).
std::string unfit(const node& n, const request& r, const options& o);

/// How loaded a node is (lower is better): the fullest of its vCPU, memory
/// and sandbox-count shares, plus the in-flight penalty, minus the warm
/// bonus.
double score(const node& n, const request& r, const options& o);

/// The outcome of a decision.
struct decision {
  /// Index into the node table; empty when no node fits.
  std::optional<size_t> node;
  /// Why nothing fits (the most common reason among the nodes).
  std::string reason;
};

/// Picks a node for `r`: samples up to `o.sample` nodes that fit (random
/// probes first, one scan with reservoir sampling only when the probes find
/// none), and takes the lowest score. Nodes whose index is in `excluded` (they failed or refused
/// this request already) are skipped.
decision place(const std::vector<node>& nodes, const request& r,
               const options& o, std::mt19937_64& rng,
               const std::vector<size_t>& excluded = {});

/// Books a decision in the table: the resources are reserved and a start is
/// in flight until `settle` is called with the node's answer.
void reserve(node& n, const request& r);

/// Ends a start in flight: on success the sandbox counts as running; on
/// failure its reservation is returned.
void settle(node& n, const request& r, bool started);

/// A sandbox of the node ended: its resources and its place are free again
/// at once, not only from the node's next report.
void release(node& n, const request& r);

} // namespace sbx::placement

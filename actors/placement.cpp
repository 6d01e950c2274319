#include "actors/placement.hpp"

#include <algorithm>

namespace sbx::placement {

namespace {

/// Random probes per candidate wanted before falling back to a full scan:
/// enough to find K candidates when one node in ten has room.
constexpr unsigned probes_per_sample = 16;

bool excluded_index(const std::vector<size_t>& excluded, size_t i) {
  return std::find(excluded.begin(), excluded.end(), i) != excluded.end();
}

} // namespace

bool fits(const node& n, const request& r, const options& o) {
  return n.ready && !n.cordoned && !n.draining
         && n.sandboxes + n.starting < n.max_sandboxes
         && static_cast<double>(n.vcpu_used + r.vcpu)
              <= static_cast<double>(n.vcpu_capacity) * o.vcpu_overcommit
         && n.memory_used_mb + r.memory_mb <= n.memory_capacity_mb
         && std::find(n.templates.begin(), n.templates.end(), r.template_id)
              != n.templates.end();
}

std::string unfit(const node& n, const request& r, const options& o) {
  if (!n.ready)
    return "not ready";
  if (n.cordoned)
    return "cordoned";
  if (n.draining)
    return "draining";
  if (std::find(n.templates.begin(), n.templates.end(), r.template_id)
      == n.templates.end())
    return "no template '" + r.template_id + "'";
  if (n.sandboxes + n.starting >= n.max_sandboxes)
    return "sandbox count";
  if (static_cast<double>(n.vcpu_used + r.vcpu)
      > static_cast<double>(n.vcpu_capacity) * o.vcpu_overcommit)
    return "vCPU";
  if (n.memory_used_mb + r.memory_mb > n.memory_capacity_mb)
    return "memory";
  return {};
}

double score(const node& n, const request& r, const options& o) {
  auto share = [](double used, double cap) {
    return cap > 0 ? used / cap : 1.0;
  };
  auto load = std::max({share(n.vcpu_used, n.vcpu_capacity * o.vcpu_overcommit),
                        share(static_cast<double>(n.memory_used_mb),
                              static_cast<double>(n.memory_capacity_mb)),
                        share(n.sandboxes + n.starting, n.max_sandboxes)});
  load += o.starting_penalty * n.starting;
  auto w = n.warm.find(r.template_id);
  if (w != n.warm.end() && w->second > 0)
    load -= o.warm_bonus;
  return load;
}

decision place(const std::vector<node>& nodes, const request& r,
               const options& o, std::mt19937_64& rng,
               const std::vector<size_t>& excluded) {
  decision d;
  if (nodes.empty()) {
    d.reason = "no nodes in the cluster";
    return d;
  }
  auto want = std::max(1u, o.sample);
  std::vector<size_t> picks;
  picks.reserve(want);
  auto eligible = [&](size_t i) {
    return !excluded_index(excluded, i) && fits(nodes[i], r, o);
  };
  // Sampling keeps a decision O(K) in a big cluster that has room.
  std::uniform_int_distribution<size_t> any(0, nodes.size() - 1);
  for (unsigned probe = 0; probe < want * probes_per_sample
                           && picks.size() < want;
       ++probe) {
    auto i = any(rng);
    if (std::find(picks.begin(), picks.end(), i) == picks.end() && eligible(i))
      picks.push_back(i);
  }
  if (picks.empty()) {
    // Probes found nothing (a nearly full cluster): one pass over all nodes,
    // keeping a uniform sample of K of those that fit (reservoir sampling).
    // Probes that found fewer than K candidates are good enough: the choice
    // among fewer is still a random, load-aware one.
    size_t seen = 0;
    for (size_t i = 0; i < nodes.size(); ++i) {
      if (!eligible(i))
        continue;
      ++seen;
      if (picks.size() < want) {
        picks.push_back(i);
      } else {
        auto j = std::uniform_int_distribution<size_t>(0, seen - 1)(rng);
        if (j < want)
          picks[j] = i;
      }
    }
  }
  if (picks.empty()) {
    // Only now is it worth saying why.
    std::map<std::string, size_t> reasons;
    for (size_t i = 0; i < nodes.size(); ++i)
      ++reasons[excluded_index(excluded, i) ? "failed already"
                                            : unfit(nodes[i], r, o)];
    auto top = std::max_element(reasons.begin(), reasons.end(),
                                [](auto& a, auto& b) {
                                  return a.second < b.second;
                                });
    d.reason = "no node can take the sandbox (" + std::to_string(nodes.size())
               + " nodes; most often: " + top->first + ")";
    return d;
  }
  d.node = *std::min_element(picks.begin(), picks.end(),
                             [&](size_t a, size_t b) {
                               return score(nodes[a], r, o)
                                      < score(nodes[b], r, o);
                             });
  return d;
}

void reserve(node& n, const request& r) {
  n.vcpu_used += r.vcpu;
  n.memory_used_mb += r.memory_mb;
  ++n.starting;
  auto w = n.warm.find(r.template_id);
  if (w != n.warm.end() && w->second > 0)
    --w->second;
}

void settle(node& n, const request& r, bool started) {
  if (n.starting > 0)
    --n.starting;
  if (started) {
    ++n.sandboxes;
    return;
  }
  n.vcpu_used -= std::min(n.vcpu_used, r.vcpu);
  n.memory_used_mb -= std::min(n.memory_used_mb, r.memory_mb);
}

void release(node& n, const request& r) {
  n.vcpu_used -= std::min(n.vcpu_used, r.vcpu);
  n.memory_used_mb -= std::min(n.memory_used_mb, r.memory_mb);
  if (n.sandboxes > 0)
    --n.sandboxes;
}

} // namespace sbx::placement

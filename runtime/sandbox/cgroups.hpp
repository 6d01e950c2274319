#pragma once

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <sys/types.h>

namespace sbx {

/// Resource limits of one sandbox.
struct cgroup_limits {
  /// CPU time as a CFS quota of `vcpu` cores.
  unsigned vcpu = 1;
  uint64_t memory_bytes = 512ull << 20;
  /// Processes and threads at most (fork bombs stop here).
  unsigned pids = 1024;
};

/// What a sandbox's cgroup reports.
struct cgroup_stats {
  uint64_t cpu_usec = 0;
  uint64_t memory_bytes = 0;
  uint64_t memory_limit = 0;
  uint64_t oom_kills = 0;
  uint64_t pids = 0;
};

/// The cgroups of the sandboxes of one node, under a parent group
/// (`sandhive`) in each hierarchy. Cgroup v1 (one hierarchy per controller)
/// and v2 (unified) look alike from here; `make_cgroups` picks by what the
/// host mounts.
class cgroups {
public:
  virtual ~cgroups() = default;

  /// "v1" or "v2".
  virtual const char* version() const = 0;

  /// Creates the group `name` with `limits`.
  virtual caf::error create(const std::string& name,
                            const cgroup_limits& limits) = 0;

  /// Moves `pid` into group `name`.
  virtual caf::error add(const std::string& name, pid_t pid) = 0;

  /// Freezes (pause) or thaws (resume) every process of the group, waiting
  /// until the kernel reports the new state.
  virtual caf::error freeze(const std::string& name, bool frozen) = 0;

  virtual caf::expected<cgroup_stats> stats(const std::string& name) = 0;

  /// Kills every process of the group.
  virtual caf::error kill_all(const std::string& name) = 0;

  /// Removes the group; it must be empty (kill_all first).
  virtual caf::error remove(const std::string& name) = 0;

  /// The groups that exist now (for the cleanup after a crash).
  virtual std::vector<std::string> list() = 0;

  /// Removes the parent group if no group is left in it (a node's graceful
  /// stop); the kernel refuses while one is. The parent is sandhive's own
  /// (named after the node's data dir), never an operator's group.
  virtual void release() = 0;
};

using cgroups_ptr = std::unique_ptr<cgroups>;

/// Picks v2 when `root` is a unified hierarchy (it has cgroup.controllers),
/// v1 otherwise. `root` is /sys/fs/cgroup on a real host and a plain
/// directory tree in tests.
caf::expected<cgroups_ptr> make_cgroups(const std::string& root,
                                        const std::string& parent);

} // namespace sbx

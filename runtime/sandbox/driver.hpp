#pragma once

#include "runtime/sandbox/cgroups.hpp"

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <sys/types.h>

namespace sbx {

/// Root inside every sandbox is this unprivileged host uid (and gid); the
/// sandbox's ids 0…65535 map to host ids from here. All sandboxes share the
/// range: the template's files can then be owned by the mapped root once,
/// for every sandbox, while pid, mount, ipc, network and cgroup namespaces
/// keep sandboxes from seeing or signalling each other.
constexpr uint32_t sandbox_uid_base = 100000;
constexpr uint32_t sandbox_uid_count = 65536;

/// What to start.
struct sandbox_spec {
  std::string id;
  /// The template's root filesystem: the read-only lower layer.
  std::string rootfs;
  std::string hostname;
  cgroup_limits limits;
  /// Size of the writable layer; writes past it fail with ENOSPC.
  uint64_t disk_bytes = 1ull << 30;
};

/// A started sandbox: the node's end of the socket to its envd, and envd's
/// host pid.
struct sandbox_process {
  int envd_fd = -1;
  pid_t pid = 0;
};

/// Resource use of a sandbox.
struct sandbox_usage {
  cgroup_stats cgroup;
  uint64_t disk_bytes = 0;
  uint64_t disk_limit = 0;
};

/// Runs sandboxes on this machine. The Linux driver isolates them with
/// namespaces, an overlay root, cgroups and seccomp; a microVM driver could
/// sit behind the same interface, with envd reached over virtio instead of a
/// socket pair. Implementations are thread-safe and block: call them from
/// detached actors.
class driver {
public:
  virtual ~driver() = default;

  /// Makes the sandbox's writable layer and cgroup and starts envd as PID 1
  /// of its fresh namespaces. The caller owns `envd_fd`.
  virtual caf::expected<sandbox_process> create(const sandbox_spec& spec) = 0;

  /// Freezes every process (pause keeping memory).
  virtual caf::error pause(const std::string& id) = 0;

  /// Thaws a paused sandbox.
  virtual caf::error resume(const std::string& id) = 0;

  /// Ends every process but keeps the filesystem (pause without memory).
  virtual caf::error stop(const std::string& id) = 0;

  /// Starts envd again on the kept filesystem of a stopped sandbox.
  virtual caf::expected<sandbox_process> restart(const std::string& id) = 0;

  /// Ends every process and removes the filesystem, mounts and cgroup.
  virtual caf::error destroy(const std::string& id) = 0;

  virtual caf::expected<sandbox_usage> usage(const std::string& id) = 0;

  /// Removes whatever an earlier run of this node left behind (after a
  /// crash); returns the ids it cleaned.
  virtual std::vector<std::string> cleanup() = 0;

  /// The sandboxes this driver runs now.
  virtual std::vector<std::string> running() const = 0;
};

using driver_ptr = std::unique_ptr<driver>;

struct linux_driver_config {
  /// Per-sandbox directories (writable layer mount, overlay mount point).
  std::string run_dir;
  /// The sandhive-envd binary.
  std::string envd_path;
  /// Where the host mounts cgroups.
  std::string cgroup_root = "/sys/fs/cgroup";
  /// This node's parent cgroup; distinct per node on one machine.
  std::string cgroup_parent = "sandhive";
};

/// The default driver. Fails when the host lacks what it needs (cgroups,
/// overlayfs, user namespaces), saying what.
caf::expected<driver_ptr> make_linux_driver(linux_driver_config cfg);

/// Moves this process into a mount namespace of its own, so that the
/// sandboxes' mounts are invisible to the host and vanish with the process.
/// Must be called while the process has a single thread.
caf::error isolate_mounts();

} // namespace sbx

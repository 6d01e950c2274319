#pragma once

#include <caf/expected.hpp>

#include <linux/filter.h>

#include <vector>

namespace sbx {

/// The sandboxes' seccomp deny-list, compiled once (with libseccomp) into a
/// BPF program that a freshly cloned child can load with a bare prctl, since
/// a child of a multi-threaded process may not allocate.
///
/// Denied with EPERM: kernel modules, kexec, bpf, perf, keyrings, mounting
/// and namespaces (mount, umount2, pivot_root, unshare, setns, the new mount
/// API, clone with CLONE_NEWUSER), reboot, swap, clock and time changes,
/// accounting, quotas, ptrace-like access by handle, userfaultfd, iopl and
/// ioperm. clone3 answers ENOSYS (its flags cannot be inspected) so that libc
/// falls back to clone.
caf::expected<std::vector<sock_filter>> sandbox_seccomp_filter();

} // namespace sbx

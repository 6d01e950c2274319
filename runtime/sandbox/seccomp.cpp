#include "runtime/sandbox/seccomp.hpp"

#include "actors/error.hpp"

#include <seccomp.h>

#include <cerrno>
#include <cstring>

#include <sched.h>
#include <sys/mman.h>
#include <unistd.h>

namespace sbx {

caf::expected<std::vector<sock_filter>> sandbox_seccomp_filter() {
  auto ctx = seccomp_init(SCMP_ACT_ALLOW);
  if (ctx == nullptr)
    return make_error(ec::system_error, "seccomp_init failed");
  static const char* denied[] = {
    "kexec_load", "kexec_file_load", "init_module", "finit_module",
    "delete_module", "create_module", "bpf", "perf_event_open", "keyctl",
    "add_key", "request_key", "mount", "umount", "umount2", "pivot_root",
    "unshare", "setns", "fsopen", "fsconfig", "fsmount", "fspick",
    "move_mount", "open_tree", "mount_setattr", "reboot", "swapon", "swapoff",
    "settimeofday", "clock_settime", "clock_adjtime", "adjtimex", "stime",
    "acct", "quotactl", "quotactl_fd", "nfsservctl", "lookup_dcookie",
    "open_by_handle_at", "name_to_handle_at", "userfaultfd", "iopl", "ioperm",
    "syslog", "vhangup", "get_kernel_syms", "query_module", "uselib",
    "personality"};
  int rc = 0;
  for (auto name : denied) {
    auto nr = seccomp_syscall_resolve_name(name);
    if (nr == __NR_SCMP_ERROR)
      continue; // not on this architecture
    rc |= seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0);
  }
  rc |= seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
                         SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_NEWUSER,
                                 CLONE_NEWUSER));
  auto clone3 = seccomp_syscall_resolve_name("clone3");
  if (clone3 != __NR_SCMP_ERROR)
    rc |= seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), clone3, 0);
  if (rc != 0) {
    seccomp_release(ctx);
    return make_error(ec::system_error, "cannot build the seccomp filter");
  }
  // Export the BPF through a memfd and read it back.
  int fd = ::memfd_create("sbx-seccomp", MFD_CLOEXEC);
  if (fd < 0 || seccomp_export_bpf(ctx, fd) != 0) {
    seccomp_release(ctx);
    if (fd >= 0)
      ::close(fd);
    return make_error(ec::system_error, "cannot export the seccomp filter");
  }
  seccomp_release(ctx);
  auto size = ::lseek(fd, 0, SEEK_END);
  std::vector<sock_filter> prog(static_cast<size_t>(size) / sizeof(sock_filter));
  auto n = ::pread(fd, prog.data(), static_cast<size_t>(size), 0);
  ::close(fd);
  if (n != size || prog.empty())
    return make_error(ec::system_error, "cannot read the seccomp filter");
  return prog;
}

} // namespace sbx

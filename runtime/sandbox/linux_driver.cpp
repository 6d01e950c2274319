#include "actors/error.hpp"
#include "runtime/log/log.hpp"
#include "runtime/sandbox/driver.hpp"
#include "runtime/sandbox/seccomp.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>

#include <fcntl.h>
#include <grp.h>
#include <linux/seccomp.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

namespace sbx {

namespace fs = std::filesystem;

namespace {

/// Everything the cloned child needs, prepared by the parent: the child of a
/// multi-threaded process may only make system calls, never allocate.
struct child_args {
  std::string merged, lower_upper_work, proc, proc_sys, sys, dev, dev_pts,
    dev_shm, dev_ptmx, hostname, devpts_opts;
  std::vector<std::pair<std::string, std::string>> dev_binds; // host, target
  std::vector<std::pair<std::string, std::string>> dev_links; // target, link
  int sock = -1;      // envd's end of the socket pair
  int envd = -1;      // O_PATH fd of the envd binary
  int to_child = -1;  // read end: go signals from the parent
  int to_parent = -1; // write end: progress and errors
  int parent_ends[2] = {-1, -1}; // the parent's pipe ends, closed at once
  int max_fd = 1024;              // RLIMIT_NOFILE, for the close fallback
  sock_fprog seccomp{};
};

/// Steps of the child, reported with errno when one fails.
enum class step : char {
  wait = 'a', cgroupns, private_root, overlay, proc, proc_sys, sys, dev,
  devpts, shm, hostname, loopback, pivot, userns, ids, seccomp, exec
};

const char* step_name(char s) {
  switch (static_cast<step>(s)) {
    case step::wait: return "waiting for the parent";
    case step::cgroupns: return "entering a cgroup namespace";
    case step::private_root: return "making mounts private";
    case step::overlay: return "mounting the overlay root";
    case step::proc: return "mounting /proc";
    case step::proc_sys: return "making /proc/sys read-only";
    case step::sys: return "mounting /sys";
    case step::dev: return "building /dev";
    case step::devpts: return "mounting /dev/pts";
    case step::shm: return "mounting /dev/shm";
    case step::hostname: return "setting the hostname";
    case step::loopback: return "bringing up loopback";
    case step::pivot: return "pivot_root";
    case step::userns: return "entering a user namespace";
    case step::ids: return "becoming root of the user namespace";
    case step::seccomp: return "loading seccomp";
    case step::exec: return "starting envd";
  }
  return "?";
}

[[noreturn]] void child_fail(const child_args& a, step s) {
  char msg[1 + sizeof(int)];
  int e = errno;
  msg[0] = static_cast<char>(s);
  std::memcpy(msg + 1, &e, sizeof(int));
  (void) !::write(a.to_parent, msg, sizeof(msg));
  _exit(127);
}

bool wait_go(const child_args& a) {
  char c;
  return ::read(a.to_child, &c, 1) == 1;
}

int child_main(void* arg) {
  auto& a = *static_cast<child_args*>(arg);
  // Without the parent's ends, a parent that dies mid-setup means EOF here,
  // not a child waiting forever; until our credentials change, its death
  // also kills us outright.
  ::close(a.parent_ends[0]);
  ::close(a.parent_ends[1]);
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  // The parent has put us into our cgroup before this returns.
  if (!wait_go(a))
    child_fail(a, step::wait);
  if (::unshare(CLONE_NEWCGROUP) != 0)
    child_fail(a, step::cgroupns);
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
    child_fail(a, step::private_root);
  // Mounted from the host's user namespace: the sandbox can never unmount
  // or change any of these.
  if (::mount("overlay", a.merged.c_str(), "overlay", MS_NOSUID,
              a.lower_upper_work.c_str())
      != 0)
    child_fail(a, step::overlay);
  if (::mount("proc", a.proc.c_str(), "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC,
              nullptr)
      != 0)
    child_fail(a, step::proc);
  if (::mount(a.proc_sys.c_str(), a.proc_sys.c_str(), nullptr, MS_BIND, nullptr)
        != 0
      || ::mount(nullptr, a.proc_sys.c_str(), nullptr,
                 MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV
                   | MS_NOEXEC,
                 nullptr)
           != 0)
    child_fail(a, step::proc_sys);
  if (::mount("sysfs-placeholder", a.sys.c_str(), "tmpfs",
              MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=4k")
      != 0)
    child_fail(a, step::sys);
  if (::mount("dev", a.dev.c_str(), "tmpfs", MS_NOSUID | MS_NOEXEC,
              "mode=755,size=64k,nr_inodes=64")
      != 0)
    child_fail(a, step::dev);
  for (auto& [host, target] : a.dev_binds) {
    int fd = ::open(target.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0666);
    if (fd < 0)
      child_fail(a, step::dev);
    ::close(fd);
    if (::mount(host.c_str(), target.c_str(), nullptr, MS_BIND, nullptr) != 0)
      child_fail(a, step::dev);
  }
  for (auto& [target, link] : a.dev_links)
    if (::symlink(target.c_str(), link.c_str()) != 0)
      child_fail(a, step::dev);
  if (::mkdir(a.dev_pts.c_str(), 0755) != 0
      || ::mount("devpts", a.dev_pts.c_str(), "devpts", MS_NOSUID | MS_NOEXEC,
                 a.devpts_opts.c_str())
           != 0)
    child_fail(a, step::devpts);
  if (::mkdir(a.dev_shm.c_str(), 01777) != 0
      || ::mount("shm", a.dev_shm.c_str(), "tmpfs", MS_NOSUID | MS_NODEV,
                 "mode=1777,size=64m")
           != 0)
    child_fail(a, step::shm);
  if (::sethostname(a.hostname.data(), a.hostname.size()) != 0)
    child_fail(a, step::hostname);
  {
    // The new network namespace has only lo, and it is down.
    int s = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ifreq ifr{};
    std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
    if (s < 0 || ::ioctl(s, SIOCGIFFLAGS, &ifr) != 0)
      child_fail(a, step::loopback);
    ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
    if (::ioctl(s, SIOCSIFFLAGS, &ifr) != 0)
      child_fail(a, step::loopback);
    ::close(s);
  }
  if (::chdir(a.merged.c_str()) != 0
      || ::syscall(SYS_pivot_root, ".", ".") != 0
      || ::umount2(".", MNT_DETACH) != 0 || ::chdir("/") != 0)
    child_fail(a, step::pivot);
  // Last: the user namespace, owned by us but owning none of the namespaces
  // above, so that root inside has no power over them.
  if (::unshare(CLONE_NEWUSER) != 0)
    child_fail(a, step::userns);
  char u = 'u';
  (void) !::write(a.to_parent, &u, 1);
  if (!wait_go(a))
    child_fail(a, step::wait);
  // Raw system calls: glibc's wrappers broadcast credential changes to every
  // thread it believes exists, and after a bare clone() of a multi-threaded
  // process that can wait forever on a lock another thread held.
  if (::syscall(SYS_setresgid, 0, 0, 0) != 0
      || ::syscall(SYS_setgroups, 0, nullptr) != 0
      || ::syscall(SYS_setresuid, 0, 0, 0) != 0)
    child_fail(a, step::ids);
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0
      || ::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &a.seccomp) != 0)
    child_fail(a, step::seccomp);
  // fd 3: the socket to the node; 4: envd's binary; 5: error reports. Move
  // them out of the way first: a source may sit on a target's number.
  int sock = ::fcntl(a.sock, F_DUPFD_CLOEXEC, 10);
  int envd = ::fcntl(a.envd, F_DUPFD_CLOEXEC, 10);
  int report = ::fcntl(a.to_parent, F_DUPFD_CLOEXEC, 10);
  if (sock < 0 || envd < 0 || report < 0 || ::dup2(sock, 3) < 0
      || ::dup2(envd, 4) < 0 || ::dup2(report, 5) < 0)
    child_fail(a, step::exec);
  ::fcntl(4, F_SETFD, FD_CLOEXEC);
  ::fcntl(5, F_SETFD, FD_CLOEXEC);
  child_args& b = a;
  b.to_parent = 5;
  // No descriptor of the node may reach the sandbox. Before Linux 5.9 there
  // is no close_range: close one by one up to the limit the parent read.
  if (::syscall(SYS_close_range, 6u, ~0u, 0u) != 0)
    for (int fd = 6; fd < a.max_fd; ++fd)
      ::close(fd);
  ::close(0);
  ::close(1);
  ::close(2);
  int null = ::open("/dev/null", O_RDWR);
  ::dup2(null, 1);
  ::dup2(null, 2);
  char arg0[] = "sandhive-envd";
  char* argv[] = {arg0, nullptr};
  char env0[] = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:"
                "/bin";
  char* envp[] = {env0, nullptr};
  ::syscall(SYS_execveat, 4, "", argv, envp, AT_EMPTY_PATH);
  child_fail(b, step::exec);
}

caf::error write_text(const std::string& path, const std::string& text) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0)
    return make_error(ec::system_error,
                      "cannot open " + path + ": " + std::strerror(errno));
  auto n = ::write(fd, text.data(), text.size());
  auto e = errno;
  ::close(fd);
  if (n != static_cast<ssize_t>(text.size()))
    return make_error(ec::system_error,
                      "cannot write " + path + ": " + std::strerror(e));
  return caf::none;
}

class linux_driver final : public driver {
public:
  linux_driver(linux_driver_config cfg, cgroups_ptr cg,
               std::vector<sock_filter> filter)
    : cfg_(std::move(cfg)), cg_(std::move(cg)), filter_(std::move(filter)) {
    // nop
  }

  ~linux_driver() override {
    // The node's parent cgroups go with the node, once its sandboxes have.
    cg_->release();
  }

  caf::expected<sandbox_process> create(const sandbox_spec& spec) override {
    if (spec.id.empty() || spec.id.find('/') != std::string::npos
        || spec.id[0] == '.')
      return make_error(ec::invalid_argument, "bad sandbox id '" + spec.id + "'");
    if (!fs::is_directory(spec.rootfs))
      return make_error(ec::not_found, "no template root at " + spec.rootfs);
    {
      std::lock_guard<std::mutex> guard{mtx_};
      if (boxes_.count(spec.id))
        return make_error(ec::already_exists,
                          "sandbox " + spec.id + " exists already");
      boxes_[spec.id] = {spec, 0};
    }
    auto fail = [&](caf::error err) {
      teardown(spec.id);
      return err;
    };
    if (auto err = make_layer(spec))
      return fail(err);
    if (auto err = cg_->create(spec.id, spec.limits))
      return fail(err);
    auto proc = start(spec);
    if (!proc)
      return fail(proc.error());
    std::lock_guard<std::mutex> guard{mtx_};
    boxes_[spec.id].pid = proc->pid;
    return proc;
  }

  caf::error pause(const std::string& id) override {
    if (!known(id))
      return unknown(id);
    return cg_->freeze(id, true);
  }

  caf::error resume(const std::string& id) override {
    if (!known(id))
      return unknown(id);
    return cg_->freeze(id, false);
  }

  caf::error stop(const std::string& id) override {
    if (!known(id))
      return unknown(id);
    end_processes(id);
    return caf::none;
  }

  caf::expected<sandbox_process> restart(const std::string& id) override {
    sandbox_spec spec;
    {
      std::lock_guard<std::mutex> guard{mtx_};
      auto i = boxes_.find(id);
      if (i == boxes_.end())
        return unknown(id);
      if (i->second.pid != 0)
        return make_error(ec::conflict, "sandbox " + id + " is running");
      spec = i->second.spec;
    }
    auto proc = start(spec);
    if (proc) {
      std::lock_guard<std::mutex> guard{mtx_};
      boxes_[id].pid = proc->pid;
    }
    return proc;
  }

  caf::error destroy(const std::string& id) override {
    if (!known(id))
      return unknown(id);
    return teardown(id);
  }

  caf::expected<sandbox_usage> usage(const std::string& id) override {
    if (!known(id))
      return unknown(id);
    auto cg = cg_->stats(id);
    if (!cg)
      return std::move(cg.error());
    sandbox_usage u;
    u.cgroup = *cg;
    struct statvfs vfs {};
    if (::statvfs(rw_dir(id).c_str(), &vfs) == 0) {
      u.disk_limit = vfs.f_blocks * vfs.f_frsize;
      u.disk_bytes = (vfs.f_blocks - vfs.f_bfree) * vfs.f_frsize;
    }
    return u;
  }

  std::vector<std::string> cleanup() override {
    std::vector<std::string> cleaned;
    std::error_code ec;
    for (auto& e : fs::directory_iterator{cfg_.run_dir, ec}) {
      auto id = e.path().filename().string();
      if (known(id))
        continue;
      cg_->kill_all(id);
      ::umount2(rw_dir(id).c_str(), MNT_DETACH);
      fs::remove_all(e.path(), ec);
      cg_->remove(id);
      cleaned.push_back(id);
    }
    for (auto& id : cg_->list()) {
      if (known(id))
        continue;
      cg_->kill_all(id);
      cg_->remove(id);
      if (std::find(cleaned.begin(), cleaned.end(), id) == cleaned.end())
        cleaned.push_back(id);
    }
    return cleaned;
  }

  std::vector<std::string> running() const override {
    std::lock_guard<std::mutex> guard{mtx_};
    std::vector<std::string> result;
    for (auto& [id, b] : boxes_)
      result.push_back(id);
    return result;
  }

private:
  struct box {
    sandbox_spec spec;
    pid_t pid = 0;
  };

  std::string box_dir(const std::string& id) const {
    return cfg_.run_dir + "/" + id;
  }

  std::string rw_dir(const std::string& id) const {
    return box_dir(id) + "/rw";
  }

  bool known(const std::string& id) const {
    std::lock_guard<std::mutex> guard{mtx_};
    return boxes_.count(id) > 0;
  }

  static caf::error unknown(const std::string& id) {
    return make_error(ec::not_found, "no sandbox " + id + " on this node");
  }

  /// The writable layer: a size-limited tmpfs holding the overlay's upper
  /// and work directories, mounted in the node's namespace so that it
  /// outlives the sandbox's processes (pause without memory).
  caf::error make_layer(const sandbox_spec& spec) {
    auto rw = rw_dir(spec.id);
    std::error_code ec;
    fs::create_directories(rw, ec);
    fs::create_directories(box_dir(spec.id) + "/merged", ec);
    if (ec)
      return make_error(ec::system_error,
                        "cannot create " + rw + ": " + ec.message());
    auto opts = "size=" + std::to_string(spec.disk_bytes) + ",nr_inodes="
                + std::to_string(std::max<uint64_t>(4096, spec.disk_bytes / 8192))
                + ",mode=0755";
    if (::mount("sandbox", rw.c_str(), "tmpfs", MS_NOSUID | MS_NODEV,
                opts.c_str())
        != 0)
      return make_error(ec::system_error,
                        "cannot mount the writable layer: "
                          + std::string{std::strerror(errno)});
    auto root = sandbox_uid_base;
    for (auto dir : {"/upper", "/work", "/upper/etc"})
      if (::mkdir((rw + dir).c_str(), 0755) != 0)
        return make_error(ec::system_error, "cannot prepare the layer");
    ::chown((rw + "/upper").c_str(), root, root);
    ::chown((rw + "/upper/etc").c_str(), root, root);
    // Per-sandbox files shadow the template's.
    auto put = [&](const std::string& path, const std::string& text) {
      std::ofstream{rw + "/upper" + path} << text;
      ::chown((rw + "/upper" + path).c_str(), root, root);
    };
    put("/etc/hostname", spec.hostname + "\n");
    put("/etc/hosts", "127.0.0.1 localhost " + spec.hostname
                        + "\n::1 localhost " + spec.hostname + "\n");
    return caf::none;
  }

  caf::expected<sandbox_process> start(const sandbox_spec& spec) {
    auto base = box_dir(spec.id);
    auto merged = base + "/merged";
    child_args a;
    a.merged = merged;
    a.lower_upper_work = "lowerdir=" + spec.rootfs + ",upperdir="
                         + rw_dir(spec.id) + "/upper,workdir="
                         + rw_dir(spec.id) + "/work";
    a.proc = merged + "/proc";
    a.proc_sys = merged + "/proc/sys";
    a.sys = merged + "/sys";
    a.dev = merged + "/dev";
    a.dev_pts = merged + "/dev/pts";
    a.dev_shm = merged + "/dev/shm";
    a.hostname = spec.hostname;
    a.devpts_opts = "newinstance,ptmxmode=0666,mode=0620,gid="
                    + std::to_string(sandbox_uid_base + 5);
    for (auto d : {"null", "zero", "full", "random", "urandom", "tty"})
      a.dev_binds.emplace_back(std::string{"/dev/"} + d, a.dev + "/" + d);
    a.dev_links = {{"pts/ptmx", a.dev + "/ptmx"},
                   {"/proc/self/fd", a.dev + "/fd"},
                   {"/proc/self/fd/0", a.dev + "/stdin"},
                   {"/proc/self/fd/1", a.dev + "/stdout"},
                   {"/proc/self/fd/2", a.dev + "/stderr"}};
    a.seccomp.len = static_cast<unsigned short>(filter_.size());
    a.seccomp.filter = filter_.data();
    int sv[2], down[2], up[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
      return make_error(ec::resource_exhausted, "socketpair failed");
    if (::pipe2(down, O_CLOEXEC) != 0 || ::pipe2(up, O_CLOEXEC) != 0) {
      ::close(sv[0]);
      ::close(sv[1]);
      return make_error(ec::resource_exhausted, "pipe failed");
    }
    a.sock = sv[1];
    a.envd = ::open(cfg_.envd_path.c_str(), O_PATH | O_CLOEXEC);
    a.to_child = down[0];
    a.to_parent = up[1];
    a.parent_ends[0] = down[1];
    a.parent_ends[1] = up[0];
    rlimit nofile{};
    if (::getrlimit(RLIMIT_NOFILE, &nofile) == 0)
      a.max_fd = static_cast<int>(std::min<rlim_t>(nofile.rlim_cur, 1 << 20));
    auto close_all = [&] {
      for (int fd : {sv[1], down[0], down[1], up[0], up[1], a.envd})
        if (fd >= 0)
          ::close(fd);
    };
    if (a.envd < 0) {
      close_all();
      ::close(sv[0]);
      return make_error(ec::system_error, "cannot open envd at "
                                            + cfg_.envd_path);
    }
    constexpr size_t stack_size = 256 * 1024;
    void* stack = ::mmap(nullptr, stack_size, PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    auto pid = ::clone(child_main, static_cast<char*>(stack) + stack_size,
                       CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWUTS
                         | CLONE_NEWIPC | SIGCHLD,
                       &a);
    auto clone_errno = errno;
    ::munmap(stack, stack_size);
    for (int* fd : {&sv[1], &down[0], &up[1], &a.envd}) {
      ::close(*fd);
      *fd = -1;
    }
    auto fail = [&](caf::error err) -> caf::expected<sandbox_process> {
      ::close(sv[0]);
      ::close(down[1]);
      ::close(up[0]);
      if (pid > 0) {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, nullptr, 0);
      }
      return err;
    };
    if (pid < 0)
      return fail(make_error(ec::resource_exhausted,
                             std::string{"clone failed: "}
                               + std::strerror(clone_errno)));
    if (auto err = cg_->add(spec.id, pid))
      return fail(err);
    char go = 'g';
    (void) !::write(down[1], &go, 1);
    // Wait for the child to ask for its id mapping (or to fail).
    char msg[1 + sizeof(int)];
    auto n = ::read(up[0], msg, 1);
    if (n == 1 && msg[0] == 'u') {
      auto map = "0 " + std::to_string(sandbox_uid_base) + " "
                 + std::to_string(sandbox_uid_count) + "\n";
      auto proc_dir = "/proc/" + std::to_string(pid);
      if (auto err = write_text(proc_dir + "/uid_map", map))
        return fail(err);
      if (auto err = write_text(proc_dir + "/gid_map", map))
        return fail(err);
      (void) !::write(down[1], &go, 1);
      // EOF means envd was exec'd (the report pipe is close-on-exec).
      n = ::read(up[0], msg, 1);
    }
    if (n == 1) {
      int e = 0;
      ::read(up[0], msg + 1, sizeof(int));
      std::memcpy(&e, msg + 1, sizeof(int));
      return fail(make_error(ec::system_error,
                             std::string{"cannot start sandbox "} + spec.id
                               + ": " + step_name(msg[0]) + " failed: "
                               + std::strerror(e)));
    }
    ::close(down[1]);
    ::close(up[0]);
    return sandbox_process{sv[0], pid};
  }

  /// Kills every process of the sandbox and reaps its init.
  void end_processes(const std::string& id) {
    pid_t pid;
    {
      std::lock_guard<std::mutex> guard{mtx_};
      pid = boxes_[id].pid;
      boxes_[id].pid = 0;
    }
    if (pid <= 0) {
      // envd is gone already: whatever may be left in the group.
      cg_->kill_all(id);
      return;
    }
    // Killing PID 1 ends its whole pid namespace, every process of the
    // sandbox, and nothing can fork into a dying namespace: no need to
    // freeze the group first (on cgroup v1 that costs a millisecond or
    // more of polling). A paused sandbox's processes die once thawed.
    ::kill(pid, SIGKILL);
    cg_->freeze(id, false);
    ::waitpid(pid, nullptr, 0);
  }

  caf::error teardown(const std::string& id) {
    end_processes(id);
    caf::error first;
    if (auto err = cg_->remove(id))
      first = err;
    auto rw = rw_dir(id);
    if (::umount2(rw.c_str(), MNT_DETACH) != 0 && errno != EINVAL
        && errno != ENOENT && !first)
      first = make_error(ec::system_error, "cannot unmount " + rw + ": "
                                             + std::strerror(errno));
    std::error_code ec;
    fs::remove_all(box_dir(id), ec);
    std::lock_guard<std::mutex> guard{mtx_};
    boxes_.erase(id);
    return first;
  }

  linux_driver_config cfg_;
  cgroups_ptr cg_;
  std::vector<sock_filter> filter_;
  mutable std::mutex mtx_;
  std::map<std::string, box> boxes_;
};

} // namespace

caf::expected<driver_ptr> make_linux_driver(linux_driver_config cfg) {
  if (::access(cfg.envd_path.c_str(), X_OK) != 0)
    return make_error(ec::system_error,
                      "sandhive-envd not found at " + cfg.envd_path);
  std::error_code ec;
  fs::create_directories(cfg.run_dir, ec);
  if (ec)
    return make_error(ec::system_error,
                      "cannot create " + cfg.run_dir + ": " + ec.message());
  auto cg = make_cgroups(cfg.cgroup_root, cfg.cgroup_parent);
  if (!cg)
    return std::move(cg.error());
  auto filter = sandbox_seccomp_filter();
  if (!filter)
    return std::move(filter.error());
  log::get("driver")->debug("linux driver: cgroup {} under {}",
                            (*cg)->version(), cfg.cgroup_root);
  return driver_ptr{std::make_unique<linux_driver>(std::move(cfg),
                                                   std::move(*cg),
                                                   std::move(*filter))};
}

caf::error isolate_mounts() {
  if (::unshare(CLONE_NEWNS) != 0)
    return make_error(ec::system_error,
                      std::string{"cannot make a private mount namespace: "}
                        + std::strerror(errno));
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_SLAVE, nullptr) != 0)
    return make_error(ec::system_error,
                      std::string{"cannot make mounts private: "}
                        + std::strerror(errno));
  return caf::none;
}

} // namespace sbx

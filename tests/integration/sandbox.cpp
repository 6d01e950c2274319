// Real sandboxes on this host (as root): isolation, limits, escape attempts,
// pause and resume, and cleanup.

#include "actors/error.hpp"
#include "tests/support/printers.hpp"
#include "tests/support/sandboxes.hpp"

#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <atomic>
#include <thread>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

using namespace sbx;
using namespace std::chrono_literals;
using to_envd = sandhive::envd::ToEnvd;

namespace {

struct result {
  std::string out;
  std::string err;
  int exit_code = -999;
  std::string status;
};

/// Runs `script` with bash in the sandbox behind `h`.
result sh(test::envd_harness& h, const std::string& script,
          const std::string& user = "root",
          std::chrono::milliseconds timeout = 20s) {
  to_envd msg;
  auto id = h.next_id();
  msg.set_id(id);
  msg.mutable_start()->set_user(user);
  auto cfg = msg.mutable_start()->mutable_request()->mutable_process();
  cfg->set_cmd("/bin/bash");
  cfg->add_args("-c");
  cfg->add_args(script);
  msg.mutable_start()->mutable_request()->set_stdin(false);
  h.send(msg);
  auto msgs = h.until_end(id, timeout);
  result r;
  r.out = test::envd_harness::output(msgs);
  r.err = test::envd_harness::output(msgs, "stderr");
  if (auto end = test::envd_harness::end_of(msgs)) {
    r.exit_code = end->exit_code();
    r.status = end->status();
  }
  for (auto& m : msgs)
    if (m.has_error())
      r.err += "envd error: " + m.error().message();
  return r;
}

bool pings(test::envd_harness& h, std::chrono::milliseconds timeout) {
  to_envd ping;
  ping.set_id(h.next_id());
  ping.mutable_ping();
  h.send(ping);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    auto m = h.receive(50ms);
    if (m && m->id() == ping.id() && m->has_pong())
      return true;
  }
  return false;
}

size_t count_mounts() {
  std::ifstream in{"/proc/self/mountinfo"};
  return static_cast<size_t>(std::count(std::istreambuf_iterator<char>{in},
                                        std::istreambuf_iterator<char>{}, '\n'));
}

/// The base template's locale comes from the host's C.utf8 and localedef.
boost::test_tools::assertion_result host_has_c_utf8(boost::unit_test::test_unit_id) {
  boost::test_tools::assertion_result r{
    std::filesystem::exists("/usr/lib/locale/C.utf8")
    && std::filesystem::exists("/usr/bin/localedef")};
  if (!r)
    r.message() << "SKIPPED: this host has no C.utf8 locale or no localedef";
  return r;
}

} // namespace

BOOST_AUTO_TEST_SUITE(sandbox,
                      *boost::unit_test::precondition(test::sandboxes_supported))

BOOST_FIXTURE_TEST_CASE(users_added_inside_count_at_once_and_garbage_breaks_nothing,
                        test::driver_fixture) {
  // envd keeps /etc/passwd parsed between starts; a change made inside the
  // sandbox must show at the next start all the same.
  auto h = start(spec("users1"));
  BOOST_TEST(sh(*h, "true", "dev").err.find("invalid username") != std::string::npos);
  auto add = sh(*h, "mkdir -p /home/dev && chown 1001:1001 /home/dev && "
                    "echo 'dev:x:1001:1001::/home/dev:/bin/bash' >> /etc/passwd");
  BOOST_TEST(add.exit_code == 0, add.err);
  auto dev = sh(*h, "id -u; echo $HOME", "dev");
  BOOST_TEST(dev.out == "1001\n/home/dev\n", dev.out + dev.err);
  // A garbled line (a uid that is no number) names no one and breaks no
  // lookup of the others.
  BOOST_TEST(sh(*h, "echo 'bad:x:zz:1::/:/bin/sh' >> /etc/passwd").exit_code == 0);
  BOOST_TEST(sh(*h, "true", "bad").err.find("invalid username") != std::string::npos);
  BOOST_TEST(sh(*h, "id -u", "dev").out == "1001\n");
  BOOST_TEST(pings(*h, 2s));
}

BOOST_FIXTURE_TEST_CASE(a_sandbox_sees_only_itself, test::driver_fixture) {
  auto h = start(spec("iso1"));
  auto r = sh(*h, "cat /proc/1/cmdline; echo; hostname; id -u; ls /; "
                  "cat /proc/net/dev | tail -n +3 | cut -d: -f1");
  BOOST_TEST(r.exit_code == 0, r.err);
  std::istringstream lines{r.out};
  std::string pid1, host, uid;
  std::getline(lines, pid1);
  std::getline(lines, host);
  std::getline(lines, uid);
  BOOST_TEST(pid1.find("sandhive-envd") == 0u);
  BOOST_TEST(host == "iso1");
  BOOST_TEST(uid == "0");
  BOOST_TEST(r.out.find("home") != std::string::npos);
  BOOST_TEST(r.out.find("work") == std::string::npos); // no host dirs
  // Only loopback.
  auto ifaces = r.out.substr(r.out.rfind("usr") + 4);
  BOOST_TEST(ifaces.find("lo") != std::string::npos);
  BOOST_TEST(ifaces.find("eth") == std::string::npos);
  // As `user`.
  auto u = sh(*h, "id; echo $HOME; pwd", "user");
  BOOST_TEST(u.out.find("uid=1000(user) gid=1000(user)") == 0u, u.out + u.err);
  BOOST_TEST(u.out.find("/home/user\n/home/user") != std::string::npos);
  // The template stays untouched: a write lands in the sandbox's own layer.
  auto w = sh(*h, "echo changed > /etc/motd-test && rm /usr/bin/yes && "
                  "cat /etc/motd-test");
  BOOST_TEST(w.out == "changed\n", w.err);
  BOOST_TEST(!std::filesystem::exists(test::base_rootfs() + "/etc/motd-test"));
  BOOST_TEST(std::filesystem::exists(test::base_rootfs() + "/usr/bin/yes"));
  // No descriptor of envd or the node reaches a process: only its own.
  auto fds = sh(*h, "ls -l /proc/$$/fd", "user");
  BOOST_TEST(fds.out.find("socket:") == std::string::npos, fds.out);
  BOOST_TEST(fds.out.find("sandhive") == std::string::npos, fds.out);
  // python3 is there.
  BOOST_TEST(sh(*h, "python3 -c 'print(6*7)'").out == "42\n");
}

BOOST_FIXTURE_TEST_CASE(a_login_shell_speaks_utf8_from_the_locale_archive,
                        test::driver_fixture,
                        *boost::unit_test::precondition(host_has_c_utf8)) {
  BOOST_TEST(std::filesystem::exists(test::base_rootfs()
                                     + "/usr/lib/locale/locale-archive"));
  auto h = start(spec("locale1"));
  // One character of two bytes counts as one only in a UTF-8 locale; with
  // the locale's directory moved away it can only come from the archive.
  auto utf8_length = "bash -l -c 'x=\xc3\xa9; echo $LANG ${#x}'";
  BOOST_TEST(sh(*h, utf8_length, "user").out == "C.UTF-8 1\n");
  BOOST_TEST(sh(*h, "mv /usr/lib/locale/C.utf8 /root/").exit_code == 0);
  auto r = sh(*h, utf8_length, "user");
  BOOST_TEST(r.out == "C.UTF-8 1\n", r.out + r.err);
}

BOOST_FIXTURE_TEST_CASE(the_host_network_is_out_of_reach,
                        test::driver_fixture) {
  // A server on the host's loopback cannot be reached from the sandbox's.
  int srv = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  BOOST_REQUIRE(::bind(srv, reinterpret_cast<sockaddr*>(&addr), len) == 0);
  ::listen(srv, 1);
  ::getsockname(srv, reinterpret_cast<sockaddr*>(&addr), &len);
  auto port = std::to_string(ntohs(addr.sin_port));
  auto h = start(spec("net1"));
  auto r = sh(*h, "timeout 2 bash -c 'echo x > /dev/tcp/127.0.0.1/" + port
                    + "' && echo reached || echo blocked");
  BOOST_TEST(r.out == "blocked\n");
  auto raw = sh(*h, "python3 -c 'import socket; "
                    "socket.socket(socket.AF_INET, socket.SOCK_RAW, 1)' "
                    "2>&1 | tail -1");
  BOOST_TEST(raw.out.find("PermissionError") != std::string::npos, raw.out);
  ::close(srv);
}

BOOST_FIXTURE_TEST_CASE(escape_attempts_fail, test::driver_fixture) {
  auto h = start(spec("esc1"));
  // Privileged system calls through libc, each expected to fail with EPERM.
  auto r = sh(*h, R"(python3 - <<'EOF'
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
def attempt(name, rc):
    print(name, "ok" if rc == 0 else os.strerror(ctypes.get_errno()))
attempt("mount", libc.mount(b"/dev/vda", b"/mnt", b"ext4", 0, None))
attempt("tmpfs", libc.mount(b"x", b"/mnt", b"tmpfs", 0, None))
attempt("init_module", libc.syscall(175, None, 0, b""))
attempt("finit_module", libc.syscall(313, 0, b"", 0))
attempt("kexec_load", libc.syscall(246, 0, 0, None, 0))
attempt("unshare", libc.unshare(0x10000000))
attempt("bpf", libc.syscall(321, 0, None, 0))
attempt("ptrace", libc.ptrace(16, os.getppid() + 100000, None, None))
EOF)");
  BOOST_TEST(r.exit_code == 0, r.err);
  BOOST_TEST(r.out.find(" ok") == std::string::npos, r.out);
  BOOST_TEST(r.out.find("mount Operation not permitted") != std::string::npos,
             r.out);
  BOOST_TEST(r.out.find("init_module Operation not permitted")
             != std::string::npos);
  BOOST_TEST(r.out.find("kexec_load Operation not permitted")
             != std::string::npos);
  BOOST_TEST(r.out.find("ptrace No such process") != std::string::npos, r.out);
  // /proc/sys and /sys are read-only.
  auto ps = sh(*h, "echo 1 > /proc/sys/kernel/sysrq; echo x > /sys/x; "
                   "echo 1 > /proc/sysrq-trigger");
  BOOST_TEST(ps.exit_code != 0);
  BOOST_TEST(ps.err.find("Read-only file system") != std::string::npos, ps.err);
  // The host's disks are not even visible.
  BOOST_TEST(sh(*h, "ls /dev").out.find("vda") == std::string::npos);
  BOOST_TEST(pings(*h, 2s));
}

BOOST_FIXTURE_TEST_CASE(sandboxes_cannot_see_each_other, test::driver_fixture) {
  auto a = start(spec("peer-a"));
  auto b = start(spec("peer-b"));
  BOOST_TEST(sh(*b, "echo secret > /tmp/secret-b").exit_code == 0);
  auto r = sh(*a, "ls /tmp; ls /proc | grep -c '^[0-9]'; "
                  "cat /proc/*/root/tmp/secret-b 2>&1 | head -1; true");
  BOOST_TEST((r.out.find("secret-b") == std::string::npos
               || r.out.find("No such file") != std::string::npos),
             r.out);
  BOOST_TEST(r.out.find("secret\n") == std::string::npos);
}

BOOST_FIXTURE_TEST_CASE(a_fork_bomb_hits_the_pids_limit, test::driver_fixture) {
  auto s = spec("bomb1");
  s.limits.pids = 64;
  auto h = start(s);
  auto r = sh(*h, "for i in $(seq 200); do sleep 30 >/dev/null 2>&1 & done "
                  "2>/dev/null; "
                  "ls /proc | grep -c '^[0-9]'",
              "root", 60s);
  auto procs = std::stoi(r.out.empty() ? "0" : r.out);
  BOOST_TEST(procs <= 64);
  auto usage = drv->usage("bomb1");
  BOOST_REQUIRE(usage);
  BOOST_TEST(usage->cgroup.pids <= 64u);
}

BOOST_FIXTURE_TEST_CASE(a_memory_bomb_is_killed_inside_only,
                        test::driver_fixture) {
  auto s = spec("mem1");
  s.limits.memory_bytes = 64ull << 20;
  auto h = start(s);
  auto r = sh(*h, "python3 -c 'a = bytearray(300 * 1024 * 1024); a[::4096] = "
                  "b\"x\" * len(a[::4096])'");
  BOOST_TEST(r.exit_code != 0);
  BOOST_TEST(r.status == "signal: killed", r.status + " " + r.err);
  auto usage = drv->usage("mem1");
  BOOST_REQUIRE(usage);
  BOOST_TEST(usage->cgroup.oom_kills >= 1u);
  // envd survived and still serves.
  BOOST_TEST(pings(*h, 2s));
  BOOST_TEST(sh(*h, "echo alive").out == "alive\n");
}

BOOST_FIXTURE_TEST_CASE(filling_the_disk_fails_with_enospc,
                        test::driver_fixture) {
  auto s = spec("disk1");
  s.disk_bytes = 16ull << 20;
  auto h = start(s);
  auto r = sh(*h, "dd if=/dev/zero of=/tmp/fill bs=1M count=64");
  BOOST_TEST(r.exit_code != 0);
  BOOST_TEST(r.err.find("No space left on device") != std::string::npos, r.err);
  auto usage = drv->usage("disk1");
  BOOST_REQUIRE(usage);
  BOOST_TEST(usage->disk_limit == 16ull << 20);
  BOOST_TEST(sh(*h, "rm /tmp/fill && echo ok").out == "ok\n");
}

BOOST_FIXTURE_TEST_CASE(a_cpu_hog_is_throttled_to_its_quota,
                        test::driver_fixture) {
  auto h = start(spec("cpu1")); // 1 vCPU
  auto before = drv->usage("cpu1")->cgroup.cpu_usec;
  auto t0 = std::chrono::steady_clock::now();
  sh(*h, "timeout 2 sh -c 'while :; do :; done' & "
         "timeout 2 sh -c 'while :; do :; done'; wait");
  auto wall = std::chrono::duration_cast<std::chrono::microseconds>(
                std::chrono::steady_clock::now() - t0)
                .count();
  auto used = drv->usage("cpu1")->cgroup.cpu_usec - before;
  // Two busy loops on a 1-vCPU quota get at most about one core.
  BOOST_TEST(used < wall * 1.25, "used " << used << " us in " << wall << " us");
  BOOST_TEST(used > wall * 0.3);
}

BOOST_FIXTURE_TEST_CASE(destroy_ends_a_tree_that_ignores_sigterm,
                        test::driver_fixture) {
  auto h = start(spec("term1"));
  to_envd msg;
  msg.set_id(h->next_id());
  auto cfg = msg.mutable_start()->mutable_request()->mutable_process();
  cfg->set_cmd("/bin/bash");
  cfg->add_args("-c");
  cfg->add_args("trap '' TERM; (trap '' TERM; sleep 1000) & sleep 1000");
  h->send(msg);
  std::this_thread::sleep_for(300ms);
  auto procs = drv->usage("term1")->cgroup.pids;
  BOOST_TEST(procs >= 4u);
  BOOST_REQUIRE(!drv->destroy("term1"));
  BOOST_TEST(drv->running().empty());
  BOOST_TEST(!std::filesystem::exists(dir.path() + "/run/term1"));
}

BOOST_FIXTURE_TEST_CASE(pause_freezes_and_resume_thaws, test::driver_fixture) {
  auto h = start(spec("pause1"));
  BOOST_REQUIRE(!drv->pause("pause1"));
  BOOST_TEST(!pings(*h, 300ms));
  auto frozen_cpu = drv->usage("pause1")->cgroup.cpu_usec;
  std::this_thread::sleep_for(200ms);
  BOOST_TEST(drv->usage("pause1")->cgroup.cpu_usec == frozen_cpu);
  BOOST_REQUIRE(!drv->resume("pause1"));
  BOOST_TEST(pings(*h, 2s));
}

BOOST_FIXTURE_TEST_CASE(a_paused_sandbox_is_destroyed_whole,
                        test::driver_fixture) {
  auto h = start(spec("pausekill1"));
  auto r = sh(*h, "sleep 1000 >/dev/null 2>&1 & echo $!");
  BOOST_REQUIRE(r.exit_code == 0);
  auto envd = h->pid();
  BOOST_REQUIRE(!drv->pause("pausekill1"));
  auto t0 = std::chrono::steady_clock::now();
  BOOST_TEST(!drv->destroy("pausekill1"));
  BOOST_TEST((std::chrono::steady_clock::now() - t0 < 5s));
  BOOST_TEST(!test::process_alive(envd));
  auto cg = make_cgroups("/sys/fs/cgroup", cgroup_parent);
  BOOST_REQUIRE(cg);
  auto left = (*cg)->list();
  BOOST_TEST((std::find(left.begin(), left.end(), "pausekill1") == left.end()));
}

BOOST_FIXTURE_TEST_CASE(stop_and_restart_keep_the_filesystem,
                        test::driver_fixture) {
  auto h = start(spec("keep1"));
  BOOST_TEST(sh(*h, "echo kept > /home/user/note").exit_code == 0);
  BOOST_REQUIRE(!drv->stop("keep1"));
  h.reset();
  auto p = drv->restart("keep1");
  BOOST_REQUIRE_MESSAGE(p, (p ? "" : message_of(p.error())));
  test::envd_harness again{p->envd_fd, p->pid};
  BOOST_REQUIRE(again.receive(10s)->has_pong());
  BOOST_TEST(sh(again, "cat /home/user/note").out == "kept\n");
}

BOOST_FIXTURE_TEST_CASE(bad_specs_are_typed_errors, test::driver_fixture) {
  auto s = spec("bad1");
  s.rootfs = "/no/such/template";
  auto r = drv->create(s);
  BOOST_REQUIRE(!r);
  BOOST_TEST(r.error() == ec::not_found);
  auto h = start(spec("dup1"));
  auto dup = drv->create(spec("dup1"));
  BOOST_REQUIRE(!dup);
  BOOST_TEST(dup.error() == ec::already_exists);
  BOOST_TEST(drv->destroy("nope") == ec::not_found);
}

BOOST_FIXTURE_TEST_CASE(leftovers_of_a_crash_are_cleaned, test::driver_fixture) {
  auto mounts = count_mounts();
  auto h = start(spec("crash1"));
  auto pid = h->pid();
  // A second driver on the same directories plays the restarted node.
  linux_driver_config cfg;
  cfg.run_dir = dir.path() + "/run";
  cfg.envd_path = SBX_ENVD_BINARY;
  cfg.cgroup_parent = cgroup_parent;
  auto fresh = make_linux_driver(cfg);
  BOOST_REQUIRE(fresh);
  auto cleaned = (*fresh)->cleanup();
  BOOST_TEST(cleaned == std::vector<std::string>{"crash1"});
  BOOST_TEST(count_mounts() == mounts);
  BOOST_TEST(!test::process_alive(pid));
  BOOST_TEST(!std::filesystem::exists(dir.path() + "/run/crash1"));
}

BOOST_FIXTURE_TEST_CASE(two_hundred_sandboxes_leave_nothing_behind,
                        test::driver_fixture) {
  auto mounts = count_mounts();
  for (int i = 0; i < 200; ++i) {
    auto id = "loop" + std::to_string(i);
    auto p = drv->create(spec(id));
    BOOST_REQUIRE_MESSAGE(p, (p ? "" : message_of(p.error())));
    ::close(p->envd_fd);
    BOOST_REQUIRE(!drv->destroy(id));
  }
  BOOST_TEST(count_mounts() == mounts);
  BOOST_TEST(drv->running().empty());
  BOOST_TEST(std::filesystem::is_empty(dir.path() + "/run"));
  auto cg = make_cgroups("/sys/fs/cgroup", cgroup_parent);
  BOOST_REQUIRE(cg);
  BOOST_TEST((*cg)->list().empty());
}

BOOST_FIXTURE_TEST_CASE(a_stopped_driver_leaves_no_parent_cgroup,
                        test::driver_fixture) {
  auto parent = "sandhive-test-release-" + std::to_string(::getpid());
  auto exists = [&parent] {
    std::error_code ec;
    if (std::filesystem::exists("/sys/fs/cgroup/" + parent, ec))
      return true;
    for (auto& h : std::filesystem::directory_iterator{"/sys/fs/cgroup", ec})
      if (std::filesystem::exists(h.path() / parent, ec))
        return true;
    return false;
  };
  auto driver = [&] {
    linux_driver_config cfg;
    cfg.run_dir = dir.path() + "/run";
    cfg.envd_path = SBX_ENVD_BINARY;
    cfg.cgroup_parent = parent;
    auto d = make_linux_driver(cfg);
    BOOST_REQUIRE_MESSAGE(d, (d ? "" : message_of(d.error())));
    return std::move(*d);
  };
  auto run_one = [this](sbx::driver& d, const std::string& id) {
    auto p = d.create(spec(id));
    BOOST_REQUIRE_MESSAGE(p, (p ? "" : message_of(p.error())));
    ::close(p->envd_fd);
    BOOST_TEST(!d.destroy(id));
  };
  auto first = driver();
  auto second = driver(); // shares the parent, as a restarted node would
  run_one(*first, "rel1");
  BOOST_TEST(exists());
  first.reset();
  BOOST_TEST(!exists());
  // A driver whose parent went away under it makes it again.
  run_one(*second, "rel2");
  BOOST_TEST(exists());
  second.reset();
  BOOST_TEST(!exists());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(sandbox_concurrency,
                      *boost::unit_test::precondition(test::sandboxes_supported))

BOOST_FIXTURE_TEST_CASE(creates_from_several_threads_do_not_interfere,
                        test::driver_fixture) {
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  std::vector<std::string> errors(4);
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) {
        auto id = "conc" + std::to_string(t) + "-" + std::to_string(i);
        auto p = drv->create(spec(id));
        if (!p) {
          errors[t] = message_of(p.error());
          return;
        }
        test::envd_harness h{p->envd_fd, p->pid};
        auto hello = h.receive(10s);
        if (!hello || !hello->has_pong()) {
          errors[t] = "no hello from " + id;
          return;
        }
        if (sh(h, "echo ok").out == "ok\n")
          ++ok;
        drv->destroy(id);
      }
    });
  for (auto& t : threads)
    t.join();
  for (auto& e : errors)
    BOOST_TEST(e.empty(), e);
  BOOST_TEST(ok == 40);
}

BOOST_AUTO_TEST_SUITE_END()

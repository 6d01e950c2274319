#include "tests/support/sandboxes.hpp"

#include "actors/error.hpp"
#include "runtime/sandbox/template.hpp"

#include <cerrno>
#include <csignal>
#include <filesystem>

#include <unistd.h>

namespace sbx::test {

namespace {

temp_dir& template_dir() {
  static temp_dir dir;
  return dir;
}

} // namespace

const std::string& base_rootfs() {
  static std::string rootfs = [] {
    auto dir = ensure_base_template(template_dir().path(), sandbox_uid_base);
    if (!dir)
      throw std::runtime_error("cannot build the base template: "
                               + message_of(dir.error()));
    return *dir + "/rootfs";
  }();
  return rootfs;
}

namespace {

/// Removes the parent cgroups of test processes that died without cleaning
/// up (named sandhive-{test,node,probe}-<pid>).
void remove_stale_test_cgroups() {
  std::error_code ec;
  for (auto& e : std::filesystem::directory_iterator{"/sys/fs/cgroup/pids", ec}) {
    auto name = e.path().filename().string();
    auto dash = name.rfind('-');
    // A pid has at most 7 digits (pid_max ≤ 2^22); other sandhive-* groups
    // (a node's, named by a random id that may be all digits) are not ours.
    auto digits = name.size() - dash - 1;
    if (name.rfind("sandhive-", 0) != 0 || dash == std::string::npos
        || digits == 0 || digits > 7
        || name.find_first_not_of("0123456789", dash + 1) != std::string::npos)
      continue;
    auto pid = std::stoi(name.substr(dash + 1));
    if (::kill(pid, 0) == 0 || errno != ESRCH)
      continue;
    if (auto cg = make_cgroups("/sys/fs/cgroup", name)) {
      for (auto& id : (*cg)->list()) {
        (*cg)->kill_all(id);
        (*cg)->remove(id);
      }
    }
    for (auto c : {"memory", "cpu", "cpuacct", "pids", "freezer"})
      ::rmdir(("/sys/fs/cgroup/" + std::string{c} + "/" + name).c_str());
  }
}

} // namespace

const std::string& sandbox_unsupported() {
  static std::string reason = []() -> std::string {
    if (::geteuid() != 0)
      return "sandboxes need root";
    remove_stale_test_cgroups();
    temp_dir run;
    linux_driver_config cfg;
    cfg.run_dir = run.path() + "/run";
    cfg.envd_path = SBX_ENVD_BINARY;
    cfg.cgroup_parent = "sandhive-probe-" + std::to_string(::getpid());
    auto drv = make_linux_driver(cfg);
    if (!drv)
      return "no sandbox driver on this host: " + message_of(drv.error());
    sandbox_spec s;
    s.id = "probe";
    s.rootfs = base_rootfs();
    s.hostname = "probe";
    s.disk_bytes = 16 << 20;
    auto p = (*drv)->create(s);
    if (!p)
      return "this host cannot run sandboxes: " + message_of(p.error());
    ::close(p->envd_fd);
    (*drv)->destroy("probe");
    return "";
  }();
  return reason;
}

boost::test_tools::assertion_result
sandboxes_supported(boost::unit_test::test_unit_id) {
  auto& why = sandbox_unsupported();
  boost::test_tools::assertion_result result{why.empty()};
  if (!why.empty())
    result.message() << "SKIPPED: " << why;
  return result;
}

driver_fixture::driver_fixture()
  : cgroup_parent("sandhive-test-" + std::to_string(::getpid())) {
  linux_driver_config cfg;
  cfg.run_dir = dir.path() + "/run";
  cfg.envd_path = SBX_ENVD_BINARY;
  cfg.cgroup_parent = cgroup_parent;
  auto d = make_linux_driver(cfg);
  if (!d)
    throw std::runtime_error(message_of(d.error()));
  drv = std::move(*d);
}

driver_fixture::~driver_fixture() {
  for (auto& id : drv->running())
    drv->destroy(id);
}

sandbox_spec driver_fixture::spec(const std::string& id) const {
  sandbox_spec s;
  s.id = id;
  s.rootfs = base_rootfs();
  s.hostname = id;
  s.limits.vcpu = 1;
  s.limits.memory_bytes = 256ull << 20;
  s.limits.pids = 256;
  s.disk_bytes = 64ull << 20;
  return s;
}

std::unique_ptr<envd_harness> driver_fixture::start(const sandbox_spec& s) {
  auto p = drv->create(s);
  if (!p)
    throw std::runtime_error("create failed: " + message_of(p.error()));
  auto h = std::make_unique<envd_harness>(p->envd_fd, p->pid);
  auto hello = h->receive(std::chrono::seconds{10});
  if (!hello || !hello->has_pong())
    throw std::runtime_error("envd did not say hello");
  return h;
}

} // namespace sbx::test

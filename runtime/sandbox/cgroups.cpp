#include "runtime/sandbox/cgroups.hpp"

#include "actors/error.hpp"

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace sbx {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

constexpr uint64_t cfs_period_us = 100'000;

caf::error write_file(const std::string& path, const std::string& value) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC | O_TRUNC);
  if (fd < 0)
    return make_error(ec::system_error,
                      "cannot open " + path + ": " + std::strerror(errno));
  auto n = ::write(fd, value.data(), value.size());
  auto err = errno;
  ::close(fd);
  if (n != static_cast<ssize_t>(value.size()))
    return make_error(ec::system_error, "cannot write '" + value + "' to "
                                          + path + ": " + std::strerror(err));
  return caf::none;
}

std::string read_file(const std::string& path) {
  std::ifstream in{path};
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

uint64_t read_number(const std::string& path) {
  auto s = read_file(path);
  return s.empty() ? 0 : std::strtoull(s.c_str(), nullptr, 10);
}

/// The value of `key` in a "key value" per line file.
uint64_t read_key(const std::string& path, const std::string& key) {
  std::istringstream in{read_file(path)};
  std::string k;
  uint64_t v;
  while (in >> k >> v)
    if (k == key)
      return v;
  return 0;
}

std::vector<pid_t> read_pids(const std::string& path) {
  std::vector<pid_t> result;
  std::istringstream in{read_file(path)};
  pid_t p;
  while (in >> p)
    result.push_back(p);
  return result;
}

/// Removes a cgroup directory, retrying while the kernel still tears down
/// its last processes.
caf::error remove_dir(const std::string& dir) {
  for (int i = 0; i < 200; ++i) {
    if (::rmdir(dir.c_str()) == 0 || errno == ENOENT)
      return caf::none;
    if (errno != EBUSY)
      break;
    std::this_thread::sleep_for(5ms);
  }
  return make_error(ec::system_error,
                    "cannot remove cgroup " + dir + ": " + std::strerror(errno));
}

// -- v1 -----------------------------------------------------------------------

class cgroups_v1 final : public cgroups {
public:
  cgroups_v1(std::string root, std::string parent)
    : root_(std::move(root)), parent_(std::move(parent)) {
    // nop
  }

  const char* version() const override {
    return "v1";
  }

  caf::error init() {
    for (auto& c : controllers_) {
      std::error_code ec;
      fs::create_directories(dir(c, ""), ec);
      if (ec)
        return make_error(ec::system_error, "cannot create cgroup "
                                              + dir(c, "") + ": "
                                              + ec.message());
    }
    return caf::none;
  }

  caf::error create(const std::string& name,
                    const cgroup_limits& limits) override {
    for (auto& c : controllers_) {
      auto d = dir(c, name);
      auto rc = ::mkdir(d.c_str(), 0755);
      if (rc != 0 && errno == ENOENT) {
        // The parent is gone if a stopping node released it just now.
        if (auto err = init())
          return err;
        rc = ::mkdir(d.c_str(), 0755);
      }
      if (rc != 0 && errno != EEXIST)
        return make_error(ec::system_error, "cannot create cgroup " + d + ": "
                                              + std::strerror(errno));
    }
    auto mem = std::to_string(limits.memory_bytes);
    if (auto err = write_file(dir("memory", name) + "/memory.limit_in_bytes",
                              mem))
      return err;
    // No swap: a sandbox over its memory is OOM-killed, not swapped out.
    write_file(dir("memory", name) + "/memory.swappiness", "0");
    if (auto err = write_file(dir("cpu", name) + "/cpu.cfs_period_us",
                              std::to_string(cfs_period_us)))
      return err;
    if (auto err = write_file(dir("cpu", name) + "/cpu.cfs_quota_us",
                              std::to_string(limits.vcpu * cfs_period_us)))
      return err;
    return write_file(dir("pids", name) + "/pids.max",
                      std::to_string(limits.pids));
  }

  caf::error add(const std::string& name, pid_t pid) override {
    for (auto& c : controllers_)
      if (auto err = write_file(dir(c, name) + "/cgroup.procs",
                                std::to_string(pid)))
        return err;
    return caf::none;
  }

  caf::error freeze(const std::string& name, bool frozen) override {
    auto state = dir("freezer", name) + "/freezer.state";
    if (auto err = write_file(state, frozen ? "FROZEN" : "THAWED"))
      return err;
    auto want = frozen ? "FROZEN" : "THAWED";
    for (int i = 0; i < 1000; ++i) {
      if (read_file(state).rfind(want, 0) == 0)
        return caf::none;
      std::this_thread::sleep_for(1ms);
    }
    return make_error(ec::timeout, std::string{"cgroup did not become "} + want);
  }

  caf::expected<cgroup_stats> stats(const std::string& name) override {
    cgroup_stats s;
    s.cpu_usec = read_number(dir("cpuacct", name) + "/cpuacct.usage") / 1000;
    s.memory_bytes = read_number(dir("memory", name) + "/memory.usage_in_bytes");
    s.memory_limit = read_number(dir("memory", name) + "/memory.limit_in_bytes");
    s.oom_kills = read_key(dir("memory", name) + "/memory.oom_control",
                           "oom_kill");
    s.pids = read_number(dir("pids", name) + "/pids.current");
    return s;
  }

  caf::error kill_all(const std::string& name) override {
    // Freeze first so that nothing forks while we kill.
    freeze(name, true);
    for (auto pid : read_pids(dir("pids", name) + "/cgroup.procs"))
      ::kill(pid, SIGKILL);
    return freeze(name, false);
  }

  caf::error remove(const std::string& name) override {
    for (auto& c : controllers_)
      if (auto err = remove_dir(dir(c, name)))
        return err;
    return caf::none;
  }

  void release() override {
    for (auto& c : controllers_)
      ::rmdir(dir(c, "").c_str());
  }

  std::vector<std::string> list() override {
    std::vector<std::string> result;
    std::error_code ec;
    for (auto& e : fs::directory_iterator{dir("pids", ""), ec})
      if (e.is_directory())
        result.push_back(e.path().filename().string());
    return result;
  }

private:
  std::string dir(const std::string& controller, const std::string& name) const {
    auto d = root_ + "/" + controller + "/" + parent_;
    return name.empty() ? d : d + "/" + name;
  }

  std::string root_;
  std::string parent_;
  std::vector<std::string> controllers_ = {"memory", "cpu", "cpuacct", "pids",
                                           "freezer"};
};

// -- v2 -----------------------------------------------------------------------

class cgroups_v2 final : public cgroups {
public:
  cgroups_v2(std::string root, std::string parent)
    : root_(std::move(root)), parent_(std::move(parent)) {
    // nop
  }

  const char* version() const override {
    return "v2";
  }

  caf::error init(bool retry = true) {
    std::error_code ec;
    fs::create_directories(dir(""), ec);
    if (ec)
      return make_error(ec::system_error, "cannot create cgroup " + dir("")
                                            + ": " + ec.message());
    // Controllers must be enabled on the way down to our groups.
    for (auto d : {root_, dir("")})
      if (auto err = write_file(d + "/cgroup.subtree_control",
                                "+cpu +memory +pids")) {
        // The parent may have been released by a driver of the same node
        // that stopped just now: make it again, once.
        if (retry && !fs::exists(dir("")))
          return init(false);
        return err;
      }
    return caf::none;
  }

  caf::error create(const std::string& name,
                    const cgroup_limits& limits) override {
    auto d = dir(name);
    auto rc = ::mkdir(d.c_str(), 0755);
    if (rc != 0 && errno == ENOENT) { // released just now (see v1)
      if (auto err = init())
        return err;
      rc = ::mkdir(d.c_str(), 0755);
    }
    if (rc != 0 && errno != EEXIST)
      return make_error(ec::system_error, "cannot create cgroup " + d + ": "
                                            + std::strerror(errno));
    if (auto err = write_file(d + "/memory.max",
                              std::to_string(limits.memory_bytes)))
      return err;
    write_file(d + "/memory.swap.max", "0");
    if (auto err = write_file(d + "/cpu.max",
                              std::to_string(limits.vcpu * cfs_period_us) + " "
                                + std::to_string(cfs_period_us)))
      return err;
    return write_file(d + "/pids.max", std::to_string(limits.pids));
  }

  caf::error add(const std::string& name, pid_t pid) override {
    return write_file(dir(name) + "/cgroup.procs", std::to_string(pid));
  }

  caf::error freeze(const std::string& name, bool frozen) override {
    if (auto err = write_file(dir(name) + "/cgroup.freeze", frozen ? "1" : "0"))
      return err;
    auto want = frozen ? 1u : 0u;
    for (int i = 0; i < 1000; ++i) {
      if (read_key(dir(name) + "/cgroup.events", "frozen") == want)
        return caf::none;
      std::this_thread::sleep_for(1ms);
    }
    return make_error(ec::timeout, "cgroup did not reach frozen "
                                     + std::to_string(want));
  }

  caf::expected<cgroup_stats> stats(const std::string& name) override {
    auto d = dir(name);
    cgroup_stats s;
    s.cpu_usec = read_key(d + "/cpu.stat", "usage_usec");
    s.memory_bytes = read_number(d + "/memory.current");
    auto max = read_file(d + "/memory.max");
    s.memory_limit = max.rfind("max", 0) == 0 ? 0 : read_number(d + "/memory.max");
    s.oom_kills = read_key(d + "/memory.events", "oom_kill");
    s.pids = read_number(d + "/pids.current");
    return s;
  }

  caf::error kill_all(const std::string& name) override {
    // cgroup.kill (5.14+) kills atomically; without it, kill one by one.
    if (!write_file(dir(name) + "/cgroup.kill", "1"))
      return caf::none;
    for (auto pid : read_pids(dir(name) + "/cgroup.procs"))
      ::kill(pid, SIGKILL);
    return caf::none;
  }

  caf::error remove(const std::string& name) override {
    return remove_dir(dir(name));
  }

  void release() override {
    ::rmdir(dir("").c_str());
  }

  std::vector<std::string> list() override {
    std::vector<std::string> result;
    std::error_code ec;
    for (auto& e : fs::directory_iterator{dir(""), ec})
      if (e.is_directory())
        result.push_back(e.path().filename().string());
    return result;
  }

private:
  std::string dir(const std::string& name) const {
    auto d = root_ + "/" + parent_;
    return name.empty() ? d : d + "/" + name;
  }

  std::string root_;
  std::string parent_;
};

} // namespace

caf::expected<cgroups_ptr> make_cgroups(const std::string& root,
                                        const std::string& parent) {
  if (fs::exists(root + "/cgroup.controllers")) {
    auto v2 = std::make_unique<cgroups_v2>(root, parent);
    if (auto err = v2->init())
      return err;
    return cgroups_ptr{std::move(v2)};
  }
  if (fs::exists(root + "/memory") && fs::exists(root + "/pids")) {
    auto v1 = std::make_unique<cgroups_v1>(root, parent);
    if (auto err = v1->init())
      return err;
    return cgroups_ptr{std::move(v1)};
  }
  return make_error(ec::system_error,
                    "no usable cgroup hierarchy under " + root
                      + " (need cgroup v2, or v1 with memory, cpu, pids and "
                        "freezer)");
}

} // namespace sbx

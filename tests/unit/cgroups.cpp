// The cgroup logic against fake cgroupfs trees (plain directories), so that
// v2 is covered on this v1 host and v1 without touching the real hierarchy.

#include "runtime/sandbox/cgroups.hpp"

#include "actors/error.hpp"
#include "tests/support/printers.hpp"
#include "tests/support/subprocess.hpp"

#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

using namespace sbx;
namespace fs = std::filesystem;

namespace {

std::string slurp(const std::string& path) {
  std::ifstream in{path};
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void put(const std::string& path, const std::string& text) {
  fs::create_directories(fs::path{path}.parent_path());
  std::ofstream{path} << text;
}

/// The files the kernel would create in a new cgroup directory; a real
/// cgroupfs makes them itself, a fake tree needs them up front.
void prepare_v2(const std::string& group) {
  for (auto f : {"memory.max", "memory.swap.max", "cpu.max", "pids.max",
                 "cgroup.procs", "cgroup.freeze", "cgroup.kill",
                 "cgroup.subtree_control"})
    put(group + "/" + f, "");
}

} // namespace

BOOST_AUTO_TEST_SUITE(cgroups)

BOOST_AUTO_TEST_CASE(v2_is_detected_and_limits_are_written) {
  test::temp_dir root;
  put(root.path() + "/cgroup.controllers", "cpu memory pids\n");
  put(root.path() + "/cgroup.subtree_control", "");
  put(root.path() + "/sandhive/cgroup.subtree_control", "");
  auto cg = make_cgroups(root.path(), "sandhive");
  BOOST_REQUIRE(cg);
  BOOST_TEST((*cg)->version() == std::string{"v2"});
  // Controllers are enabled for the parent and for our groups.
  BOOST_TEST(slurp(root.path() + "/cgroup.subtree_control")
             == "+cpu +memory +pids");
  BOOST_TEST(slurp(root.path() + "/sandhive/cgroup.subtree_control")
             == "+cpu +memory +pids");
  auto g = root.path() + "/sandhive/sb1";
  prepare_v2(g);
  cgroup_limits limits;
  limits.vcpu = 2;
  limits.memory_bytes = 256ull << 20;
  limits.pids = 100;
  BOOST_REQUIRE(!(*cg)->create("sb1", limits));
  BOOST_TEST(slurp(g + "/memory.max") == "268435456");
  BOOST_TEST(slurp(g + "/memory.swap.max") == "0");
  BOOST_TEST(slurp(g + "/cpu.max") == "200000 100000");
  BOOST_TEST(slurp(g + "/pids.max") == "100");
  BOOST_REQUIRE(!(*cg)->add("sb1", 4242));
  BOOST_TEST(slurp(g + "/cgroup.procs") == "4242");
  BOOST_TEST((*cg)->list() == std::vector<std::string>{"sb1"});
}

BOOST_AUTO_TEST_CASE(v2_freeze_waits_for_the_kernel_and_stats_parse) {
  test::temp_dir root;
  put(root.path() + "/cgroup.controllers", "");
  put(root.path() + "/cgroup.subtree_control", "");
  put(root.path() + "/sandhive/cgroup.subtree_control", "");
  auto cg = make_cgroups(root.path(), "sandhive");
  BOOST_REQUIRE(cg);
  auto g = root.path() + "/sandhive/sb1";
  prepare_v2(g);
  BOOST_REQUIRE(!(*cg)->create("sb1", {}));
  // The kernel reports the state in cgroup.events; a fake that never
  // reaches it makes freeze time out instead of lying.
  put(g + "/cgroup.events", "populated 1\nfrozen 0\n");
  auto err = (*cg)->freeze("sb1", true);
  BOOST_TEST(err == ec::timeout);
  BOOST_TEST(slurp(g + "/cgroup.freeze") == "1");
  put(g + "/cgroup.events", "populated 1\nfrozen 1\n");
  BOOST_TEST(!(*cg)->freeze("sb1", true));
  put(g + "/cpu.stat", "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\n");
  put(g + "/memory.current", "1048576\n");
  put(g + "/memory.max", "max\n");
  put(g + "/memory.events", "low 0\nhigh 0\nmax 3\noom 1\noom_kill 2\n");
  put(g + "/pids.current", "7\n");
  auto st = (*cg)->stats("sb1");
  BOOST_REQUIRE(st);
  BOOST_TEST(st->cpu_usec == 1500u);
  BOOST_TEST(st->memory_bytes == 1048576u);
  BOOST_TEST(st->memory_limit == 0u);
  BOOST_TEST(st->oom_kills == 2u);
  BOOST_TEST(st->pids == 7u);
  // cgroup.kill is the way to end everything on v2.
  BOOST_TEST(!(*cg)->kill_all("sb1"));
  BOOST_TEST(slurp(g + "/cgroup.kill") == "1");
}

BOOST_AUTO_TEST_CASE(v1_uses_one_hierarchy_per_controller) {
  test::temp_dir root;
  for (auto c : {"memory", "cpu", "cpuacct", "pids", "freezer"})
    fs::create_directories(root.path() + "/" + c);
  auto cg = make_cgroups(root.path(), "sandhive");
  BOOST_REQUIRE(cg);
  BOOST_TEST((*cg)->version() == std::string{"v1"});
  for (auto f : {"memory/sandhive/sb1/memory.limit_in_bytes",
                 "memory/sandhive/sb1/memory.swappiness",
                 "cpu/sandhive/sb1/cpu.cfs_period_us",
                 "cpu/sandhive/sb1/cpu.cfs_quota_us",
                 "pids/sandhive/sb1/pids.max"})
    put(root.path() + "/" + f, "");
  cgroup_limits limits;
  limits.vcpu = 3;
  limits.memory_bytes = 1 << 20;
  limits.pids = 9;
  BOOST_REQUIRE(!(*cg)->create("sb1", limits));
  BOOST_TEST(slurp(root.path() + "/memory/sandhive/sb1/memory.limit_in_bytes")
             == "1048576");
  BOOST_TEST(slurp(root.path() + "/cpu/sandhive/sb1/cpu.cfs_quota_us")
             == "300000");
  BOOST_TEST(slurp(root.path() + "/pids/sandhive/sb1/pids.max") == "9");
  put(root.path() + "/memory/sandhive/sb1/memory.oom_control",
      "oom_kill_disable 0\nunder_oom 0\noom_kill 4\n");
  put(root.path() + "/cpuacct/sandhive/sb1/cpuacct.usage", "5000000\n");
  auto st = (*cg)->stats("sb1");
  BOOST_REQUIRE(st);
  BOOST_TEST(st->oom_kills == 4u);
  BOOST_TEST(st->cpu_usec == 5000u);
}

BOOST_AUTO_TEST_CASE(no_hierarchy_is_a_clear_error) {
  test::temp_dir root;
  auto cg = make_cgroups(root.path(), "sandhive");
  BOOST_REQUIRE(!cg);
  BOOST_TEST(message_of(cg.error()).find("no usable cgroup hierarchy")
             != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

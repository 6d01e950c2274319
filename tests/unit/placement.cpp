#include "actors/placement.hpp"

#include <boost/test/unit_test.hpp>

#include <algorithm>

using namespace sbx::placement;

namespace {

node make_node(std::string name, unsigned vcpu = 128, uint64_t mem = 262144,
               unsigned max = 100) {
  node n;
  n.name = std::move(name);
  n.vcpu_capacity = vcpu;
  n.memory_capacity_mb = mem;
  n.max_sandboxes = max;
  n.templates = {"base"};
  return n;
}

std::vector<node> cluster(size_t n) {
  std::vector<node> nodes;
  for (size_t i = 0; i < n; ++i)
    nodes.push_back(make_node("n" + std::to_string(i)));
  return nodes;
}

request small() {
  return {"base", 1, 256};
}

} // namespace

BOOST_AUTO_TEST_SUITE(placement)

BOOST_AUTO_TEST_CASE(equal_nodes_get_an_even_share) {
  auto nodes = cluster(10);
  std::mt19937_64 rng{1};
  options o;
  for (int i = 0; i < 900; ++i) {
    auto d = place(nodes, small(), o, rng);
    BOOST_REQUIRE(d.node);
    reserve(nodes[*d.node], small());
    settle(nodes[*d.node], small(), true);
  }
  for (auto& n : nodes)
    BOOST_TEST((n.sandboxes >= 80 && n.sandboxes <= 100),
               n.name << " got " << n.sandboxes);
}

BOOST_AUTO_TEST_CASE(a_burst_in_flight_does_not_herd) {
  // 200 creates decided before any node answers: the reservations and the
  // in-flight count spread them even though the nodes report nothing new.
  auto nodes = cluster(20);
  nodes[7].vcpu_used = 0; // all equal; one would attract a stale scheduler
  for (auto& n : nodes)
    if (n.name != "n7")
      n.vcpu_used = 2;
  std::mt19937_64 rng{2};
  options o;
  for (int i = 0; i < 200; ++i) {
    auto d = place(nodes, small(), o, rng);
    BOOST_REQUIRE(d.node);
    reserve(nodes[*d.node], small());
  }
  unsigned most = 0;
  for (auto& n : nodes)
    most = std::max(most, n.starting);
  BOOST_TEST(most <= 20u, "one node got " << most << " of 200");
  BOOST_TEST(nodes[7].starting <= 20u);
}

BOOST_AUTO_TEST_CASE(vcpu_is_overcommitted_by_the_ratio_and_memory_never) {
  std::vector<node> nodes{make_node("a", 4, 4096, 100)};
  std::mt19937_64 rng{3};
  options o;
  o.vcpu_overcommit = 2.0;
  int placed = 0;
  for (;; ++placed) {
    auto d = place(nodes, small(), o, rng);
    if (!d.node) {
      BOOST_TEST(d.reason.find("vCPU") != std::string::npos, d.reason);
      break;
    }
    reserve(nodes[0], small());
    settle(nodes[0], small(), true);
  }
  BOOST_TEST(placed == 8);
  // Memory: 4096 MiB fit four 1 GiB sandboxes whatever the vCPU ratio.
  nodes = {make_node("b", 64, 4096, 100)};
  request big{"base", 1, 1024};
  placed = 0;
  while (auto n = place(nodes, big, o, rng).node) {
    reserve(nodes[*n], big);
    ++placed;
  }
  BOOST_TEST(placed == 4);
  BOOST_TEST(place(nodes, big, o, rng).reason.find("memory")
             != std::string::npos);
}

BOOST_AUTO_TEST_CASE(only_ready_schedulable_nodes_with_the_template_qualify) {
  auto nodes = cluster(6);
  nodes[0].ready = false;
  nodes[1].cordoned = true;
  nodes[2].draining = true;
  nodes[3].templates = {"other"};
  nodes[4].sandboxes = nodes[4].max_sandboxes; // full
  std::mt19937_64 rng{4};
  options o;
  for (int i = 0; i < 50; ++i) {
    auto d = place(nodes, small(), o, rng);
    BOOST_REQUIRE(d.node);
    BOOST_TEST(*d.node == 5u);
  }
  // A node that failed this request is not tried again.
  auto d = place(nodes, small(), o, rng, {5});
  BOOST_TEST(!d.node);
  BOOST_TEST(!d.reason.empty());
  // Nonsense capacity fits nothing.
  std::vector<node> zero{make_node("z", 0, 0, 0)};
  BOOST_TEST(!place(zero, small(), o, rng).node);
  BOOST_TEST(!place({}, small(), o, rng).node);
  BOOST_TEST(place({}, small(), o, rng).reason == "no nodes in the cluster");
}

BOOST_AUTO_TEST_CASE(a_warm_sandbox_of_the_template_attracts_the_create) {
  auto nodes = cluster(3);
  nodes[2].warm["base"] = 1;
  std::mt19937_64 rng{5};
  options o; // samples 3 of 3: every node is a candidate
  auto d = place(nodes, small(), o, rng);
  BOOST_REQUIRE(d.node);
  BOOST_TEST(*d.node == 2u);
  reserve(nodes[2], small());
  BOOST_TEST(nodes[2].warm["base"] == 0u); // that warm sandbox is taken
  // Locality does not beat a node that is much fuller.
  nodes = cluster(2);
  nodes[0].warm["base"] = 1;
  nodes[0].vcpu_used = 96; // 75 % full
  BOOST_TEST(*place(nodes, small(), o, rng).node == 1u);
}

BOOST_AUTO_TEST_CASE(a_failed_start_returns_its_reservation) {
  auto nodes = cluster(1);
  reserve(nodes[0], small());
  BOOST_TEST(nodes[0].starting == 1u);
  BOOST_TEST(nodes[0].vcpu_used == 1u);
  settle(nodes[0], small(), false);
  BOOST_TEST(nodes[0].starting == 0u);
  BOOST_TEST(nodes[0].vcpu_used == 0u);
  BOOST_TEST(nodes[0].memory_used_mb == 0u);
  BOOST_TEST(nodes[0].sandboxes == 0u);
}

BOOST_AUTO_TEST_CASE(an_ended_sandbox_makes_room_before_the_next_report) {
  // A node with room for two: creates and kills at a high rate must not
  // find it full of sandboxes that ended since its last heartbeat.
  auto nodes = cluster(1);
  nodes[0].vcpu_capacity = 2;
  options o;
  std::mt19937_64 rng{1};
  for (int i = 0; i < 10; ++i) {
    auto d = place(nodes, small(), o, rng);
    BOOST_REQUIRE_MESSAGE(d.node, "create " << i << ": " << d.reason);
    reserve(nodes[0], small());
    settle(nodes[0], small(), true);
    release(nodes[0], small());
  }
  BOOST_TEST(nodes[0].vcpu_used == 0u);
  BOOST_TEST(nodes[0].sandboxes == 0u);
  // Never below zero, whatever the order of reports and ends.
  release(nodes[0], small());
  BOOST_TEST(nodes[0].vcpu_used == 0u);
  BOOST_TEST(nodes[0].sandboxes == 0u);
}

BOOST_AUTO_TEST_CASE(big_clusters_are_sampled_not_scanned) {
  auto nodes = cluster(10'000);
  std::mt19937_64 rng{6};
  options o;
  // A scan would favour low indexes on ties; sampling spreads 3,000 creates
  // over many nodes.
  std::vector<unsigned> hits(nodes.size());
  for (int i = 0; i < 3000; ++i) {
    auto d = place(nodes, small(), o, rng);
    BOOST_REQUIRE(d.node);
    reserve(nodes[*d.node], small());
    settle(nodes[*d.node], small(), true);
    ++hits[*d.node];
  }
  auto used = std::count_if(hits.begin(), hits.end(),
                            [](unsigned h) { return h > 0; });
  BOOST_TEST(used > 2000);
}

BOOST_AUTO_TEST_SUITE_END()

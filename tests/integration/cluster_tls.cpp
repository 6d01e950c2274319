// A cluster whose every connection is TLS (caf::openssl) with certificates
// checked both ways: nodes, gateways and operators work through it, and
// strangers (no TLS, no certificate, another CA) are kept out without
// disturbing the members.

#include "tests/support/local_cluster.hpp"
#include "tests/support/sandboxes.hpp"

#include <boost/test/unit_test.hpp>

#include <csignal>
#include <fstream>
#include <thread>

using namespace sbx;
using namespace std::chrono_literals;
using test::eventually;

namespace {

/// Runs openssl with `args`; true when it exits 0.
bool openssl(std::vector<std::string> args) {
  args.insert(args.begin(), "/usr/bin/openssl");
  test::subprocess p{args};
  return p.exit_code(60s) == 0;
}

/// A CA and a certificate it signed: (certificate, key, CA) paths.
struct pki {
  std::string cert, key, ca;

  pki(const std::string& dir, const std::string& name) {
    auto p = dir + "/" + name;
    ca = p + "-ca.pem";
    cert = p + ".pem";
    key = p + ".key";
    BOOST_REQUIRE(openssl({"req", "-x509", "-newkey", "rsa:2048", "-nodes",
                           "-keyout", p + "-ca.key", "-out", ca, "-days", "2",
                           "-subj", "/CN=" + name + " test CA"}));
    BOOST_REQUIRE(openssl({"req", "-newkey", "rsa:2048", "-nodes", "-keyout",
                           key, "-out", p + ".csr", "-subj",
                           "/CN=sandhive-cluster"}));
    BOOST_REQUIRE(openssl({"x509", "-req", "-in", p + ".csr", "-CA", ca,
                           "-CAkey", p + "-ca.key", "-CAcreateserial", "-out",
                           cert, "-days", "2"}));
  }

  std::vector<std::string> args() const {
    return {"--tls-certificate", cert, "--tls-key", key, "--tls-ca", ca};
  }
};

struct fixture {
  static inline std::unique_ptr<test::temp_dir> dir;
  static inline std::unique_ptr<pki> good;
  static inline std::unique_ptr<test::local_cluster> c;

  fixture() {
    if (c)
      return;
    dir = std::make_unique<test::temp_dir>();
    good = std::make_unique<pki>(dir->path(), "cluster");
    test::local_cluster::options opts;
    opts.name = "tls";
    opts.nodes = {"n1", "n2"};
    opts.gateways = 1;
    opts.extra = good->args();
    test::start_once(c, opts);
  }

  /// Writes and reads back a file in a sandbox through the gateway.
  static bool files_work(const std::pair<std::string, std::string>& sb) {
    std::vector<std::pair<std::string, std::string>> h{
      {"E2b-Sandbox-Id", sb.first},
      {"X-Access-Token", sb.second},
      {"Content-Type", "application/octet-stream"}};
    auto w = test::http_request(c->gateway_port(0), "POST",
                                "/files?path=/tmp/probe&username=user",
                                "over tls " + sb.first, h, 10s);
    auto r = test::http_request(c->gateway_port(0), "GET",
                                "/files?path=/tmp/probe&username=user", "", h,
                                10s);
    return w.status == 200 && r.status == 200
           && r.body == "over tls " + sb.first;
  }
};

} // namespace

BOOST_AUTO_TEST_SUITE(cluster_tls, *boost::unit_test::precondition(
                                     test::sandboxes_supported))

BOOST_FIXTURE_TEST_CASE(members_work_over_tls, fixture) {
  BOOST_CHECK(c->control_said("(TLS)"));
  // The cluster port speaks TLS and shows the cluster's certificate.
  test::subprocess probe{{"/usr/bin/openssl", "s_client", "-connect",
                          "127.0.0.1:" + std::to_string(c->cluster_port())}};
  probe.exit_code(20s);
  BOOST_CHECK_MESSAGE(probe.out().find("CN = sandhive-cluster")
                        != std::string::npos,
                      probe.out() + probe.err());
  // Sandboxes on both nodes, their data through the gateway's own TLS
  // connections to the nodes.
  std::vector<std::pair<std::string, std::string>> sbs;
  for (int i = 0; i < 4; ++i) {
    sbs.push_back(c->create(0));
    BOOST_REQUIRE(!sbs.back().first.empty());
  }
  for (auto& sb : sbs)
    BOOST_CHECK(files_work(sb));
  // Operators too.
  auto r = c->admin("nodes", true);
  BOOST_CHECK_EQUAL(r.code, 0);
  BOOST_CHECK(r.out.find("\"n2\"") != std::string::npos);
  c->kill_all();
}

BOOST_FIXTURE_TEST_CASE(strangers_are_kept_out_and_members_stay, fixture) {
  auto sb = c->create(0);
  BOOST_REQUIRE(!sb.first.empty());
  // A node speaking plain BASP, one with a certificate of another CA, and
  // a TLS client with no certificate at all, each knocking for seconds.
  pki rogue{dir->path(), "rogue"};
  c->start_node("plain", "", "plain", std::vector<std::string>{});
  c->start_node("rogue", "", "rogue", rogue.args());
  for (int i = 0; i < 3; ++i) {
    test::subprocess probe{{"/usr/bin/openssl", "s_client", "-connect",
                            "127.0.0.1:" + std::to_string(c->cluster_port())}};
    probe.exit_code(10s);
    // An operator's shell coming and going, as in daily use.
    BOOST_CHECK_EQUAL(c->admin("nodes").code, 0);
  }
  // Both tried (a new node builds its template first, slower under load)
  // and neither got in.
  for (auto n : {"plain", "rogue"})
    BOOST_CHECK_MESSAGE(eventually(
                          [&] {
                            return test::local_cluster::logs(*c->nodes[n]).find(
                                     "cannot join the control")
                                   != std::string::npos;
                          },
                          60s),
                        n << ": " << test::local_cluster::logs(*c->nodes[n]));
  BOOST_CHECK(!c->control_said("node plain joined"));
  BOOST_CHECK(!c->control_said("node rogue joined"));
  // Nobody knocking cut a member off: no node was lost, and the sandbox
  // made before works.
  BOOST_CHECK_MESSAGE(!c->control_said(" lost:"),
                      test::local_cluster::logs(*c->control));
  BOOST_CHECK(files_work(sb));
  for (auto n : {"plain", "rogue"}) {
    c->nodes[n]->signal(SIGTERM);
    c->nodes[n]->exit_code(20s);
  }
  c->kill_all();
}

BOOST_AUTO_TEST_SUITE_END()

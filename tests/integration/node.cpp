// The node, pool and sandbox actors over real sandboxes.

#include "actors/node.hpp"

#include "actors/error.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/printers.hpp"
#include "tests/support/sandboxes.hpp"

#include "envd.pb.h"

#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <fstream>
#include <thread>

#include <csignal>
#include <unistd.h>

using namespace sbx;
using namespace std::chrono_literals;
using sandhive::envd::FromEnvd;
using sandhive::envd::ToEnvd;

namespace {

struct run_result {
  std::string out;
  int exit_code = -999;
  std::string error;
};

struct node_fixture {
  test::temp_dir dir;
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  node_actor n;
  std::string cgroup_parent = "sandhive-node-" + std::to_string(::getpid());

  node_fixture() {
    sys = std::make_unique<caf::actor_system>(cfg);
    node_config nc;
    nc.data_dir = dir.path();
    nc.envd_path = SBX_ENVD_BINARY;
    nc.cgroup_parent = cgroup_parent;
    nc.pools = {{"base", 2}};
    // The template is built once per test process: reuse it.
    std::filesystem::create_directories(dir.path() + "/templates");
    std::filesystem::create_directory_symlink(
      std::filesystem::path{test::base_rootfs()}.parent_path(),
      dir.path() + "/templates/base");
    auto made = make_node(*sys, nc);
    if (!made)
      throw std::runtime_error(message_of(made.error()));
    n = *made;
  }

  ~node_fixture() {
    caf::anon_send_exit(n, caf::exit_reason::user_shutdown);
    sys.reset(); // waits for every actor; the node ends its sandboxes
  }

  std::pair<sandbox_actor, sandbox_info> create(sandbox_request req = {}) {
    caf::scoped_actor self{*sys};
    std::pair<sandbox_actor, sandbox_info> result;
    self->request(n, 60s, atom::create_v, req)
      .receive(
        [&](sandbox_actor& sb, sandbox_info& info) {
          result = {sb, info};
        },
        [&](caf::error& err) { BOOST_FAIL("create: " << message_of(err)); });
    return result;
  }

  caf::error create_error(sandbox_request req) {
    caf::scoped_actor self{*sys};
    caf::error result;
    self->request(n, 60s, atom::create_v, req)
      .receive([&](sandbox_actor&, sandbox_info&) {},
               [&](caf::error& err) { result = err; });
    return result;
  }

  run_result run(const sandbox_actor& sb, const std::string& script) {
    caf::scoped_actor self{*sys};
    ToEnvd msg;
    auto cfg = msg.mutable_start()->mutable_request()->mutable_process();
    cfg->set_cmd("/bin/bash");
    cfg->add_args("-c");
    cfg->add_args(script);
    msg.mutable_start()->mutable_request()->set_stdin(false);
    run_result r;
    uint64_t id = 0;
    self->request(sb, 10s, atom::stream_v, envd_request{msg.SerializeAsString()},
                  caf::actor_cast<caf::actor>(self))
      .receive([&](uint64_t x) { id = x; },
               [&](caf::error& err) { r.error = message_of(err); });
    if (id == 0)
      return r;
    bool done = false;
    while (!done) {
      self->receive(
        [&](atom::event, uint64_t sid, const envd_reply& reply) {
          BOOST_REQUIRE_EQUAL(sid, id);
          FromEnvd m;
          m.ParseFromString(reply.bytes);
          if (m.has_event() && m.event().has_data()) {
            r.out += m.event().data().stdout();
            self->send(sb, atom::ack_v, id,
                       uint64_t{m.event().data().stdout().size()});
          }
          if (m.has_event() && m.event().has_end())
            r.exit_code = m.event().end().exit_code();
          if (m.has_error())
            r.error = m.error().message();
          done = m.has_done() || m.has_error();
        },
        caf::after(20s) >> [&] {
          r.error = "timeout";
          done = true;
        });
    }
    return r;
  }

  template <class T, class... Ts>
  caf::expected<T> ask(const sandbox_actor& sb, Ts... xs) {
    caf::scoped_actor self{*sys};
    caf::expected<T> result{caf::error{}};
    self->request(sb, 30s, xs...)
      .receive([&](T& x) { result = std::move(x); },
               [&](caf::error& err) { result = err; });
    return result;
  }

  node_load load() {
    caf::scoped_actor self{*sys};
    node_load result;
    self->request(n, 10s, atom::stats_v)
      .receive([&](node_load& x) { result = x; },
               [&](caf::error& err) { BOOST_FAIL(message_of(err)); });
    return result;
  }

  bool sandbox_gone(const std::string& id) {
    caf::scoped_actor self{*sys};
    bool gone = false;
    self->request(n, 10s, atom::get_v, id)
      .receive([&](sandbox_actor&) {}, [&](caf::error& err) {
        gone = err == ec::not_found;
      });
    return gone;
  }
};

} // namespace

BOOST_AUTO_TEST_SUITE(node,
                      *boost::unit_test::precondition(test::sandboxes_supported))

BOOST_FIXTURE_TEST_CASE(create_claims_with_envs_and_runs_commands, node_fixture) {
  sandbox_request req;
  req.envs = {{"FOO", "bar"}};
  req.metadata = {{"owner", "alice"}};
  req.team = "t1";
  auto [sb, info] = create(req);
  BOOST_TEST(info.state == "running");
  BOOST_TEST(info.team == "t1");
  BOOST_TEST(info.metadata.at("owner") == "alice");
  BOOST_TEST(info.end_at_ms > info.started_at_ms);
  auto r = run(sb, "echo $FOO; whoami; pwd");
  BOOST_TEST(r.error.empty(), r.error);
  BOOST_TEST(r.out == "bar\nuser\n/home/user\n");
  BOOST_TEST(r.exit_code == 0);
  // A unary request: Stat.
  ToEnvd stat;
  stat.mutable_fs()->mutable_stat()->set_path("/home/user");
  auto reply = ask<envd_reply>(sb, atom::request_v,
                               envd_request{stat.SerializeAsString()});
  BOOST_REQUIRE(reply);
  FromEnvd m;
  m.ParseFromString(reply->bytes);
  BOOST_TEST(m.entry().owner() == "user");
}

BOOST_FIXTURE_TEST_CASE(the_pool_keeps_warm_sandboxes_and_refills,
                        node_fixture) {
  BOOST_TEST(test::eventually([&] { return load().warm["base"] == 2; }, 20s));
  auto t0 = std::chrono::steady_clock::now();
  auto [sb, info] = create();
  auto took = std::chrono::steady_clock::now() - t0;
  BOOST_TEST((took < 1s));
  BOOST_TEST(run(sb, "echo warm").out == "warm\n");
  BOOST_TEST(test::eventually([&] { return load().warm["base"] == 2; }, 20s));
  BOOST_TEST(load().sandboxes == 3u);
}

BOOST_FIXTURE_TEST_CASE(a_timeout_kills_and_reports, node_fixture) {
  caf::scoped_actor sub{*sys};
  caf::anon_send(n, atom::subscribe_v, caf::actor_cast<caf::actor>(sub));
  sandbox_request req;
  req.timeout_ms = 300;
  auto [sb, info] = create(req);
  BOOST_TEST(test::eventually([&] { return sandbox_gone(info.id); }, 5s));
  bool seen = false;
  sub->receive_while([&] { return !seen; })(
    [&](atom::event, const sandbox_event& ev) {
      if (ev.id == info.id) {
        seen = true;
        BOOST_TEST(ev.state == "killed");
        BOOST_TEST(ev.reason == "timeout");
      }
    },
    caf::after(5s) >> [&] { seen = true; });
  BOOST_TEST(!std::filesystem::exists(dir.path() + "/sandboxes/" + info.id));
  // Extending the timeout keeps a sandbox alive.
  sandbox_request longer;
  longer.timeout_ms = 300;
  auto [sb2, info2] = create(longer);
  BOOST_REQUIRE(ask<sandbox_info>(sb2, atom::timeout_v, int64_t{10'000}));
  std::this_thread::sleep_for(600ms);
  BOOST_TEST(!sandbox_gone(info2.id));
}

BOOST_FIXTURE_TEST_CASE(pause_with_and_without_memory, node_fixture) {
  auto [sb, info] = create();
  BOOST_TEST(run(sb, "echo data > /home/user/f; sleep 1000 >/dev/null 2>&1 &"
                     " echo started")
               .out
             == "started\n");
  auto paused = ask<sandbox_info>(sb, atom::pause_v, true);
  BOOST_REQUIRE(paused);
  BOOST_TEST(paused->state == "paused");
  auto again = ask<sandbox_info>(sb, atom::pause_v, true);
  BOOST_TEST(again.error() == ec::conflict);
  BOOST_TEST(run(sb, "true").error.find("paused") != std::string::npos);
  auto resumed = ask<sandbox_info>(sb, atom::resume_v);
  BOOST_REQUIRE(resumed);
  BOOST_TEST(resumed->state == "running");
  // The process kept running through the freeze.
  BOOST_TEST(run(sb, "pgrep -c sleep || ps aux | grep -c 'sleep 100[0]'")
               .out.find("1")
             != std::string::npos);
  // Without memory: files stay, processes do not.
  BOOST_REQUIRE(ask<sandbox_info>(sb, atom::pause_v, false));
  auto back = ask<sandbox_info>(sb, atom::resume_v);
  BOOST_REQUIRE_MESSAGE(back, (back ? "" : message_of(back.error())));
  BOOST_TEST(run(sb, "cat /home/user/f").out == "data\n");
  BOOST_TEST(run(sb, "ps aux | grep -c 'sleep 100[0]'").out == "0\n");
}

BOOST_FIXTURE_TEST_CASE(kill_removes_everything, node_fixture) {
  auto [sb, info] = create();
  BOOST_REQUIRE(ask<atom::ok_atom>(sb, atom::kill_v, std::string{"test"}));
  BOOST_TEST(test::eventually([&] { return sandbox_gone(info.id); }, 5s));
  BOOST_TEST(!std::filesystem::exists(dir.path() + "/sandboxes/" + info.id));
}

BOOST_FIXTURE_TEST_CASE(a_dead_envd_is_reported_and_cleaned, node_fixture) {
  auto [sb, info] = create();
  auto procs = "/sys/fs/cgroup/pids/" + cgroup_parent + "/" + info.id
               + "/cgroup.procs";
  std::ifstream in{procs};
  pid_t envd = 0;
  in >> envd;
  BOOST_REQUIRE(envd > 0);
  ::kill(envd, SIGKILL);
  BOOST_TEST(test::eventually([&] { return sandbox_gone(info.id); }, 5s));
  BOOST_TEST(!std::filesystem::exists(dir.path() + "/sandboxes/" + info.id));
}

BOOST_FIXTURE_TEST_CASE(a_crashed_sandbox_actor_is_cleaned_by_the_node,
                        node_fixture) {
  auto [sb, info] = create();
  caf::anon_send_exit(sb, caf::exit_reason::kill);
  BOOST_TEST(test::eventually([&] { return sandbox_gone(info.id); }, 5s));
  BOOST_TEST(test::eventually(
    [&] {
      return !std::filesystem::exists(dir.path() + "/sandboxes/" + info.id);
    },
    5s));
}

BOOST_FIXTURE_TEST_CASE(bad_requests_are_refused, node_fixture) {
  sandbox_request unknown;
  unknown.template_id = "nope";
  auto err = create_error(unknown);
  BOOST_TEST(err == ec::not_found);
  BOOST_TEST(message_of(err) == "template 'nope' not found");
  sandbox_request big;
  big.vcpu = 1000;
  BOOST_TEST(create_error(big) == ec::invalid_argument);
  sandbox_request negative;
  negative.timeout_ms = -1;
  BOOST_TEST(create_error(negative) == ec::invalid_argument);
  sandbox_request huge;
  huge.memory_mb = 200000;
  huge.vcpu = 1;
  BOOST_TEST(create_error(huge) == ec::resource_exhausted);
}

BOOST_AUTO_TEST_SUITE_END()

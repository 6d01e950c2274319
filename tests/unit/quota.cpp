// The team limits and the user actor's counters, and the join rules of the
// cluster (the door's proof, a node's self-description).

#include "actors/door.hpp"
#include "actors/error.hpp"
#include "actors/scheduler.hpp"
#include "actors/user.hpp"

#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>

#include <boost/test/unit_test.hpp>

using namespace sbx;
using namespace std::chrono_literals;

namespace {

struct user_fixture {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
  user_actor u = sys.spawn(user, std::string{"team-1"},
                           std::function<database_actor()>{});

  sandbox_request req(unsigned vcpu = 2, int64_t timeout_ms = 60'000) {
    sandbox_request r;
    r.team = "team-1";
    r.vcpu = vcpu;
    r.memory_mb = 512;
    r.timeout_ms = timeout_ms;
    return r;
  }

  caf::error reserve(const std::string& key, const sandbox_request& r) {
    caf::error result;
    self->request(u, 5s, atom::reserve_v, key, r)
      .receive([](atom::ok_atom) {}, [&](caf::error& err) { result = err; });
    return result;
  }

  team_usage usage() {
    team_usage result;
    self->request(u, 5s, atom::get_v)
      .receive([&](team_usage& x) { result = x; },
               [](caf::error& err) { BOOST_FAIL(message_of(err)); });
    return result;
  }
};

} // namespace

BOOST_AUTO_TEST_SUITE(quota)

BOOST_AUTO_TEST_CASE(plans_and_overrides_make_the_limits) {
  auto free = limits_of("free", {});
  BOOST_CHECK_EQUAL(free.max_sandboxes, 20u);
  BOOST_CHECK_EQUAL(free.max_lifetime_ms, 3600 * 1000);
  auto pro = limits_of("pro", {{"max_sandboxes", 7}, {"max_lifetime_s", 60}});
  BOOST_CHECK_EQUAL(pro.max_sandboxes, 7u);
  BOOST_CHECK_EQUAL(pro.max_lifetime_ms, 60'000);
  BOOST_CHECK_EQUAL(pro.max_vcpu, 8u);
  // Nonsense overrides are ignored, not applied.
  BOOST_CHECK_EQUAL(limits_of("free", {{"max_sandboxes", -3}}).max_sandboxes,
                    20u);
  // Request rates per plan, and a team's own.
  BOOST_CHECK_EQUAL(free.rate_create, 10);
  BOOST_CHECK_EQUAL(free.rate_control, 100);
  BOOST_CHECK_EQUAL(limits_of("enterprise", {}).rate_create, 200);
  BOOST_CHECK_EQUAL(limits_of("pro", {{"rate_create", 3}}).rate_create, 3);
}

BOOST_FIXTURE_TEST_CASE(the_count_is_exact_and_kills_give_room_back,
                        user_fixture) {
  for (int i = 0; i < 20; ++i)
    BOOST_REQUIRE(!reserve("r" + std::to_string(i), req()));
  auto err = reserve("r20", req());
  BOOST_CHECK(err == ec::resource_exhausted);
  BOOST_CHECK_GT(retry_after_of(err), 0);
  BOOST_CHECK(message_of(err).find("maximum number of concurrent") != std::string::npos);
  // The same key twice counts once.
  BOOST_CHECK(!reserve("r3", req()));
  BOOST_CHECK_EQUAL(usage().sandboxes, 20u);
  // A reservation becomes a sandbox; releasing either form frees one slot,
  // and a second release of the same one frees nothing more.
  sandbox_info info;
  info.id = "sb-1";
  info.vcpu = 2;
  info.memory_mb = 512;
  self->send(u, atom::commit_v, std::string{"r0"}, info);
  self->send(u, atom::release_v, std::string{"sb-1"});
  self->send(u, atom::release_v, std::string{"sb-1"});
  self->send(u, atom::release_v, std::string{"r0"});
  BOOST_CHECK_EQUAL(usage().sandboxes, 19u);
  BOOST_CHECK_EQUAL(usage().vcpu, 38u);
  // A sandbox found running after a restart is counted once, however often
  // it is reported.
  info.id = "sb-2";
  self->send(u, atom::adopt_v, info);
  self->send(u, atom::adopt_v, info);
  BOOST_CHECK_EQUAL(usage().sandboxes, 20u);
}

BOOST_FIXTURE_TEST_CASE(per_sandbox_limits_are_bad_requests, user_fixture) {
  BOOST_CHECK(reserve("a", req(64)) == ec::invalid_argument);
  BOOST_CHECK(reserve("b", req(2, 48 * 3600 * 1000ll)) == ec::invalid_argument);
  BOOST_CHECK_EQUAL(usage().sandboxes, 0u);
}

BOOST_AUTO_TEST_CASE(the_join_proof_binds_secret_nonce_role_and_name) {
  auto p = join_proof("s3cret", "nonce", "node", "n1");
  BOOST_CHECK_EQUAL(p.size(), 64u);
  BOOST_CHECK_EQUAL(p, join_proof("s3cret", "nonce", "node", "n1"));
  BOOST_CHECK_NE(p, join_proof("other", "nonce", "node", "n1"));
  BOOST_CHECK_NE(p, join_proof("s3cret", "nonce2", "node", "n1"));
  BOOST_CHECK_NE(p, join_proof("s3cret", "nonce", "gateway", "n1"));
  BOOST_CHECK_NE(p, join_proof("s3cret", "nonce", "node", "n2"));
}

BOOST_AUTO_TEST_CASE(a_node_describing_nonsense_is_refused) {
  node_load ok;
  ok.name = "node-1";
  ok.vcpu_capacity = 64;
  ok.memory_capacity_mb = 16384;
  ok.max_sandboxes = 100;
  BOOST_CHECK_EQUAL(invalid_registration(ok), "");
  auto bad = ok;
  bad.name = "no spaces";
  BOOST_CHECK_NE(invalid_registration(bad), "");
  bad = ok;
  bad.vcpu_capacity = 0;
  BOOST_CHECK(invalid_registration(bad).find("vCPU") != std::string::npos);
  bad = ok;
  bad.memory_capacity_mb = 1;
  BOOST_CHECK(invalid_registration(bad).find("memory") != std::string::npos);
  bad = ok;
  bad.max_sandboxes = 0;
  BOOST_CHECK_NE(invalid_registration(bad), "");
  bad = ok;
  bad.vcpu_used = 1'000'000;
  BOOST_CHECK_NE(invalid_registration(bad), "");
}

BOOST_AUTO_TEST_SUITE_END()

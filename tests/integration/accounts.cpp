// Accounts, teams, roles, API keys and the audit log through a real cluster
// (control, a node, two gateways): what a company's people do in a day, and
// what they must not be able to do.

#include "tests/support/local_cluster.hpp"
#include "tests/support/sandboxes.hpp"

#include <boost/test/unit_test.hpp>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

using namespace sbx;
using namespace std::chrono_literals;
using nlohmann::json;
using test::eventually;

namespace {

struct fixture {
  static inline std::unique_ptr<test::local_cluster> c;

  fixture() {
    test::local_cluster::options opts;
    opts.name = "accounts";
    opts.nodes = {"n1"};
    opts.gateways = 2;
    test::start_once(c, opts);
  }

  /// A request through gateway `g` with a bearer token (or none).
  static test::http_reply call(const std::string& method,
                               const std::string& target,
                               const json& body = nullptr,
                               const std::string& token = "", size_t g = 0) {
    std::vector<std::pair<std::string, std::string>> h{
      {"Content-Type", "application/json"}};
    if (!token.empty())
      h.emplace_back("Authorization", "Bearer " + token);
    return test::http_request(c->gateway_port(g), method, target,
                              body.is_null() ? "" : body.dump(), h, 30s);
  }

  static json parsed(const test::http_reply& r) {
    auto j = json::parse(r.body, nullptr, false);
    return j.is_discarded() ? json{} : j;
  }

  /// Registers `email` and logs in: the login's JSON.
  static json person(const std::string& email) {
    auto r = call("POST", "/v1/auth/register",
                  {{"email", email}, {"password", "a long password"}});
    BOOST_REQUIRE_MESSAGE(r.status == 201, r.status << " " << r.body);
    return login(email);
  }

  static json login(const std::string& email) {
    auto r = call("POST", "/v1/auth/login",
                  {{"email", email}, {"password", "a long password"}});
    BOOST_REQUIRE_MESSAGE(r.status == 200, r.status << " " << r.body);
    return parsed(r);
  }

  static std::string token(const json& login) {
    return login["accessToken"];
  }

  /// An E2B API request with an API key through gateway `g`.
  static test::http_reply e2b(const std::string& method,
                              const std::string& target,
                              const std::string& key, size_t g = 0) {
    return test::http_request(c->gateway_port(g), method, target,
                              method == "POST"
                                ? R"({"templateID":"base","timeout":60})"
                                : "",
                              {{"X-API-KEY", key},
                               {"Content-Type", "application/json"}},
                              30s);
  }
};

} // namespace

BOOST_AUTO_TEST_SUITE(accounts, *boost::unit_test::precondition(
                                  test::sandboxes_supported))

BOOST_FIXTURE_TEST_CASE(register_login_refresh_logout, fixture) {
  auto r = call("POST", "/v1/auth/register",
                {{"email", "Ann@Example.com"}, {"password", "a long password"}});
  BOOST_REQUIRE_EQUAL(r.status, 201u);
  auto reg = parsed(r);
  BOOST_CHECK_EQUAL(reg["team"]["slug"], "ann");
  BOOST_CHECK_EQUAL(reg["team"]["role"], "owner");
  // Taken (whatever the case), weak, malformed.
  BOOST_CHECK_EQUAL(call("POST", "/v1/auth/register",
                         {{"email", "ann@example.com"},
                          {"password", "another long one"}})
                      .status,
                    409u);
  BOOST_CHECK_EQUAL(call("POST", "/v1/auth/register",
                         {{"email", "x@example.com"}, {"password", "short"}})
                      .status,
                    400u);
  BOOST_CHECK_EQUAL(call("POST", "/v1/auth/register",
                         {{"email", "not-an-email"},
                          {"password", "a long password"}})
                      .status,
                    400u);
  BOOST_CHECK_EQUAL(call("POST", "/v1/auth/register", {{"email", 5}}).status,
                    400u);
  // The same answer for a wrong password and an unknown account.
  auto wrong = call("POST", "/v1/auth/login",
                    {{"email", "ann@example.com"}, {"password", "wrong one!!"}});
  auto unknown = call("POST", "/v1/auth/login",
                      {{"email", "nobody@example.com"},
                       {"password", "wrong one!!"}});
  BOOST_CHECK_EQUAL(wrong.status, 401u);
  BOOST_CHECK_EQUAL(unknown.status, 401u);
  BOOST_CHECK_EQUAL(wrong.body, unknown.body);
  // Guessing one account's password: ten tries, then 429 with Retry-After
  // (through either gateway: they share the bucket); others can still log
  // in.
  unsigned limited = 0;
  for (int i = 0; i < 12; ++i) {
    auto r = call("POST", "/v1/auth/login",
                  {{"email", "guess@example.com"}, {"password", "guess " + std::to_string(i)}},
                  "", i % 2);
    if (i < 10)
      BOOST_CHECK_EQUAL(r.status, 401u);
    if (r.status == 429) {
      ++limited;
      BOOST_CHECK(!r.header("Retry-After").empty());
    }
  }
  // (One token comes back every 6 s, so a slow machine may let one more in.)
  BOOST_CHECK_GE(limited, 1u);
  auto session = login("ann@example.com");
  BOOST_CHECK_EQUAL(session["tokenType"], "Bearer");
  auto me = parsed(call("GET", "/v1/me", nullptr, token(session)));
  BOOST_CHECK_EQUAL(me["email"], "Ann@Example.com");
  BOOST_CHECK_EQUAL(me["teams"][0]["slug"], "ann");
  // No token, a forged one, one signed with another key.
  BOOST_CHECK_EQUAL(call("GET", "/v1/me").status, 401u);
  BOOST_CHECK_EQUAL(call("GET", "/v1/me", nullptr, "e30.e30.xyz").status,
                    401u);
  auto t = token(session);
  auto forged = t.substr(0, t.rfind('.') + 1) + "AAAA";
  BOOST_CHECK_EQUAL(call("GET", "/v1/me", nullptr, forged).status, 401u);
  // A refresh gives new tokens; the old refresh token used again ends the
  // session (someone stole it).
  auto refreshed = call("POST", "/v1/auth/refresh",
                        {{"refreshToken", session["refreshToken"]}});
  BOOST_REQUIRE_EQUAL(refreshed.status, 200u);
  auto fresh = parsed(refreshed);
  BOOST_CHECK_EQUAL(call("GET", "/v1/me", nullptr, token(fresh), 1).status,
                    200u);
  BOOST_CHECK_EQUAL(call("POST", "/v1/auth/refresh",
                         {{"refreshToken", session["refreshToken"]}})
                      .status,
                    401u);
  BOOST_CHECK(eventually(
    [&] {
      return call("GET", "/v1/me", nullptr, token(fresh), 1).status == 401;
    },
    10s));
  // Logout: at once on this gateway, within seconds on the other.
  auto s2 = login("ann@example.com");
  BOOST_CHECK_EQUAL(call("GET", "/v1/me", nullptr, token(s2), 1).status, 200u);
  BOOST_CHECK_EQUAL(call("POST", "/v1/auth/logout", nullptr, token(s2)).status,
                    204u);
  BOOST_CHECK_EQUAL(call("GET", "/v1/me", nullptr, token(s2)).status, 401u);
  BOOST_CHECK(eventually(
    [&] {
      return call("GET", "/v1/me", nullptr, token(s2), 1).status == 401;
    },
    10s));
  BOOST_CHECK_EQUAL(call("POST", "/v1/auth/refresh",
                         {{"refreshToken", s2["refreshToken"]}})
                      .status,
                    401u);
}

BOOST_FIXTURE_TEST_CASE(teams_members_and_roles, fixture) {
  auto owner = token(person("olga@example.com"));
  auto admin = token(person("adam@example.com"));
  auto member = token(person("mia@example.com"));
  BOOST_REQUIRE_EQUAL(call("POST", "/v1/teams",
                           {{"slug", "acme"}, {"name", "Acme"}}, owner)
                        .status,
                      201u);
  BOOST_CHECK_EQUAL(call("POST", "/v1/teams", {{"slug", "acme"}}, admin).status,
                    409u);
  BOOST_CHECK_EQUAL(call("POST", "/v1/teams", {{"slug", "Not Valid"}}, admin)
                      .status,
                    400u);
  auto add = [&](const std::string& tok, const std::string& email,
                 const std::string& role) {
    return call("POST", "/v1/teams/acme/members",
                {{"email", email}, {"role", role}}, tok);
  };
  BOOST_CHECK_EQUAL(add(owner, "adam@example.com", "admin").status, 201u);
  BOOST_CHECK_EQUAL(add(owner, "adam@example.com", "admin").status, 409u);
  BOOST_CHECK_EQUAL(add(admin, "mia@example.com", "member").status, 201u);
  // An address without an account is invited, and joins on registering.
  auto inv = add(admin, "vic@example.com", "viewer");
  BOOST_CHECK_EQUAL(inv.status, 201u);
  BOOST_CHECK_EQUAL(parsed(inv)["invited"], true);
  auto viewer = token(person("vic@example.com"));
  auto me = parsed(call("GET", "/v1/me", nullptr, viewer));
  BOOST_CHECK_EQUAL(me["teams"].size(), 2u); // their own and acme
  // What each role may not do.
  BOOST_CHECK_EQUAL(add(admin, "x@example.com", "owner").status, 403u);
  BOOST_CHECK_EQUAL(add(member, "x@example.com", "viewer").status, 403u);
  BOOST_CHECK_EQUAL(add(viewer, "x@example.com", "viewer").status, 403u);
  BOOST_CHECK_EQUAL(call("GET", "/v1/teams/acme/audit", nullptr, member).status,
                    403u);
  // Not a member: the team does not exist for them.
  auto stranger = token(person("sam@example.com"));
  BOOST_CHECK_EQUAL(call("GET", "/v1/teams/acme", nullptr, stranger).status,
                    404u);
  BOOST_CHECK_EQUAL(
    call("GET", "/v1/teams/acme/members", nullptr, stranger).status, 404u);
  // Members, with their roles; balance only for those who see billing.
  auto members = parsed(call("GET", "/v1/teams/acme/members", nullptr, member));
  BOOST_CHECK_EQUAL(members.size(), 4u);
  BOOST_CHECK(!parsed(call("GET", "/v1/teams/acme", nullptr, member))
                 .contains("balanceMicros"));
  BOOST_CHECK(parsed(call("GET", "/v1/teams/acme", nullptr, admin))
                .contains("balanceMicros"));
  std::string olga, adam, mia;
  for (auto& m : members) {
    if (m["email"] == "olga@example.com")
      olga = m["userId"];
    if (m["email"] == "adam@example.com")
      adam = m["userId"];
    if (m["email"] == "mia@example.com")
      mia = m["userId"];
  }
  // Roles: an admin cannot touch an owner; the last owner stays.
  BOOST_CHECK_EQUAL(call("PATCH", "/v1/teams/acme/members/" + olga,
                         {{"role", "member"}}, admin)
                      .status,
                    403u);
  BOOST_CHECK_EQUAL(call("PATCH", "/v1/teams/acme/members/" + olga,
                         {{"role", "member"}}, owner)
                      .status,
                    409u);
  BOOST_CHECK_EQUAL(call("DELETE", "/v1/teams/acme/members/" + olga, nullptr,
                         owner)
                      .status,
                    409u);
  BOOST_CHECK_EQUAL(call("PATCH", "/v1/teams/acme/members/" + mia,
                         {{"role", "viewer"}}, admin)
                      .status,
                    200u);
  BOOST_CHECK_EQUAL(call("PATCH", "/v1/teams/acme/members/" + mia,
                         {{"role", "chief"}}, admin)
                      .status,
                    400u);
  // Anyone may leave; removing others takes members.manage.
  BOOST_CHECK_EQUAL(call("DELETE", "/v1/teams/acme/members/" + adam, nullptr,
                         member)
                      .status,
                    403u);
  BOOST_CHECK_EQUAL(call("DELETE", "/v1/teams/acme/members/" + mia, nullptr,
                         member)
                      .status,
                    204u);
  BOOST_CHECK_EQUAL(call("GET", "/v1/teams/acme", nullptr, member).status,
                    404u);
}

BOOST_FIXTURE_TEST_CASE(api_keys_scopes_and_revocation, fixture) {
  auto owner = token(person("kim@example.com"));
  auto make = [&](const std::string& tok, const json& body) {
    return call("POST", "/v1/teams/kim/api-keys", body, tok);
  };
  auto rw = make(owner, {{"name", "ci"}});
  BOOST_REQUIRE_EQUAL(rw.status, 201u);
  auto rw_key = parsed(rw)["key"].get<std::string>();
  BOOST_CHECK_EQUAL(rw_key.rfind("e2b_", 0), 0u);
  auto ro = parsed(make(owner, {{"name", "dashboard"},
                                {"scopes", json::array({"sandboxes:read"})},
                                {"expiresInDays", 30}}));
  auto ro_key = ro["key"].get<std::string>();
  BOOST_CHECK(!ro["expiresAt"].is_null());
  BOOST_CHECK_EQUAL(make(owner, {{"name", "x"}, {"scopes", json::array({"root"})}}).status,
                    400u);
  BOOST_CHECK_EQUAL(make(owner, {{"name", ""}}).status, 400u);
  BOOST_CHECK_EQUAL(make(owner, {{"name", "x"}, {"expiresInDays", -1}}).status,
                    400u);
  // The SDK's key works; a read-only key reads and cannot create.
  auto created = e2b("POST", "/v2/sandboxes", rw_key);
  BOOST_REQUIRE_MESSAGE(created.status == 201, created.body);
  auto id = parsed(created)["sandboxID"].get<std::string>();
  BOOST_CHECK_EQUAL(e2b("GET", "/v2/sandboxes", ro_key).status, 200u);
  auto refused = e2b("POST", "/v2/sandboxes", ro_key);
  BOOST_CHECK_EQUAL(refused.status, 403u);
  BOOST_CHECK(refused.body.find("sandboxes:write") != std::string::npos);
  BOOST_CHECK_EQUAL(e2b("GET", "/templates", ro_key).status, 403u);
  BOOST_CHECK_EQUAL(e2b("DELETE", "/sandboxes/" + id, ro_key).status, 403u);
  BOOST_CHECK_EQUAL(e2b("DELETE", "/sandboxes/" + id, rw_key).status, 204u);
  // Listed by prefix and last use, never the key.
  auto list = call("GET", "/v1/teams/kim/api-keys", nullptr, owner);
  BOOST_CHECK(list.body.find(rw_key) == std::string::npos);
  auto keys = parsed(list);
  BOOST_REQUIRE_EQUAL(keys.size(), 2u);
  for (auto& k : keys) {
    BOOST_CHECK(!k.contains("key"));
    BOOST_CHECK(!k["lastUsedAt"].is_null());
  }
  // Revoked: refused on every gateway within seconds.
  for (size_t g = 0; g < 2; ++g)
    BOOST_CHECK_EQUAL(e2b("GET", "/v2/sandboxes", rw_key, g).status, 200u);
  BOOST_CHECK_EQUAL(call("DELETE",
                         "/v1/teams/kim/api-keys/" + parsed(rw)["id"].get<std::string>(),
                         nullptr, owner)
                      .status,
                    204u);
  for (size_t g = 0; g < 2; ++g)
    BOOST_CHECK(eventually(
      [&] { return e2b("GET", "/v2/sandboxes", rw_key, g).status == 401; },
      10s));
  // An expired key stops working the same way.
  {
    pqxx::connection conn{c->database_url()};
    pqxx::work tx{conn};
    tx.exec_params("UPDATE api_keys SET expires_at = now() - interval '1 "
                   "second' WHERE id = $1",
                   ro["id"].get<std::string>());
    tx.commit();
  }
  BOOST_CHECK(eventually(
    [&] { return e2b("GET", "/v2/sandboxes", ro_key).status == 401; }, 10s));
  // A member makes keys within their role and revokes only their own.
  auto member = token(person("lee@example.com"));
  BOOST_REQUIRE_EQUAL(call("POST", "/v1/teams/kim/members",
                           {{"email", "lee@example.com"}, {"role", "member"}},
                           owner)
                        .status,
                      201u);
  BOOST_CHECK_EQUAL(make(member, {{"name", "m"}, {"scopes", json::array({"billing:read"})}})
                      .status,
                    403u);
  auto mine = parsed(make(member, {{"name", "mine"}}));
  auto theirs = parsed(make(owner, {{"name", "theirs"}}));
  BOOST_CHECK_EQUAL(call("DELETE",
                         "/v1/teams/kim/api-keys/" + theirs["id"].get<std::string>(),
                         nullptr, member)
                      .status,
                    403u);
  BOOST_CHECK_EQUAL(call("DELETE",
                         "/v1/teams/kim/api-keys/" + mine["id"].get<std::string>(),
                         nullptr, member)
                      .status,
                    204u);
  BOOST_CHECK_EQUAL(call("DELETE", "/v1/teams/kim/api-keys/nosuchkey", nullptr,
                         owner)
                      .status,
                    404u);
}

BOOST_FIXTURE_TEST_CASE(the_audit_log_says_who_did_what_from_where, fixture) {
  auto owner = token(person("ada@example.com"));
  auto k = parsed(call("POST", "/v1/teams/ada/api-keys", {{"name", "ci"}},
                       owner));
  auto key = k["key"].get<std::string>();
  auto sb = e2b("POST", "/v2/sandboxes", key);
  BOOST_REQUIRE_EQUAL(sb.status, 201u);
  auto id = parsed(sb)["sandboxID"].get<std::string>();
  BOOST_CHECK_EQUAL(e2b("DELETE", "/sandboxes/" + id, key).status, 204u);
  call("POST", "/v1/teams/ada/members",
       {{"email", "bo@example.com"}, {"role", "viewer"}}, owner);
  auto log = parsed(call("GET", "/v1/teams/ada/audit", nullptr, owner));
  std::vector<std::string> actions;
  for (auto& line : log) {
    actions.push_back(line["action"]);
    BOOST_CHECK_EQUAL(line["remoteAddr"], "127.0.0.1");
  }
  for (auto a : {"user.register", "team.create", "api_key.create",
                 "sandbox.create", "sandbox.kill", "member.invite"})
    BOOST_CHECK_MESSAGE(std::find(actions.begin(), actions.end(), a)
                          != actions.end(),
                        a << " missing from the audit log");
  // Newest first; the sandbox's lines name the key that did it.
  BOOST_CHECK_EQUAL(log[0]["action"], "member.invite");
  auto kill = parsed(call("GET", "/v1/teams/ada/audit?action=sandbox.kill",
                          nullptr, owner));
  BOOST_REQUIRE_EQUAL(kill.size(), 1u);
  BOOST_CHECK_EQUAL(kill[0]["actorKind"], "api_key");
  BOOST_CHECK_EQUAL(kill[0]["actorId"], k["id"]);
  BOOST_CHECK_EQUAL(kill[0]["target"], id);
  BOOST_CHECK_EQUAL(
    parsed(call("GET", "/v1/teams/ada/audit?action=sandbox.", nullptr, owner))
      .size(),
    2u);
  // The same at /v1/audit, naming the team.
  BOOST_CHECK_EQUAL(parsed(call("GET", "/v1/audit?team=ada&action=sandbox.",
                                nullptr, owner))
                      .size(),
                    2u);
  BOOST_CHECK_EQUAL(call("GET", "/v1/audit", nullptr, owner).status, 400u);
  // Paging and time bounds.
  auto page = call("GET", "/v1/teams/ada/audit?limit=2", nullptr, owner);
  BOOST_CHECK_EQUAL(parsed(page).size(), 2u);
  auto next = page.header("X-Next-Before");
  BOOST_REQUIRE(!next.empty());
  auto rest = parsed(
    call("GET", "/v1/teams/ada/audit?before=" + next, nullptr, owner));
  BOOST_CHECK_EQUAL(rest.size(), log.size() - 2);
  BOOST_CHECK(parsed(call("GET", "/v1/teams/ada/audit?from=4102444800",
                          nullptr, owner))
                .empty());
  BOOST_CHECK_EQUAL(parsed(call("GET",
                                "/v1/teams/ada/audit?to=2100-01-01T00:00:00Z",
                                nullptr, owner))
                      .size(),
                    log.size());
  BOOST_CHECK_EQUAL(
    call("GET", "/v1/teams/ada/audit?from=yesterday", nullptr, owner).status,
    400u);
  BOOST_CHECK_EQUAL(
    call("GET", "/v1/teams/ada/audit?limit=0", nullptr, owner).status, 400u);
  BOOST_CHECK_EQUAL(
    call("GET", "/v1/teams/ada/audit?action=DROP%20TABLE", nullptr, owner)
      .status,
    400u);
}

BOOST_AUTO_TEST_SUITE_END()

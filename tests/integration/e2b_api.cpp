// The E2B API's edges against a real `sandhive up`: key checks and teams,
// bad input of every kind, and the data plane in binary protobuf (the SDKs
// only speak JSON; tests/e2e covers them).

#include "runtime/auth/api_key.hpp"
#include "runtime/auth/signature.hpp"
#include "runtime/embedded/process.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/sandboxes.hpp"
#include "tests/support/services.hpp"
#include "tests/support/subprocess.hpp"

#include "filesystem.pb.h"
#include "process.pb.h"

#include <boost/test/unit_test.hpp>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include <fstream>
#include <thread>

#include <unistd.h>

using namespace sbx;
using namespace std::chrono_literals;
using nlohmann::json;
using test::eventually;

namespace {

using headers = std::vector<std::pair<std::string, std::string>>;

std::string envelope(uint8_t flags, const std::string& payload) {
  std::string out(5, '\0');
  out[0] = static_cast<char>(flags);
  auto n = static_cast<uint32_t>(payload.size());
  for (int i = 0; i < 4; ++i)
    out[1 + i] = static_cast<char>(n >> (24 - 8 * i));
  return out + payload;
}

/// The envelopes of a Connect stream body: (flags, payload).
std::vector<std::pair<uint8_t, std::string>> envelopes(const std::string& b) {
  std::vector<std::pair<uint8_t, std::string>> out;
  size_t i = 0;
  while (i + 5 <= b.size()) {
    uint32_t n = 0;
    for (int k = 0; k < 4; ++k)
      n = (n << 8) | static_cast<uint8_t>(b[i + 1 + k]);
    out.emplace_back(static_cast<uint8_t>(b[i]), b.substr(i + 5, n));
    i += 5 + n;
  }
  return out;
}

/// One `sandhive up` for the whole suite, on a database of its own, with a
/// second team whose key the tests revoke.
struct api_fixture {
  static inline std::unique_ptr<test::temp_dir> dir;
  static inline std::unique_ptr<test::subprocess> up;
  static inline uint16_t port = 0;
  static inline std::string db_url;
  static inline std::string key_a;
  static inline std::string key_b;

  api_fixture() {
    if (up)
      return;
    dir = std::make_unique<test::temp_dir>();
    port = embedded::pick_free_port();
    db_url = test::fresh_database("e2b_api_" + std::to_string(::getpid()));
    auto& svc = test::services::get();
    up = std::make_unique<test::subprocess>(std::vector<std::string>{
      test::sandhive_binary(), "up", "--data-dir", dir->path() + "/data",
      "--listen", "127.0.0.1:" + std::to_string(port), "--postgres-url",
      db_url, "--redis-url", svc.redis().url(), "--http-body-limit",
      "1048576", "--pool-size", "1"});
    BOOST_REQUIRE_MESSAGE(eventually(
                            [&] {
                              return test::http_get(port, "/ready").status
                                     == 200;
                            },
                            60s),
                          up->err());
    std::ifstream in{dir->path() + "/data/api-key"};
    std::getline(in, key_a);
    auto k = auth::generate_api_key();
    key_b = k.secret;
    pqxx::connection c{db_url};
    pqxx::work tx{c};
    auto team = tx.exec1("INSERT INTO teams (slug, name) VALUES ('other', "
                         "'Other') RETURNING id")[0]
                  .as<std::string>();
    tx.exec_params("INSERT INTO api_keys (team_id, name, key_hash, "
                   "key_prefix, scopes) VALUES ($1, 'b', $2, $3, '{*}')",
                   team, k.hash, k.prefix);
    tx.commit();
  }

  static test::http_reply api(const std::string& method,
                              const std::string& target,
                              const std::string& key,
                              const std::string& body = "") {
    return test::http_request(port, method, target, body,
                              {{"X-API-KEY", key},
                               {"Content-Type", "application/json"}},
                              30s);
  }

  /// Creates a sandbox of team A: (id, access token).
  static std::pair<std::string, std::string> create() {
    auto r = api("POST", "/v2/sandboxes", key_a,
                 R"({"templateID":"base","timeout":120})");
    BOOST_REQUIRE_MESSAGE(r.status == 201, r.status << " " << r.body);
    auto j = json::parse(r.body);
    return {j["sandboxID"], j["envdAccessToken"]};
  }

  static test::http_reply envd(const std::string& id, const std::string& token,
                               const std::string& target,
                               const std::string& content_type,
                               const std::string& body,
                               headers extra = {}) {
    headers h{{"E2b-Sandbox-Id", id},
              {"X-Access-Token", token},
              {"Content-Type", content_type},
              {"Connect-Protocol-Version", "1"}};
    h.insert(h.end(), extra.begin(), extra.end());
    return test::http_request(port, "POST", target, body, h, 30s);
  }

  static std::string message(const test::http_reply& r) {
    auto j = json::parse(r.body, nullptr, false);
    return j.is_object() && j.contains("message") ? j["message"].dump() : r.body;
  }
};

} // namespace

BOOST_AUTO_TEST_SUITE(e2b_api,
                      *boost::unit_test::precondition(test::sandboxes_supported))

BOOST_FIXTURE_TEST_CASE(keys_are_checked_and_a_revoked_key_stops_working,
                        api_fixture) {
  auto r = test::http_request(port, "GET", "/v2/sandboxes");
  BOOST_TEST(r.status == 401u);
  BOOST_TEST(json::parse(r.body)["code"] == 401);
  BOOST_TEST(message(r).find("X-API-KEY") != std::string::npos);
  r = api("GET", "/v2/sandboxes", "e2b_" + std::string(40, '0'));
  BOOST_TEST(r.status == 401u);
  BOOST_TEST(api("GET", "/v2/sandboxes", key_b).status == 200u);
  {
    pqxx::connection c{db_url};
    pqxx::work tx{c};
    tx.exec_params("UPDATE api_keys SET revoked_at = now() WHERE key_hash = $1",
                   auth::sha256_hex(key_b));
    tx.commit();
  }
  // Verified keys are remembered for 5 s at most.
  BOOST_TEST(eventually(
    [&] { return api("GET", "/v2/sandboxes", key_b).status == 401; }, 10s));
  BOOST_TEST(message(api("GET", "/v2/sandboxes", key_b)).find("revoked")
             != std::string::npos);
  {
    pqxx::connection c{db_url};
    pqxx::work tx{c};
    tx.exec_params("UPDATE api_keys SET revoked_at = NULL WHERE key_hash = $1",
                   auth::sha256_hex(key_b));
    tx.commit();
  }
  BOOST_TEST(eventually(
    [&] { return api("GET", "/v2/sandboxes", key_b).status == 200; }, 10s));
}

BOOST_FIXTURE_TEST_CASE(another_teams_sandbox_is_not_found, api_fixture) {
  BOOST_REQUIRE(eventually(
    [&] { return api("GET", "/v2/sandboxes", key_b).status == 200; }, 10s));
  auto [id, token] = create();
  for (auto [method, path] :
       std::vector<std::pair<std::string, std::string>>{
         {"GET", "/sandboxes/" + id},
         {"DELETE", "/sandboxes/" + id},
         {"POST", "/sandboxes/" + id + "/pause"},
         {"POST", "/v2/sandboxes/" + id + "/connect"},
         {"GET", "/sandboxes/" + id + "/metrics"}}) {
    auto r = api(method, path, key_b, "{}");
    BOOST_TEST(r.status == 404u, method << " " << path << ": " << r.body);
    BOOST_TEST(json::parse(r.body)["code"] == 404);
  }
  auto listed = api("GET", "/v2/sandboxes", key_b);
  BOOST_TEST(listed.body.find(id) == std::string::npos);
  BOOST_TEST(api("GET", "/v2/sandboxes", key_a).body.find(id)
             != std::string::npos);
  // Still alive for its owner.
  BOOST_TEST(api("GET", "/sandboxes/" + id, key_a).status == 200u);
  BOOST_TEST(api("DELETE", "/sandboxes/" + id, key_a).status == 204u);
  auto gone = api("DELETE", "/sandboxes/" + id, key_a);
  BOOST_TEST(gone.status == 404u);
  BOOST_TEST(json::parse(gone.body)["code"] == 404);
}

BOOST_FIXTURE_TEST_CASE(bad_control_plane_input_gets_a_clear_4xx,
                        api_fixture) {
  auto r = api("POST", "/v2/sandboxes", key_a, "{\"templateID\": ");
  BOOST_TEST(r.status == 400u);
  BOOST_TEST(message(r).find("malformed JSON") != std::string::npos);
  r = api("POST", "/v2/sandboxes", key_a, R"({"templateID": 7})");
  BOOST_TEST(r.status == 400u);
  BOOST_TEST(message(r).find("templateID") != std::string::npos);
  r = api("POST", "/v2/sandboxes", key_a, R"({"templateID":"base","timeout":0})");
  BOOST_TEST(r.status == 400u);
  BOOST_TEST(message(r).find("timeout") != std::string::npos);
  r = api("POST", "/v2/sandboxes", key_a,
          R"({"templateID":"base","timeout":1000000})");
  BOOST_TEST(r.status == 400u);
  r = api("POST", "/v2/sandboxes", key_a, R"({"templateID":"nope"})");
  BOOST_TEST(r.status == 404u);
  BOOST_TEST(message(r).find("nope") != std::string::npos, r.body);
  r = api("POST", "/v2/sandboxes", key_a,
          R"({"templateID":"base","metadata":{"a":1}})");
  BOOST_TEST(r.status == 400u);
  BOOST_TEST(message(r).find("metadata") != std::string::npos);
  r = api("GET", "/v2/sandboxes?limit=0", key_a);
  BOOST_TEST(r.status == 400u);
  r = api("GET", "/v2/sandboxes?state=dead", key_a);
  BOOST_TEST(r.status == 400u);
  r = api("POST", "/v2/sandboxes", key_a,
          R"({"templateID":"base","x":")" + std::string(2 << 20, 'a') + "\"}");
  BOOST_TEST(r.status == 413u);
  // Nothing was left half-created by any of these.
  auto listed = json::parse(api("GET", "/v2/sandboxes", key_a).body);
  BOOST_TEST(listed.size() == 0u, listed.dump());
  auto [id, token] = create();
  BOOST_TEST(api("POST", "/sandboxes/" + id + "/pause", key_a).status == 204u);
  auto again = api("POST", "/sandboxes/" + id + "/pause", key_a);
  BOOST_TEST(again.status == 409u);
  BOOST_TEST(json::parse(again.body)["code"] == 409);
  auto resumed = api("POST", "/v2/sandboxes/" + id + "/connect", key_a, "{}");
  BOOST_TEST(resumed.status == 201u);
  BOOST_TEST(api("POST", "/v2/sandboxes/" + id + "/connect", key_a, "{}").status
             == 200u);
  BOOST_TEST(api("DELETE", "/sandboxes/" + id, key_a).status == 204u);
}

BOOST_FIXTURE_TEST_CASE(binary_protobuf_connect_runs_commands_and_lists_files,
                        api_fixture) {
  auto [id, token] = create();
  process::StartRequest start;
  start.mutable_process()->set_cmd("/bin/bash");
  start.mutable_process()->add_args("-c");
  start.mutable_process()->add_args("echo out; echo err >&2; exit 7");
  start.set_stdin(false);
  auto r = envd(id, token, "/process.Process/Start",
                "application/connect+proto",
                envelope(0, start.SerializeAsString()));
  BOOST_REQUIRE_EQUAL(r.status, 200u);
  BOOST_TEST(r.header("Content-Type") == "application/connect+proto");
  auto msgs = envelopes(r.body);
  BOOST_REQUIRE_GE(msgs.size(), 3u);
  std::string out, err;
  process::StartResponse first;
  BOOST_REQUIRE(first.ParseFromString(msgs.front().second));
  BOOST_TEST(first.event().has_start());
  int exit_code = -1;
  for (auto& [flags, payload] : msgs) {
    if (flags != 0)
      continue;
    process::StartResponse m;
    BOOST_REQUIRE(m.ParseFromString(payload));
    out += m.event().data().stdout();
    err += m.event().data().stderr();
    if (m.event().has_end())
      exit_code = m.event().end().exit_code();
  }
  BOOST_TEST(out == "out\n");
  BOOST_TEST(err == "err\n");
  BOOST_TEST(exit_code == 7);
  BOOST_TEST(msgs.back().first == 2); // end of stream
  BOOST_TEST(msgs.back().second == "{}");
  // Unary, binary both ways.
  filesystem::ListDirRequest ls;
  ls.set_path("/home/user");
  ls.set_depth(1);
  r = envd(id, token, "/filesystem.Filesystem/ListDir", "application/proto",
           ls.SerializeAsString());
  BOOST_REQUIRE_EQUAL(r.status, 200u);
  filesystem::ListDirResponse entries;
  BOOST_REQUIRE(entries.ParseFromString(r.body));
  BOOST_TEST(entries.entries_size() >= 1);
  // Errors keep Connect's JSON shape and codes.
  filesystem::StatRequest st;
  st.set_path("/nope");
  r = envd(id, token, "/filesystem.Filesystem/Stat", "application/proto",
           st.SerializeAsString());
  BOOST_TEST(r.status == 404u);
  BOOST_TEST(json::parse(r.body)["code"] == "not_found");
  api("DELETE", "/sandboxes/" + id, key_a);
}

BOOST_FIXTURE_TEST_CASE(bad_data_plane_input_gets_a_clear_answer,
                        api_fixture) {
  auto [id, token] = create();
  // Unknown sandbox: 502 as E2B's proxy.
  auto r = envd("nosuchsandbox", token, "/process.Process/List",
                "application/json", "{}");
  BOOST_TEST(r.status == 502u);
  BOOST_TEST(json::parse(r.body)["sandboxId"] == "nosuchsandbox");
  // Wrong access token.
  r = envd(id, "wrong", "/process.Process/List", "application/json", "{}");
  BOOST_TEST(r.status == 401u);
  // Garbage JSON in a unary call.
  r = envd(id, token, "/filesystem.Filesystem/Stat", "application/json",
           "{\"path\": ");
  BOOST_TEST(r.status == 400u);
  BOOST_TEST(json::parse(r.body)["code"] == "invalid_argument");
  // A truncated envelope on a stream: 200 with an end-stream error.
  r = envd(id, token, "/process.Process/Start", "application/connect+json",
           std::string("\0\0\0\0\x40{}", 7));
  BOOST_TEST(r.status == 200u);
  auto msgs = envelopes(r.body);
  BOOST_REQUIRE_EQUAL(msgs.size(), 1u);
  BOOST_TEST(msgs[0].first == 2);
  BOOST_TEST(json::parse(msgs[0].second)["error"]["code"] == "invalid_argument");
  // An unknown method, and an unsupported content type.
  r = envd(id, token, "/process.Process/Nope", "application/json", "{}");
  BOOST_TEST(r.status == 501u);
  r = envd(id, token, "/process.Process/List", "text/plain", "{}");
  BOOST_TEST(r.status == 415u);
  // Paths cannot climb: '..' is refused, and absolute paths are the
  // sandbox's own (a file only the host has is not found).
  headers h{{"E2b-Sandbox-Id", id}, {"X-Access-Token", token}};
  r = test::http_request(port, "GET", "/files?path=..%2F..%2Fetc%2Fpasswd", "",
                         h);
  BOOST_TEST(r.status == 400u, r.body);
  BOOST_TEST(message(r).find("..") != std::string::npos);
  BOOST_REQUIRE(std::ifstream{"/etc/debian_version"}.good());
  r = test::http_request(port, "GET", "/files?path=%2Fetc%2Fdebian_version",
                         "", h);
  BOOST_TEST(r.status == 404u, r.body);
  r = test::http_request(port, "GET", "/files?path=%2Fetc%2Fpasswd", "", h);
  BOOST_TEST(r.status == 200u);
  BOOST_TEST(r.body.find("user:x:1000") != std::string::npos);
  // Signed URLs: wrong, expired, right.
  r = test::http_request(port, "POST", "/files?path=%2Ftmp%2Fs", "data",
                         {{"E2b-Sandbox-Id", id},
                          {"X-Access-Token", token},
                          {"Content-Type", "application/octet-stream"}});
  BOOST_REQUIRE_EQUAL(r.status, 200u);
  auto sig = auth::file_signature("/tmp/s", "read", "", token, std::nullopt);
  auto enc = [](std::string s) {
    std::string out;
    for (auto c : s)
      out += c == '+' ? "%2B" : c == '/' ? "%2F" : std::string(1, c);
    return out;
  };
  r = test::http_get(port, "/files?path=%2Ftmp%2Fs&signature=" + enc(sig));
  BOOST_TEST(r.status == 200u);
  BOOST_TEST(r.body == "data");
  r = test::http_get(port, "/files?path=%2Ftmp%2Fs&signature=v1_bad");
  BOOST_TEST(r.status == 401u);
  BOOST_TEST(json::parse(r.body)["message"] == "invalid signature");
  auto past = std::time(nullptr) - 10;
  auto old = auth::file_signature("/tmp/s", "read", "", token, past);
  r = test::http_get(port, "/files?path=%2Ftmp%2Fs&signature=" + enc(old)
                             + "&signature_expiration=" + std::to_string(past));
  BOOST_TEST(r.status == 401u);
  BOOST_TEST(r.body == R"({"code":401,"message":"signature is already expired"})");
  api("DELETE", "/sandboxes/" + id, key_a);
}

BOOST_FIXTURE_TEST_CASE(a_stalled_client_or_a_dying_sandbox_affects_only_itself,
                        api_fixture) {
  auto [a, token_a] = create();
  auto [b, token_b] = create();
  auto start = [&](const std::string& id, const std::string& token,
                   const std::string& cmd) {
    json body = {{"process", {{"cmd", "/bin/bash"}, {"args", {"-c", cmd}}}},
                 {"stdin", false}};
    auto env = envelope(0, body.dump());
    return "POST /process.Process/Start HTTP/1.1\r\nHost: x\r\n"
           "Content-Type: application/connect+json\r\nE2b-Sandbox-Id: "
           + id + "\r\nX-Access-Token: " + token
           + "\r\nContent-Length: " + std::to_string(env.size()) + "\r\n\r\n"
           + env;
  };
  auto rss_kib = [&] {
    std::ifstream in{"/proc/" + std::to_string(up->pid()) + "/status"};
    for (std::string line; std::getline(in, line);)
      if (line.rfind("VmRSS:", 0) == 0)
        return std::stol(line.substr(6));
    return 0L;
  };
  // A client that never reads a chatty process: the process is held back,
  // so the gateway's memory does not grow with its output.
  test::raw_connection stalled{port};
  auto before = rss_kib();
  stalled.send(start(a, token_a, "yes"));
  std::this_thread::sleep_for(3s);
  auto after = rss_kib();
  BOOST_TEST(after - before < 64 * 1024, "RSS grew by " << (after - before)
                                                         << " KiB");
  // Meanwhile the other sandbox answers as usual.
  auto t0 = std::chrono::steady_clock::now();
  auto r = envd(b, token_b, "/process.Process/Start",
                "application/connect+json",
                envelope(0, R"({"process":{"cmd":"/bin/echo","args":["ok"]}})"));
  BOOST_TEST(r.status == 200u);
  BOOST_TEST(r.body.find("b2sK") != std::string::npos); // base64("ok\n")
  BOOST_TEST((std::chrono::steady_clock::now() - t0 < 2s));
  // A stream whose sandbox dies ends at once with an error, not a hang.
  test::raw_connection waiting{port};
  waiting.send(start(b, token_b, "sleep 60"));
  std::this_thread::sleep_for(300ms);
  BOOST_TEST(api("DELETE", "/sandboxes/" + b, key_a).status == 204u);
  auto ended = waiting.read_response(10s);
  BOOST_TEST(ended.error.empty(), ended.error);
  BOOST_TEST(ended.status == 200u);
  auto msgs = envelopes(ended.body);
  BOOST_REQUIRE(!msgs.empty());
  BOOST_TEST(msgs.back().first == 2);
  BOOST_TEST(msgs.back().second.find("unavailable") != std::string::npos,
             msgs.back().second);
  BOOST_TEST(api("DELETE", "/sandboxes/" + a, key_a).status == 204u);
}

BOOST_FIXTURE_TEST_CASE(polling_watchers_collect_events_between_polls,
                        api_fixture) {
  // What the Python SDK's synchronous watch_dir does.
  auto [id, token] = create();
  auto r = envd(id, token, "/filesystem.Filesystem/CreateWatcher",
                "application/json", R"({"path":"/home/user"})");
  BOOST_REQUIRE_MESSAGE(r.status == 200u, r.body);
  auto watcher = json::parse(r.body)["watcherId"].get<std::string>();
  BOOST_REQUIRE(!watcher.empty());
  r = test::http_request(port, "POST", "/files?path=%2Fhome%2Fuser%2Fw.txt",
                         "x", {{"E2b-Sandbox-Id", id},
                               {"X-Access-Token", token},
                               {"Content-Type", "application/octet-stream"}});
  BOOST_REQUIRE_EQUAL(r.status, 200u);
  std::string seen;
  BOOST_TEST(eventually(
    [&] {
      auto ev = envd(id, token, "/filesystem.Filesystem/GetWatcherEvents",
                     "application/json",
                     json{{"watcherId", watcher}}.dump());
      seen += ev.body;
      return seen.find("w.txt") != std::string::npos
             && seen.find("EVENT_TYPE_CREATE") != std::string::npos;
    },
    10s),
    seen);
  // A watcher belongs to its sandbox.
  auto [other, other_token] = create();
  r = envd(other, other_token, "/filesystem.Filesystem/GetWatcherEvents",
           "application/json", json{{"watcherId", watcher}}.dump());
  BOOST_TEST(r.status == 404u);
  r = envd(id, token, "/filesystem.Filesystem/RemoveWatcher",
           "application/json", json{{"watcherId", watcher}}.dump());
  BOOST_TEST(r.status == 200u);
  r = envd(id, token, "/filesystem.Filesystem/GetWatcherEvents",
           "application/json", json{{"watcherId", watcher}}.dump());
  BOOST_TEST(r.status == 404u);
  BOOST_TEST(json::parse(r.body)["code"] == "not_found");
  api("DELETE", "/sandboxes/" + id, key_a);
  api("DELETE", "/sandboxes/" + other, key_a);
}

BOOST_FIXTURE_TEST_CASE(a_download_cut_short_is_not_a_whole_file, api_fixture) {
  auto [id, token] = create();
  auto r = envd(id, token, "/process.Process/Start", "application/connect+json",
                envelope(0, R"({"process":{"cmd":"/bin/sh","args":["-c",)"
                            R"("head -c 200000000 /dev/zero > /tmp/big"]}})"));
  BOOST_REQUIRE_EQUAL(r.status, 200u);
  test::raw_connection dl{port};
  dl.send("GET /files?path=%2Ftmp%2Fbig HTTP/1.1\r\nHost: x\r\nE2b-Sandbox-Id: "
          + id + "\r\nX-Access-Token: " + token + "\r\n\r\n");
  std::this_thread::sleep_for(500ms); // the download has begun, unread
  BOOST_TEST(api("DELETE", "/sandboxes/" + id, key_a).status == 204u);
  auto got = dl.read_response(30s);
  BOOST_TEST(got.status == 200u);
  // The connection ends without the chunked terminator: a client sees an
  // error, not a shorter file.
  BOOST_TEST(!got.error.empty(), "a body of " << got.body.size()
                                               << " bytes looked complete");
  BOOST_TEST(got.body.size() < 200000000u);
}

BOOST_FIXTURE_TEST_CASE(every_sandbox_life_is_recorded, api_fixture) {
  auto row = [&](const std::string& id) {
    pqxx::connection c{db_url};
    pqxx::nontransaction tx{c};
    auto r = tx.exec_params(
      "SELECT state, node, template_id, ended_at IS NOT NULL, "
      "coalesce(end_reason, ''), metadata->>'k' FROM sandboxes WHERE id = $1",
      id);
    if (r.empty())
      return std::string{"none"};
    return r[0][0].as<std::string>() + "|" + r[0][1].as<std::string>() + "|"
           + r[0][2].as<std::string>() + "|"
           + (r[0][3].as<bool>() ? "ended" : "live") + "|"
           + r[0][4].as<std::string>() + "|"
           + (r[0][5].is_null() ? "" : r[0][5].as<std::string>());
  };
  auto c = api("POST", "/v2/sandboxes", key_a,
               R"({"templateID":"base","timeout":120,"metadata":{"k":"v"}})");
  BOOST_REQUIRE_EQUAL(c.status, 201u);
  auto id = json::parse(c.body)["sandboxID"].get<std::string>();
  BOOST_TEST(eventually([&] { return row(id) == "running|local|base|live||v"; },
                        10s),
             row(id));
  BOOST_TEST(api("POST", "/sandboxes/" + id + "/pause", key_a).status == 204u);
  BOOST_TEST(eventually([&] { return row(id).rfind("paused|", 0) == 0; }, 10s),
             row(id));
  BOOST_TEST(api("POST", "/v2/sandboxes/" + id + "/connect", key_a, "{}").status
             == 201u);
  BOOST_TEST(api("DELETE", "/sandboxes/" + id, key_a).status == 204u);
  BOOST_TEST(eventually(
               [&] { return row(id) == "killed|local|base|ended|killed|v"; },
               10s),
             row(id));
  // A timeout is recorded as the reason.
  c = api("POST", "/v2/sandboxes", key_a, R"({"templateID":"base","timeout":1})");
  BOOST_REQUIRE_EQUAL(c.status, 201u);
  auto short_lived = json::parse(c.body)["sandboxID"].get<std::string>();
  BOOST_TEST(eventually(
               [&] { return row(short_lived).find("|ended|timeout|") != std::string::npos; },
               15s),
             row(short_lived));
}

BOOST_AUTO_TEST_SUITE_END()

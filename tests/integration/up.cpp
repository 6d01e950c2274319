// `sandhive up` as a user runs it: the real binary, real PostgreSQL and Redis.

#include "runtime/auth/api_key.hpp"
#include "runtime/embedded/process.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/services.hpp"
#include "tests/support/subprocess.hpp"

#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <fstream>
#include <regex>

#include <csignal>
#include <sys/stat.h>

using namespace sbx;
using namespace std::chrono_literals;
using test::eventually;
using test::subprocess;

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in{path};
  std::string s;
  std::getline(in, s);
  return s;
}

std::string comm(pid_t pid) {
  return read_file("/proc/" + std::to_string(pid) + "/comm");
}

struct up_fixture {
  test::temp_dir dir;
  uint16_t port = embedded::pick_free_port();

  std::unique_ptr<subprocess>
  up(std::vector<std::string> extra = {},
     std::vector<std::pair<std::string, std::string>> env = {}) {
    std::vector<std::string> argv{test::sandhive_binary(), "up", "--data-dir",
                                  dir.path() + "/data", "--listen",
                                  "127.0.0.1:" + std::to_string(port)};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return std::make_unique<subprocess>(argv, env);
  }

  bool healthy() {
    return test::http_get(port, "/health").status == 204;
  }

  /// Runs a `sandhive up` that must fail, and returns its stderr.
  std::string failing(std::vector<std::string> extra, int expected_code = 1) {
    auto p = up(std::move(extra));
    auto code = p->exit_code(30s);
    BOOST_TEST(code == expected_code, "exit code " << code << "; stderr: "
                                                   << p->err());
    return p->err();
  }
};

/// The last line of stderr, the one the user reads.
std::string last_line(const std::string& text) {
  auto t = text;
  while (!t.empty() && t.back() == '\n')
    t.pop_back();
  return t.substr(t.rfind('\n') + 1);
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(up, up_fixture)

BOOST_AUTO_TEST_CASE(embedded_services_bootstrap_once_supervise_and_stop) {
  auto p = up();
  BOOST_REQUIRE_MESSAGE(eventually([&] { return healthy(); }, 30s), p->err());
  // The key is printed once, stored with mode 0600, and only its hash is kept.
  auto key_file = dir.path() + "/data/api-key";
  auto key = read_file(key_file);
  BOOST_TEST(auth::is_api_key(key));
  BOOST_TEST(p->out().find(key) != std::string::npos);
  struct stat st{};
  BOOST_REQUIRE(::stat(key_file.c_str(), &st) == 0);
  BOOST_TEST((st.st_mode & 0777) == 0600u);
  BOOST_TEST(eventually([&] {
    return test::http_get(port, "/ready").status == 200;
  }, 10s));
  auto ready = test::http_get(port, "/ready");
  BOOST_TEST(ready.body.find("\"postgres\":{\"ok\":true}") != std::string::npos);
  BOOST_TEST(ready.body.find("\"redis\":{\"ok\":true}") != std::string::npos);
  auto metrics = test::http_get(port, "/metrics");
  BOOST_TEST(metrics.status == 200u);
  BOOST_TEST(metrics.body.find("process_start_time_seconds") != std::string::npos);
  BOOST_TEST(metrics.body.find("sandhive_http_requests_total") != std::string::npos);
  // Both servers are children of sandhive; a killed one comes back.
  auto kids = p->children();
  pid_t pg = 0;
  int servers = 0;
  for (auto k : kids) {
    auto name = comm(k);
    if (name == "postgres")
      pg = k;
    servers += name == "postgres" || name == "redis-server";
  }
  BOOST_REQUIRE_MESSAGE(pg != 0, "no postgres child");
  BOOST_REQUIRE_EQUAL(servers, 2);
  ::kill(pg, SIGKILL);
  BOOST_TEST(eventually([&] {
    return p->err().find("restarted as pid") != std::string::npos;
  }, 10s));
  BOOST_TEST(eventually([&] {
    return test::http_get(port, "/ready").status == 200;
  }, 15s));
  // SIGTERM: a clean stop within 10 s, nothing left running.
  kids = p->children();
  p->signal(SIGTERM);
  auto start = std::chrono::steady_clock::now();
  BOOST_TEST(p->exit_code(10s) == 0, p->err());
  BOOST_TEST((std::chrono::steady_clock::now() - start < 10s));
  for (auto k : kids)
    BOOST_TEST(!test::process_alive(k), "pid " << k << " still runs");
  // A second start reuses the data: no new key, same key file.
  auto again = up();
  BOOST_REQUIRE_MESSAGE(eventually([&] {
    return test::http_get(port, "/ready").status == 200;
  }, 30s), again->err());
  BOOST_TEST(again->out().find("e2b_") == std::string::npos);
  BOOST_TEST(read_file(key_file) == key);
  BOOST_TEST(again->err().find("applied migration") == std::string::npos);
  again->signal(SIGINT);
  BOOST_TEST(again->exit_code(10s) == 0);
}

BOOST_AUTO_TEST_CASE(ready_follows_postgres_going_away_and_coming_back) {
  auto& svc = test::services::get();
  auto p = up({"--postgres-url", svc.postgres().url(), "--redis-url",
               svc.redis().url(), "--store-timeout", "1s"});
  BOOST_REQUIRE_MESSAGE(eventually([&] {
    return test::http_get(port, "/ready").status == 200;
  }, 30s), p->err());
  // With URLs given, sandhive starts no server of its own (its children are
  // the sandboxes of the warm pool).
  for (auto k : p->children())
    BOOST_TEST((comm(k) != "postgres" && comm(k) != "redis-server"));
  svc.postgres().stop();
  BOOST_TEST(eventually([&] {
    return test::http_get(port, "/ready").status == 503;
  }, 10s));
  auto down = test::http_get(port, "/ready");
  BOOST_TEST(down.body.find("\"code\":503") != std::string::npos);
  BOOST_TEST(down.body.find("postgres: PostgreSQL") != std::string::npos);
  BOOST_TEST(test::http_get(port, "/health").status == 204u);
  BOOST_REQUIRE(!svc.postgres().start());
  BOOST_TEST(eventually([&] {
    return test::http_get(port, "/ready").status == 200;
  }, 10s));
  p->signal(SIGTERM);
  BOOST_TEST(p->exit_code(10s) == 0);
}

BOOST_AUTO_TEST_CASE(bad_input_stops_startup_with_one_clear_line) {
  // A malformed value: exit 2, the setting and its source named.
  auto err = failing({"--listen", "nowhere"}, 2);
  BOOST_TEST(last_line(err).find("invalid listen 'nowhere' (from --listen)")
             != std::string::npos);
  err = failing({"--http-threads", "-3"}, 2);
  BOOST_TEST(err.find("invalid http-threads") != std::string::npos);
  // An unwritable data dir.
  {
    std::ofstream{dir.path() + "/file"} << "x";
    auto p = std::make_unique<subprocess>(std::vector<std::string>{
      test::sandhive_binary(), "up", "--data-dir", dir.path() + "/file/sub",
      "--listen", "127.0.0.1:" + std::to_string(port)});
    BOOST_TEST(p->exit_code(10s) == 1);
    BOOST_TEST(last_line(p->err()).find("cannot create data dir")
               != std::string::npos);
    BOOST_TEST(p->err().find("--data-dir") != std::string::npos);
  }
  // A PostgreSQL URL that does not answer.
  err = failing({"--postgres-url", "postgresql://u:secret@127.0.0.1:1/db",
                 "--redis-url", "redis://127.0.0.1:1"});
  BOOST_TEST(last_line(err).find("does not answer") != std::string::npos);
  BOOST_TEST(err.find("secret") == std::string::npos);
  // A port in use.
  auto& svc = test::services::get();
  auto busy = svc.redis().port();
  auto p = std::make_unique<subprocess>(std::vector<std::string>{
    test::sandhive_binary(), "up", "--data-dir", dir.path() + "/data2",
    "--listen", "127.0.0.1:" + std::to_string(busy)});
  BOOST_TEST(p->exit_code(10s) == 1);
  BOOST_TEST(last_line(p->err()).find("another process uses this port")
             != std::string::npos);
  // No stack traces, no "terminate called" for expected errors.
  BOOST_TEST(p->err().find("terminate") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_second_up_on_the_same_data_dir_is_refused) {
  auto& svc = test::services::get();
  auto first = up({"--postgres-url", svc.postgres().url(), "--redis-url",
                   svc.redis().url()});
  BOOST_REQUIRE_MESSAGE(eventually([&] { return healthy(); }, 30s),
                        first->err());
  auto other_port = embedded::pick_free_port();
  auto second = std::make_unique<subprocess>(std::vector<std::string>{
    test::sandhive_binary(), "up", "--data-dir", dir.path() + "/data",
    "--listen", "127.0.0.1:" + std::to_string(other_port)});
  BOOST_TEST(second->exit_code(10s) == 1);
  BOOST_TEST(last_line(second->err()).find("another sandhive (pid "
                                           + std::to_string(first->pid()))
             != std::string::npos);
  first->signal(SIGTERM);
  BOOST_TEST(first->exit_code(10s) == 0);
}

BOOST_AUTO_TEST_CASE(print_config_shows_precedence) {
  std::ofstream{dir.path() + "/s.ini"} << "log-level = debug\n"
                                          "http-threads = 3\n"
                                          "workers = 4\n";
  subprocess p{{test::sandhive_binary(), "up", "--config", dir.path() + "/s.ini",
                "--workers", "5", "--print-config"},
               {{"SANDHIVE_HTTP_THREADS", "6"}}};
  BOOST_REQUIRE_EQUAL(p.exit_code(10s), 0);
  auto out = p.out();
  BOOST_TEST(std::regex_search(out, std::regex{"log-level = \"debug\" +# file"}));
  BOOST_TEST(std::regex_search(out, std::regex{"http-threads = \"6\" +# env"}));
  BOOST_TEST(std::regex_search(out, std::regex{"workers = \"5\" +# flag"}));
  BOOST_TEST(std::regex_search(out,
                               std::regex{"listen = \"127.0.0.1:3000\" +# default"}));
}

BOOST_AUTO_TEST_CASE(version_prints_the_version) {
  subprocess p{{test::sandhive_binary(), "version"}};
  BOOST_REQUIRE_EQUAL(p.exit_code(10s), 0);
  BOOST_TEST(p.out() == "sandhive " SBX_VERSION "\n");
}

BOOST_AUTO_TEST_SUITE_END()

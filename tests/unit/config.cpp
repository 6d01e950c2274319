#include "config/config.hpp"

#include "config/defaults.hpp"
#include "tests/support/subprocess.hpp"

#include <CLI/CLI.hpp>
#include <boost/test/unit_test.hpp>

#include <fstream>
#include <map>

using namespace sbx;

namespace {

/// Parses `args` and loads with a fake environment.
struct loader_fixture {
  std::map<std::string, std::string> env;
  test::temp_dir dir;

  std::optional<std::string> load(config& out, std::vector<std::string> args) {
    CLI::App app;
    config_loader loader{app};
    std::vector<const char*> argv{"sandhive"};
    for (auto& a : args)
      argv.push_back(a.c_str());
    app.parse(static_cast<int>(argv.size()), argv.data());
    return loader.load(out, [this](const char* name)
                              -> std::optional<std::string> {
      auto i = env.find(name);
      if (i == env.end())
        return std::nullopt;
      return i->second;
    });
  }

  std::string write_file(const std::string& text) {
    auto path = dir.path() + "/sandhive.ini";
    std::ofstream{path} << text;
    return path;
  }

  static const config::entry& entry(const config& c, const std::string& key) {
    for (auto& e : c.effective)
      if (e.key == key)
        return e;
    throw std::runtime_error("no entry " + key);
  }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(config, loader_fixture)

BOOST_AUTO_TEST_CASE(defaults_apply_without_file_env_or_flags) {
  sbx::config c;
  BOOST_REQUIRE(!load(c, {"--config", write_file("")}));
  BOOST_TEST(c.data_dir == defaults::data_dir);
  BOOST_TEST(c.listen_host == "127.0.0.1");
  BOOST_TEST(c.listen_port == 3000);
  BOOST_TEST(c.postgres_url.empty());
  BOOST_TEST(c.log_format == "text");
  BOOST_TEST(c.http_body_limit == defaults::http_body_limit);
  BOOST_TEST(c.http_read_timeout.count() == 30'000);
  BOOST_TEST(c.store_timeout.count() == 3'000);
  BOOST_CHECK(entry(c, "listen").source == setting_source::defaults);
}

BOOST_AUTO_TEST_CASE(file_then_env_then_flag_take_precedence) {
  auto file = write_file("listen = 127.0.0.1:4000\n"
                         "log-level = debug\n"
                         "log-format = json\n"
                         "data-dir = /var/lib/sandhive\n");
  env["SANDHIVE_LISTEN"] = "127.0.0.1:5000";
  env["SANDHIVE_LOG_LEVEL"] = "warn";
  sbx::config c;
  BOOST_REQUIRE(!load(c, {"--config", file, "--listen", "0.0.0.0:6000"}));
  // Flag beats env beats file beats default.
  BOOST_TEST(c.listen_host == "0.0.0.0");
  BOOST_TEST(c.listen_port == 6000);
  BOOST_CHECK(entry(c, "listen").source == setting_source::flag);
  BOOST_TEST(c.log_level == "warn");
  BOOST_CHECK(entry(c, "log-level").source == setting_source::env);
  BOOST_TEST(c.log_format == "json");
  BOOST_CHECK(entry(c, "log-format").source == setting_source::file);
  BOOST_TEST(c.data_dir == "/var/lib/sandhive");
  BOOST_CHECK(entry(c, "http-threads").source == setting_source::defaults);
}

BOOST_AUTO_TEST_CASE(config_file_comes_from_env_when_no_flag) {
  env["SANDHIVE_CONFIG"] = write_file("http-threads = 7\n");
  sbx::config c;
  BOOST_REQUIRE(!load(c, {}));
  BOOST_TEST(c.http_threads == 7u);
}

BOOST_AUTO_TEST_CASE(a_named_config_file_must_exist) {
  sbx::config c;
  auto err = load(c, {"--config", dir.path() + "/missing.ini"});
  BOOST_REQUIRE(err);
  BOOST_TEST(err->find("cannot read config file") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(unknown_file_keys_are_refused) {
  sbx::config c;
  auto err = load(c, {"--config", write_file("lisen = 1.2.3.4:5\n")});
  BOOST_REQUIRE(err);
  BOOST_TEST(*err == "unknown setting 'lisen' in " + dir.path()
                       + "/sandhive.ini");
}

BOOST_AUTO_TEST_CASE(bad_values_name_the_setting_and_the_source) {
  sbx::config c;
  env["SANDHIVE_HTTP_THREADS"] = "lots";
  auto err = load(c, {"--config", write_file("")});
  BOOST_REQUIRE(err);
  BOOST_TEST(*err
             == "invalid http-threads 'lots' (from SANDHIVE_HTTP_THREADS): "
                "expected a whole number from 1 to 256");
  env.clear();
  err = load(c, {"--config", write_file(""), "--listen", "nowhere"});
  BOOST_REQUIRE(err);
  BOOST_TEST(err->find("invalid listen 'nowhere' (from --listen)") == 0);
  err = load(c, {"--config", write_file(""), "--log-format", "xml"});
  BOOST_REQUIRE(err);
  BOOST_TEST(err->find("expected one of text, json") != std::string::npos);
  err = load(c, {"--config", write_file(""), "--postgres-url", "mysql://x"});
  BOOST_REQUIRE(err);
  BOOST_TEST(err->find("postgresql://") != std::string::npos);
  err = load(c, {"--config", write_file("store-timeout = 0s\n")});
  BOOST_REQUIRE(err);
  BOOST_TEST(err->find("positive duration") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(print_config_round_trips_and_redacts) {
  sbx::config c;
  BOOST_REQUIRE(!load(c, {"--config", write_file(""), "--http-body-limit",
                          "2MiB", "--redis-url",
                          "redis://:hunter2@127.0.0.1:1234"}));
  auto ini = to_ini(c);
  BOOST_TEST(ini.find("hunter2") == std::string::npos);
  BOOST_TEST(ini.find("redis://:***@127.0.0.1:1234") != std::string::npos);
  BOOST_TEST(ini.find("http-body-limit = \"2MiB\"") != std::string::npos);
  BOOST_TEST(ini.find("# flag") != std::string::npos);
  // Without secrets the printed file loads back to the same values.
  sbx::config d;
  BOOST_REQUIRE(!load(d, {"--config", write_file(""), "--listen",
                          "[::1]:8080"}));
  sbx::config e;
  BOOST_REQUIRE(!load(e, {"--config", write_file(to_ini(d))}));
  BOOST_TEST(e.listen_host == "::1");
  BOOST_TEST(e.listen_port == 8080);
}

BOOST_AUTO_TEST_CASE(the_example_file_documents_every_default) {
  sbx::config defaults_only;
  BOOST_REQUIRE(!load(defaults_only, {"--config", write_file("")}));
  sbx::config example;
  BOOST_REQUIRE(!load(example, {"--config", SBX_SOURCE_DIR
                                "/config/sandhive.example.ini"}));
  BOOST_REQUIRE_EQUAL(example.effective.size(), defaults_only.effective.size());
  for (size_t i = 0; i < example.effective.size(); ++i) {
    auto& e = example.effective[i];
    BOOST_CHECK(e.source == setting_source::file);
    BOOST_TEST(e.value == defaults_only.effective[i].value, e.key);
  }
}

BOOST_AUTO_TEST_CASE(parsers) {
  BOOST_TEST(parse_duration("250ms")->count() == 250);
  BOOST_TEST(parse_duration("30s")->count() == 30'000);
  BOOST_TEST(parse_duration("2m")->count() == 120'000);
  BOOST_TEST(parse_duration("7")->count() == 7'000);
  BOOST_TEST(!parse_duration("fast"));
  BOOST_TEST(!parse_duration("5 s"));
  BOOST_TEST(*parse_size("64MiB") == 64ull << 20);
  BOOST_TEST(*parse_size("1KB") == 1000u);
  BOOST_TEST(!parse_size("1XB"));
  BOOST_TEST(parse_host_port("[::1]:80")->first == "::1");
  BOOST_TEST(!parse_host_port("::1:80"));
  BOOST_TEST(!parse_host_port("host:70000"));
  BOOST_TEST(!parse_host_port(":80"));
  BOOST_TEST(redact_url("postgresql://u:pw@h:1/db") == "postgresql://u:***@h:1/db");
  BOOST_TEST(redact_url("postgresql://h:1/db") == "postgresql://h:1/db");
}

BOOST_AUTO_TEST_SUITE_END()

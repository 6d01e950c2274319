#include "config/config.hpp"

#include "config/defaults.hpp"
#include "runtime/billing/money.hpp"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

namespace sbx {

using namespace std::string_literals;

namespace {

using apply_fn
  = std::function<std::optional<std::string>(config&, const std::string&)>;

/// One row of the settings table: a flag `--key`, an environment variable
/// `SANDHIVE_KEY` and a config-file key `key`, all with the same meaning.
struct setting {
  const char* key;
  const char* help;
  std::string default_value;
  apply_fn apply;
};

std::string ms_text(std::chrono::milliseconds x) {
  if (x.count() % 1000 == 0)
    return std::to_string(x.count() / 1000) + "s";
  return std::to_string(x.count()) + "ms";
}

apply_fn text(std::string config::*field) {
  return [field](config& c, const std::string& x) -> std::optional<std::string> {
    c.*field = x;
    return std::nullopt;
  };
}

apply_fn one_of(std::string config::*field, std::vector<std::string> allowed) {
  return [=](config& c, const std::string& x) -> std::optional<std::string> {
    if (std::find(allowed.begin(), allowed.end(), x) == allowed.end()) {
      std::string all;
      for (auto& a : allowed)
        all += (all.empty() ? "" : ", ") + a;
      return "expected one of " + all;
    }
    c.*field = x;
    return std::nullopt;
  };
}

apply_fn count(unsigned config::*field, unsigned lo, unsigned hi) {
  return [=](config& c, const std::string& x) -> std::optional<std::string> {
    char* end = nullptr;
    errno = 0;
    auto v = std::strtoull(x.c_str(), &end, 10);
    if (x.empty() || *end != '\0' || errno != 0 || v < lo || v > hi)
      return "expected a whole number from " + std::to_string(lo) + " to "
             + std::to_string(hi);
    c.*field = static_cast<unsigned>(v);
    return std::nullopt;
  };
}

apply_fn duration(std::chrono::milliseconds config::*field) {
  return [=](config& c, const std::string& x) -> std::optional<std::string> {
    auto d = parse_duration(x);
    if (!d || d->count() <= 0)
      return "expected a positive duration such as 500ms, 30s or 5m";
    c.*field = *d;
    return std::nullopt;
  };
}

apply_fn url(std::string config::*field, std::vector<std::string> schemes) {
  return [=](config& c, const std::string& x) -> std::optional<std::string> {
    if (!x.empty()) {
      auto pos = x.find("://");
      auto scheme = pos == std::string::npos ? "" : x.substr(0, pos);
      if (std::find(schemes.begin(), schemes.end(), scheme) == schemes.end())
        return "expected a URL starting with " + schemes.front() + "://";
    }
    c.*field = x;
    return std::nullopt;
  };
}

apply_fn host_port(std::string config::*host, uint16_t config::*port,
                   bool optional) {
  return [=](config& c, const std::string& x) -> std::optional<std::string> {
    if (x.empty() && optional) {
      c.*host = "";
      c.*port = 0;
      return std::nullopt;
    }
    auto hp = parse_host_port(x);
    if (!hp)
      return "expected HOST:PORT, e.g. 127.0.0.1:4000";
    c.*host = hp->first;
    c.*port = hp->second;
    return std::nullopt;
  };
}

/// "free=0,pro=50400,…": plan=micro-units pairs.
apply_fn prices(std::string config::*field) {
  return [=](config& c, const std::string& x) -> std::optional<std::string> {
    if (!money::parse_plan_prices(x))
      return "expected plan=micro-units pairs for the plans free, pro and "
             "enterprise, such as free=0,pro=50400,enterprise=40000, each "
             "at most "
             + std::to_string(money::max_price) + " (a million units)";
    c.*field = x;
    return std::nullopt;
  };
}

const std::vector<setting>& settings() {
  using namespace std::string_literals;
  static const std::vector<setting> table = {
    {"data-dir", "directory for embedded databases, templates and keys",
     defaults::data_dir, text(&config::data_dir)},
    {"listen", "HTTP listen address HOST:PORT", defaults::listen,
     [](config& c, const std::string& x) -> std::optional<std::string> {
       auto hp = parse_host_port(x);
       if (!hp)
         return "expected HOST:PORT, e.g. 127.0.0.1:3000";
       c.listen_host = hp->first;
       c.listen_port = hp->second;
       return std::nullopt;
     }},
    {"postgres-url",
     "PostgreSQL URL; empty starts a private server under the data dir", "",
     url(&config::postgres_url, {"postgresql", "postgres"})},
    {"redis-url", "Redis URL; empty starts a private server under the data dir",
     "", url(&config::redis_url, {"redis"})},
    {"log-level", "trace, debug, info, warn, error or off", defaults::log_level,
     one_of(&config::log_level,
            {"trace", "debug", "info", "warn", "error", "off"})},
    {"log-format", "text or json", defaults::log_format,
     one_of(&config::log_format, {"text", "json"})},
    {"http-threads", "gateway I/O threads",
     std::to_string(defaults::http_threads),
     count(&config::http_threads, 1, 256)},
    {"http-body-limit", "largest accepted request body (413 beyond)",
     std::to_string(defaults::http_body_limit >> 20) + "MiB",
     [](config& c, const std::string& x) -> std::optional<std::string> {
       auto v = parse_size(x);
       if (!v || *v == 0)
         return "expected a size such as 1048576, 512KiB or 64MiB";
       c.http_body_limit = *v;
       return std::nullopt;
     }},
    {"http-read-timeout", "time to receive one request",
     ms_text(defaults::http_read_timeout),
     duration(&config::http_read_timeout)},
    {"http-idle-timeout", "idle time before a keep-alive connection closes",
     ms_text(defaults::http_idle_timeout),
     duration(&config::http_idle_timeout)},
    {"http-max-in-flight", "gateway requests in flight to actors (503 beyond)",
     std::to_string(defaults::http_max_in_flight),
     count(&config::http_max_in_flight, 1, 1000000)},
    {"request-timeout", "deadline of a gateway request to an actor",
     ms_text(defaults::request_timeout), duration(&config::request_timeout)},
    {"store-timeout", "connect and statement timeout for PostgreSQL and Redis",
     ms_text(defaults::store_timeout), duration(&config::store_timeout)},
    {"postgres-bin-dir", "directory of initdb and postgres",
     defaults::postgres_bin_dir, text(&config::postgres_bin_dir)},
    {"redis-server", "path of the redis-server program", defaults::redis_server,
     text(&config::redis_server)},
    {"pool-size", "warm sandboxes kept ready of the base template",
     std::to_string(defaults::pool_size), count(&config::pool_size, 0, 1000)},
    {"max-sandboxes", "sandboxes this node runs at most",
     std::to_string(defaults::max_sandboxes),
     count(&config::max_sandboxes, 1, 100000)},
    {"envd-path", "the sandhive-envd binary (default: next to sandhive)", "",
     text(&config::envd_path)},
    {"workers", "actor scheduler threads (0: one per core)",
     std::to_string(defaults::workers), count(&config::workers, 0, 1024)},
    {"cluster-listen", "control: cluster address HOST:PORT nodes and "
                       "gateways join (up: optional)",
     "", host_port(&config::cluster_listen_host, &config::cluster_listen_port,
                   true)},
    {"join", "node, gateway: the control's cluster address HOST:PORT", "",
     host_port(&config::join_host, &config::join_port, true)},
    {"name", "node, gateway: this process's name in the cluster (default: "
             "the host name)",
     "", text(&config::name)},
    {"cluster-secret", "the secret every process of the cluster shares "
                       "(prefer cluster-secret-file)",
     "", text(&config::cluster_secret)},
    {"cluster-secret-file", "file holding the cluster secret (control: "
                            "made when missing; default <data-dir>/"
                            "cluster-secret)",
     "", text(&config::cluster_secret_file)},
    {"node-listen", "node: where gateways connect straight to this node",
     defaults::node_listen,
     host_port(&config::node_listen_host, &config::node_listen_port, false)},
    {"advertise-host", "node: the host gateways use to reach node-listen "
                       "(default: its host)",
     "", text(&config::advertise_host)},
    {"capacity-vcpu", "node: vCPUs to promise to sandboxes (0: cores x 32)",
     "0", count(&config::capacity_vcpu, 0, 1'000'000)},
    {"capacity-memory-mb", "node: memory to promise to sandboxes in MiB (0: "
                           "the machine's)",
     "0",
     [](config& c, const std::string& x) -> std::optional<std::string> {
       char* end = nullptr;
       auto v = std::strtoull(x.c_str(), &end, 10);
       if (x.empty() || *end != '\0' || v > (1ull << 32))
         return "expected a whole number of MiB";
       c.capacity_memory_mb = v;
       return std::nullopt;
     }},
    {"node-timeout", "control: a node silent this long is lost",
     ms_text(defaults::node_timeout), duration(&config::node_timeout)},
    {"tls-certificate", "cluster TLS: this process's certificate (PEM); with "
                        "tls-key and tls-ca, every cluster connection is TLS "
                        "with certificates checked both ways",
     "", text(&config::tls_certificate)},
    {"tls-key", "cluster TLS: this process's private key (PEM)", "",
     text(&config::tls_key)},
    {"tls-ca", "cluster TLS: the CA certificate (PEM) peers must be signed "
               "by",
     "", text(&config::tls_ca)},
    {"admin-token", "the token operators' shells present (prefer "
                    "admin-token-file)",
     "", text(&config::admin_token)},
    {"admin-token-file", "file holding the admin token (control: made when "
                         "missing; default <data-dir>/admin-token)",
     "", text(&config::admin_token_file)},
    {"usage-interval", "node: how often sandboxes' usage is measured and sent "
                       "to billing",
     "10s", duration(&config::usage_interval)},
    {"price-vcpu-hour", "control: micro-units of currency per vCPU-hour, per "
                        "plan (a plan without prices is not billed)",
     "free=0,pro=50400,enterprise=40000", prices(&config::price_vcpu_hour)},
    {"price-memory-gib-hour", "control: micro-units per GiB-hour of memory, "
                              "per plan",
     "free=0,pro=16200,enterprise=13000",
     prices(&config::price_memory_gib_hour)},
    {"price-disk-gib-month", "control: micro-units per GiB-month (30 days) "
                             "of disk, per plan",
     "free=0,pro=100000,enterprise=80000",
     prices(&config::price_disk_gib_month)},
    {"billing-interval", "control: how often billed teams are charged for "
                         "their usage",
     "30s", duration(&config::billing_interval)},
    {"billing-grace", "control: how long a team whose balance ran out keeps "
                      "its running sandboxes",
     "10m", duration(&config::billing_grace)},
    {"billing-stop", "control: what happens to them then: pause or kill",
     "pause", one_of(&config::billing_stop, {"pause", "kill"})},
    {"rate-limit-fail", "gateway: when Redis cannot be reached, let requests "
                        "through (open) or refuse them with 503 (closed)",
     "open", one_of(&config::rate_limit_fail, {"open", "closed"})},
    {"metrics-listen", "control, node: where /metrics is served HOST:PORT "
                       "(gateways and up serve it on their HTTP port)",
     "", host_port(&config::metrics_listen_host, &config::metrics_listen_port,
                   true)},
  };
  return table;
}

std::string env_name(const std::string& key) {
  std::string result = "SANDHIVE_";
  for (auto ch : key)
    result += ch == '-' ? '_' : static_cast<char>(std::toupper(ch));
  return result;
}

} // namespace

const char* to_string(setting_source x) {
  switch (x) {
    case setting_source::defaults:
      return "default";
    case setting_source::file:
      return "file";
    case setting_source::env:
      return "env";
    case setting_source::flag:
      return "flag";
  }
  return "?";
}

std::optional<std::string> process_env(const char* name) {
  if (auto x = std::getenv(name))
    return std::string{x};
  return std::nullopt;
}

config_loader::config_loader(CLI::App& app) {
  config_option_ = app.add_option("--config", config_file_,
                                  "config file (default: ./"
                                    + std::string{defaults::config_file}
                                    + " when present; env SANDHIVE_CONFIG)");
  for (auto& s : settings()) {
    auto help = std::string{s.help} + " [env " + env_name(s.key) + ", default "
                + (s.default_value.empty() ? "none" : s.default_value) + "]";
    // The last of repeated flags wins, so wrappers can append overrides.
    flag_options_[s.key] = app.add_option("--"s + s.key, flags_[s.key], help)
                             ->type_name("")
                             ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  }
}

std::optional<std::string> config_loader::load(config& out,
                                               const env_lookup& env) const {
  using src = setting_source;
  auto given = [](const void* opt) {
    return static_cast<const CLI::Option*>(opt)->count() > 0;
  };
  // Pick the config file: flag, then environment, then the optional default.
  std::string file;
  bool must_exist = true;
  if (given(config_option_))
    file = config_file_;
  else if (auto x = env("SANDHIVE_CONFIG"))
    file = *x;
  else {
    file = defaults::config_file;
    must_exist = false;
  }
  std::map<std::string, std::string> from_file;
  if (!file.empty()) {
    std::ifstream in{file};
    if (!in) {
      if (must_exist)
        return "cannot read config file " + file;
      file.clear();
    } else {
      try {
        for (auto& item : CLI::ConfigINI{}.from_config(in)) {
          if (item.name == "++" || item.name == "--")
            continue; // section markers
          auto key = item.fullname();
          auto known = std::any_of(settings().begin(), settings().end(),
                                   [&](auto& s) { return key == s.key; });
          if (!known)
            return "unknown setting '" + key + "' in " + file;
          std::string value;
          for (auto& part : item.inputs) {
            if (!part.empty() && part.front() == '#')
              break; // a trailing comment, as --print-config writes them
            value += (value.empty() ? "" : " ") + part;
          }
          from_file[key] = value;
        }
      } catch (const CLI::Error& e) {
        return "cannot parse config file " + file + ": " + e.what();
      }
    }
  }
  config result;
  result.config_file = file;
  for (auto& s : settings()) {
    std::string value = s.default_value;
    auto source = src::defaults;
    std::string origin = "the default";
    if (auto i = from_file.find(s.key); i != from_file.end()) {
      value = i->second;
      source = src::file;
      origin = file;
    }
    auto ename = env_name(s.key);
    if (auto x = env(ename.c_str())) {
      value = *x;
      source = src::env;
      origin = ename;
    }
    if (given(flag_options_.at(s.key))) {
      value = flags_.at(s.key);
      source = src::flag;
      origin = "--"s + s.key;
    }
    if (auto err = s.apply(result, value))
      return "invalid " + std::string{s.key} + " '" + value + "' (from "
             + origin + "): " + *err;
    result.effective.push_back({s.key, value, source});
  }
  out = std::move(result);
  return std::nullopt;
}

std::string redact_url(const std::string& url) {
  auto scheme = url.find("://");
  auto at = url.rfind('@');
  if (scheme == std::string::npos || at == std::string::npos || at < scheme)
    return url;
  auto colon = url.find(':', scheme + 3);
  if (colon == std::string::npos || colon > at)
    return url;
  return url.substr(0, colon + 1) + "***" + url.substr(at);
}

std::string to_ini(const config& cfg) {
  std::ostringstream os;
  os << "# sandhive effective configuration";
  if (!cfg.config_file.empty())
    os << " (config file: " << cfg.config_file << ")";
  os << "\n";
  for (auto& e : cfg.effective) {
    auto value = e.key.find("-url") != std::string::npos ? redact_url(e.value)
                                                         : e.value;
    os << e.key << " = \"" << value << "\"";
    os << std::string(e.key.size() + value.size() < 40
                        ? 40 - e.key.size() - value.size()
                        : 1,
                      ' ')
       << "# " << to_string(e.source) << "\n";
  }
  return os.str();
}

std::optional<std::chrono::milliseconds> parse_duration(const std::string& x) {
  size_t pos = 0;
  while (pos < x.size() && std::isdigit(static_cast<unsigned char>(x[pos])))
    ++pos;
  if (pos == 0 || pos > 12)
    return std::nullopt;
  auto n = std::stoll(x.substr(0, pos));
  auto unit = x.substr(pos);
  if (unit.empty() || unit == "s")
    return std::chrono::milliseconds{n * 1000};
  if (unit == "ms")
    return std::chrono::milliseconds{n};
  if (unit == "m")
    return std::chrono::milliseconds{n * 60'000};
  if (unit == "h")
    return std::chrono::milliseconds{n * 3'600'000};
  return std::nullopt;
}

std::optional<uint64_t> parse_size(const std::string& x) {
  size_t pos = 0;
  while (pos < x.size() && std::isdigit(static_cast<unsigned char>(x[pos])))
    ++pos;
  if (pos == 0 || pos > 15)
    return std::nullopt;
  uint64_t n = std::stoull(x.substr(0, pos));
  auto unit = x.substr(pos);
  static const std::vector<std::pair<std::string, uint64_t>> units = {
    {"", 1},           {"B", 1},
    {"KiB", 1ull << 10}, {"MiB", 1ull << 20}, {"GiB", 1ull << 30},
    {"KB", 1000},      {"MB", 1000'000},    {"GB", 1000'000'000},
  };
  for (auto& [name, factor] : units)
    if (unit == name)
      return n * factor;
  return std::nullopt;
}

std::optional<std::pair<std::string, uint16_t>>
parse_host_port(const std::string& x) {
  auto colon = x.rfind(':');
  if (colon == std::string::npos || colon == 0)
    return std::nullopt;
  auto host = x.substr(0, colon);
  auto port_text = x.substr(colon + 1);
  if (host.front() == '[') {
    if (host.back() != ']' || host.size() < 3)
      return std::nullopt;
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string::npos) {
    return std::nullopt; // an IPv6 address needs brackets
  }
  if (port_text.empty() || port_text.size() > 5
      || !std::all_of(port_text.begin(), port_text.end(),
                      [](unsigned char c) { return std::isdigit(c); }))
    return std::nullopt;
  auto port = std::stoul(port_text);
  if (port > 65535)
    return std::nullopt;
  return std::make_pair(host, static_cast<uint16_t>(port));
}

} // namespace sbx

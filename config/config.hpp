#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace CLI {
class App;
} // namespace CLI

namespace sbx {

/// Where the effective value of a setting came from, lowest precedence first.
enum class setting_source { defaults, file, env, flag };

const char* to_string(setting_source x);

/// The effective configuration of one sandhive process.
struct config {
  std::string config_file;
  std::string data_dir;
  std::string listen_host;
  uint16_t listen_port = 0;
  std::string postgres_url;
  std::string redis_url;
  std::string log_level;
  std::string log_format;
  unsigned http_threads = 0;
  uint64_t http_body_limit = 0;
  std::chrono::milliseconds http_read_timeout{0};
  std::chrono::milliseconds http_idle_timeout{0};
  unsigned http_max_in_flight = 0;
  std::chrono::milliseconds request_timeout{0};
  std::chrono::milliseconds store_timeout{0};
  std::string postgres_bin_dir;
  std::string redis_server;
  unsigned workers = 0;
  unsigned pool_size = 0;
  unsigned max_sandboxes = 0;
  std::string envd_path;
  // -- cluster --
  std::string cluster_listen_host;
  uint16_t cluster_listen_port = 0;
  std::string join_host;
  uint16_t join_port = 0;
  std::string name;
  std::string cluster_secret;
  std::string cluster_secret_file;
  std::string node_listen_host;
  uint16_t node_listen_port = 0;
  std::string advertise_host;
  unsigned capacity_vcpu = 0;
  uint64_t capacity_memory_mb = 0;
  std::chrono::milliseconds node_timeout{0};
  std::string tls_certificate;
  std::string tls_key;
  std::string tls_ca;
  std::string admin_token;
  std::string admin_token_file;
  std::string metrics_listen_host;
  uint16_t metrics_listen_port = 0;
  std::string rate_limit_fail;
  std::chrono::milliseconds usage_interval{0};
  std::string price_vcpu_hour;
  std::string price_memory_gib_hour;
  std::string price_disk_gib_month;
  std::chrono::milliseconds billing_interval{0};
  std::chrono::milliseconds billing_grace{0};
  std::string billing_stop;

  /// One effective setting, as text, for `--print-config`.
  struct entry {
    std::string key;
    std::string value;
    setting_source source;
  };

  /// Every setting in table order, with its source.
  std::vector<entry> effective;
};

/// Looks up an environment variable; injectable for tests.
using env_lookup = std::function<std::optional<std::string>(const char*)>;

/// The process environment.
std::optional<std::string> process_env(const char* name);

/// Registers every setting as a flag of a (sub)command and, after parsing,
/// layers defaults < config file < SANDHIVE_* environment < flags.
class config_loader {
public:
  /// Adds `--config FILE` and one `--KEY VALUE` flag per setting to `app`.
  explicit config_loader(CLI::App& app);

  /// Builds the effective configuration. Returns one line saying what is
  /// wrong (and where the bad value came from) on failure.
  std::optional<std::string> load(config& out,
                                  const env_lookup& env = process_env) const;

private:
  std::map<std::string, std::string> flags_;
  std::map<std::string, const void*> flag_options_;
  std::string config_file_;
  const void* config_option_ = nullptr;
};

/// Renders the effective configuration as an INI file with each value's
/// source as a trailing comment; feeding it back yields the same config.
std::string to_ini(const config& cfg);

/// Parses "250ms", "30s", "5m", "1h" (a bare number means seconds).
std::optional<std::chrono::milliseconds> parse_duration(const std::string& x);

/// Parses "1048576", "512KiB", "64MiB", "2GiB" (also KB/MB/GB as powers of
/// 1000).
std::optional<uint64_t> parse_size(const std::string& x);

/// Splits "HOST:PORT" ("[::1]:PORT" for IPv6).
std::optional<std::pair<std::string, uint16_t>>
parse_host_port(const std::string& x);

/// Replaces the password in a URL ("postgresql://u:secret@h") with "***".
std::string redact_url(const std::string& url);

} // namespace sbx

#pragma once

#include <chrono>
#include <cstdint>

/// Every default of sandhive's configuration, in one place. The README's
/// configuration table and config/sandhive.example.ini mirror this file.
namespace sbx::defaults {

using namespace std::chrono_literals;

/// Directory for the embedded databases, templates and the bootstrap key.
constexpr const char* data_dir = "./.sandhive";

/// HTTP listen address of the gateway.
constexpr const char* listen = "127.0.0.1:3000";

/// Optional config file, read when present (an explicit --config must exist).
constexpr const char* config_file = "sandhive.ini";

/// Log threshold: trace, debug, info, warn, error or off.
constexpr const char* log_level = "info";

/// Log line format: text or json.
constexpr const char* log_format = "text";

/// Threads running the gateway's I/O (Beast/Asio).
constexpr unsigned http_threads = 2;

/// Largest request body the gateway accepts (413 beyond it).
constexpr uint64_t http_body_limit = 64ull << 20;

/// Time a client may take to send a request once it started.
constexpr auto http_read_timeout = 30s;

/// Time a keep-alive connection may stay idle between requests.
constexpr auto http_idle_timeout = 60s;

/// Requests the gateway keeps in flight towards actors at most (503 beyond).
constexpr unsigned http_max_in_flight = 4096;

/// Deadline of a request from the gateway to an actor.
constexpr auto request_timeout = 10s;

/// Connect and statement timeout towards PostgreSQL and Redis.
constexpr auto store_timeout = 3s;

/// Where Debian's PostgreSQL 15 server programs live.
constexpr const char* postgres_bin_dir = "/usr/lib/postgresql/15/bin";

/// The Redis server program.
constexpr const char* redis_server = "/usr/bin/redis-server";

/// Warm sandboxes kept ready of the base template.
constexpr unsigned pool_size = 2;

/// Sandboxes one node runs at most.
constexpr unsigned max_sandboxes = 1000;

/// A node silent this long is lost (its sandboxes are marked killed).
constexpr auto node_timeout = 5s;

/// Where a node accepts gateways' direct connections (port 0: any free).
constexpr const char* node_listen = "127.0.0.1:0";

/// Actor scheduler threads; 0 means one per core.
constexpr unsigned workers = 0;

} // namespace sbx::defaults

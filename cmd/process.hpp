#pragma once

// What the roles (up, control, node, gateway) share: the data dir, stop
// signals, the actor system, the cluster secret, the databases of a
// control, the node of a machine and the HTTP gateway.

#include "actors/interfaces.hpp"
#include "actors/node.hpp"
#include "config/config.hpp"
#include "gateway/backends.hpp"
#include "gateway/router.hpp"
#include "gateway/server.hpp"
#include "runtime/metrics/metrics.hpp"

#include <caf/actor_system.hpp>
#include <caf/io/middleman_actor.hpp>

#include <condition_variable>
#include <csignal>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

namespace sbx {

class api_auth;
class rate_limiter;
class user_auth;
class bridge;
class cache_client;
class sandbox_routes;
class store;
namespace embedded {
class postgres;
class redis;
} // namespace embedded
namespace routes {
struct api_context;
} // namespace routes

struct supervisor_config;

/// A handle that a component replaces when it restarts; read from any
/// thread.
template <class Handle>
class live_handle {
public:
  void set(Handle x) {
    std::lock_guard<std::mutex> guard{mtx_};
    x_ = std::move(x);
  }

  Handle get() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return x_;
  }

private:
  mutable std::mutex mtx_;
  Handle x_;
};

/// Something that happens once, waited for from another thread.
class one_shot {
public:
  void set() {
    std::lock_guard<std::mutex> guard{mtx_};
    done_ = true;
    cv_.notify_all();
  }

  bool wait_for(std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> guard{mtx_};
    return cv_.wait_for(guard, timeout, [this] { return done_; });
  }

private:
  std::mutex mtx_;
  std::condition_variable cv_;
  bool done_ = false;
};

/// An expected failure: one line for the user, exit code 1.
int fail(const std::string& what);

/// Makes the data dir, takes its lock (so that two processes never share
/// it) and returns its absolute path; empty with `error` set on failure.
std::string prepare_data_dir(const std::string& dir, int& lock_fd,
                             std::string& error);

/// Blocks SIGINT and SIGTERM in every thread (threads inherit the mask) so
/// that `wait_for_stop` alone receives them; ignores SIGPIPE.
sigset_t block_stop_signals();

/// Waits for SIGINT or SIGTERM and returns its name.
const char* wait_for_stop(const sigset_t& signals);

/// An actor system that owns its config (CAF keeps a reference to it).
using actor_system_ptr
  = std::unique_ptr<caf::actor_system, std::function<void(caf::actor_system*)>>;

/// The actor system of every role, with sandhive's types. `network` loads
/// the middleman (and TLS when configured) for cluster connections.
actor_system_ptr make_actor_system(const config& cfg, bool network);

/// Whether cluster connections use TLS (certificate, key and CA set).
bool tls_enabled(const config& cfg);

/// The middleman that makes cluster connections: TLS or plain.
caf::io::middleman_actor cluster_middleman(caf::actor_system& sys,
                                           const config& cfg);

/// The cluster secret: cluster-secret, else the file cluster-secret-file
/// (default <data-dir>/cluster-secret), which `create` makes when missing.
caf::expected<std::string> cluster_secret(const config& cfg,
                                          const std::string& data_dir,
                                          bool create);

/// The operators' admin token: admin-token, else the file admin-token-file
/// (default <data-dir>/admin-token), which `create` makes when missing.
caf::expected<std::string> admin_token(const config& cfg,
                                       const std::string& data_dir,
                                       bool create);

/// What a control proves and checks: the cluster secret and the admin
/// token, made on first start.
struct control_keys {
  std::string secret;
  std::string admin_token;
};

/// The control's keys (see cluster_secret and admin_token).
caf::expected<control_keys> control_keys_of(const config& cfg,
                                            const std::string& data_dir);

/// Where a control or `up` tells local shells its cluster port.
std::string cluster_address_file(const std::string& data_dir);

/// This process's name in the cluster: the name setting, else the host's.
std::string member_name(const config& cfg);

/// Asks the supervisor to stop every component, and waits (bounded).
void stop_supervisor(caf::actor_system& sys, const supervisor_actor& sup);

/// The control's own actors, for `control` and `up`: the directory, the
/// scheduler and the admin actor (supervised), and the door that admits
/// nodes, gateways and operators.
class control_roles {
public:
  /// `redis_url` is handed to gateways that join, for the rate limits.
  control_roles(caf::actor_system& sys, const config& cfg, backends& live,
                control_keys keys, metrics& stats, std::string redis_url);

  /// Adds the directory, the scheduler and the admin actor to the
  /// supervisor's components.
  void add_components(supervisor_config& scfg);

  door_actor door() const {
    return door_;
  }

  /// Publishes the door on cluster-listen (TLS when configured; up without
  /// cluster-listen: a free loopback port) and writes the address to
  /// <data-dir>/cluster-address for local shells.
  caf::error publish(const config& cfg, const std::string& data_dir);

  /// Drops the door; before the actor system goes.
  void release();

private:
  caf::actor_system& sys_;
  const config& cfg_;
  backends& live_;
  metrics& stats_;
  door_actor door_;
};

/// A control's PostgreSQL and Redis (embedded or by URL), migrated, with
/// the default team bootstrapped.
class control_storage {
public:
  control_storage();
  ~control_storage();

  /// Starts or reaches both; the error says what to fix.
  caf::error start(const config& cfg, const std::string& data_dir);

  /// Stops the embedded servers (after the actor system is gone).
  void stop();

  std::shared_ptr<store> db;
  std::shared_ptr<cache_client> cache;
  /// The Redis in use (embedded or configured).
  std::string redis_url;

private:
  std::unique_ptr<embedded::postgres> pg_;
  std::unique_ptr<embedded::redis> redis_;
};

/// The node of this machine, as the config describes it.
node_config node_config_of(const config& cfg, const std::string& data_dir);

/// The supervisor's maker of this machine's node: `first` (made at start,
/// where a failure can still stop the process) once, a fresh node after a
/// crash.
std::function<caf::actor(caf::actor_system&)>
node_component(node_actor first, node_config cfg);

/// /metrics, /health and /ready of a process without an HTTP gateway (a
/// control, a node), on metrics-listen; nothing when that is not set.
class metrics_endpoint {
public:
  explicit metrics_endpoint(const config& cfg);
  ~metrics_endpoint();

  /// Binds metrics-listen (a port in use fails at once).
  caf::error listen(const config& cfg);

  /// Serves, answering /ready from the supervisor's probes.
  void start(caf::actor_system& sys, const config& cfg, supervisor_actor sup);

  void stop();

  metrics stats;

private:
  http::router routes_;
  server server_;
  std::unique_ptr<bridge> bridge_;
  bool enabled_ = false;
};

/// The supervisor's maker of this machine's usage meter, following the
/// live node and sending to `billing`; waiting usage spools in the data dir.
std::function<caf::actor(caf::actor_system&)>
meter_component(std::shared_ptr<live_handle<node_actor>> node,
                std::function<billing_actor()> billing, const std::string& name,
                const std::string& data_dir, std::chrono::milliseconds interval);

/// The HTTP side of a process: it listens first (so that a port in use
/// fails before anything slow starts), then serves the routes once the
/// actors they talk to run.
class http_gateway {
public:
  explicit http_gateway(const config& cfg);
  ~http_gateway();

  caf::error listen(const config& cfg);

  /// Adds every route, talking to `live`, and starts serving. Console
  /// sessions are signed with a key derived from `cluster_secret`.
  void start(caf::actor_system& sys, const config& cfg, backends& live,
             supervisor_actor sup, const std::string& cluster_secret);

  /// Follows the directory's news of ended sandboxes (call on every new
  /// directory handle).
  void follow(const directory_actor& dir);

  /// Counts rate limits in the Redis at `url`, unless this process has a
  /// redis-url of its own ("" is ignored).
  void use_redis(const std::string& url);

  uint16_t port() const {
    return server_.port();
  }

  /// Stops serving.
  void stop();

  /// Releases the actors the routes hold; before the actor system goes.
  void release();

  metrics stats;

private:
  http::router routes_;
  server server_;
  std::unique_ptr<bridge> bridge_;
  std::unique_ptr<api_auth> auth_;
  std::unique_ptr<user_auth> users_;
  std::unique_ptr<rate_limiter> limits_;
  std::chrono::milliseconds redis_timeout_{0};
  bool own_redis_ = false;
  std::unique_ptr<sandbox_routes> sandboxes_;
  std::unique_ptr<routes::api_context> api_;
  /// `follow` may come from an actor's thread while `start` runs.
  std::mutex mtx_;
};

} // namespace sbx

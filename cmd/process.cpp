#include "cmd/process.hpp"

#include "actors/admin.hpp"
#include "actors/billing.hpp"
#include "actors/meter.hpp"
#include "actors/directory.hpp"
#include "actors/door.hpp"
#include "actors/error.hpp"
#include "actors/scheduler.hpp"
#include "actors/supervisor.hpp"
#include "gateway/auth.hpp"
#include "gateway/bridge.hpp"
#include "gateway/rate_limits.hpp"
#include "gateway/routes/routes.hpp"
#include "gateway/sandbox_routes.hpp"
#include "runtime/auth/api_key.hpp"
#include "runtime/billing/money.hpp"
#include "runtime/cache/cache_client.hpp"
#include "runtime/embedded/servers.hpp"
#include "runtime/log/log.hpp"
#include "runtime/secret_file.hpp"
#include "runtime/store/store.hpp"

#include <caf/actor_system_config.hpp>
#include <caf/io/middleman.hpp>
#include <caf/io/publish.hpp>
#include <caf/openssl/manager.hpp>
#include <caf/openssl/publish.hpp>
#include <caf/scoped_actor.hpp>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

namespace sbx {

namespace fs = std::filesystem;

int fail(const std::string& what) {
  std::cerr << "sandhive: " << what << "\n";
  return 1;
}

std::string prepare_data_dir(const std::string& dir, int& lock_fd,
                             std::string& error) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    error = "cannot create data dir " + dir + ": " + ec.message()
            + "; pick another with --data-dir";
    return "";
  }
  auto lock_path = dir + "/sandhive.lock";
  int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    error = "data dir " + dir + " is not writable (" + std::strerror(errno)
            + "); pick another with --data-dir";
    return "";
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    std::string pid(32, '\0');
    auto n = ::pread(fd, pid.data(), pid.size(), 0);
    pid.resize(n > 0 ? static_cast<size_t>(n) : 0);
    while (!pid.empty() && (pid.back() == '\n' || pid.back() == '\0'))
      pid.pop_back();
    error = "another sandhive (pid " + (pid.empty() ? "?" : pid)
            + ") is running on data dir " + dir;
    ::close(fd);
    return "";
  }
  auto pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) != 0
      || ::pwrite(fd, pid.data(), pid.size(), 0)
           != static_cast<ssize_t>(pid.size())) {
    error = "data dir " + dir + " is not writable; pick another with "
            "--data-dir";
    ::close(fd);
    return "";
  }
  lock_fd = fd;
  auto abs = fs::absolute(dir).lexically_normal().string();
  if (!abs.empty() && abs.back() == '/')
    abs.pop_back();
  return abs;
}

sigset_t block_stop_signals() {
  // A peer that goes away (an envd, an HTTP client) is an error value, not
  // a reason to die.
  ::signal(SIGPIPE, SIG_IGN);
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  return stop_signals;
}

const char* wait_for_stop(const sigset_t& signals) {
  int sig = 0;
  sigwait(&signals, &sig);
  return sig == SIGINT ? "SIGINT" : "SIGTERM";
}

bool tls_enabled(const config& cfg) {
  return !cfg.tls_certificate.empty() && !cfg.tls_key.empty()
         && !cfg.tls_ca.empty();
}

actor_system_ptr make_actor_system(const config& cfg, bool network) {
  auto owned_cfg = std::make_shared<caf::actor_system_config>();
  auto& sys_cfg = *owned_cfg;
  sys_cfg.add_message_types<caf::id_block::sbx_types>();
  sys_cfg.add_message_types<caf::id_block::sbx_actors>();
  sys_cfg.add_error_category(
    caf::atom("sbx"), [](uint8_t code, caf::atom_value, const caf::message&) {
      return std::string{"sbx."} + to_string(static_cast<ec>(code));
    });
  auto workers = cfg.workers != 0
                   ? cfg.workers
                   : std::max(2u, std::thread::hardware_concurrency());
  sys_cfg.set("scheduler.max-threads", static_cast<size_t>(workers));
  sys_cfg.set("logger.console", caf::atom("none"));
  if (network) {
    sys_cfg.load<caf::io::middleman>();
    // A hung peer (SIGSTOP, a dead link) sends nothing: its connection is
    // closed after this, and every actor of it reported down.
    sys_cfg.set("middleman.heartbeat-interval", caf::timespan{std::chrono::milliseconds{500}});
    sys_cfg.set("middleman.connection-timeout", caf::timespan{std::chrono::seconds{4}});
    if (tls_enabled(cfg)) {
      sys_cfg.openssl_certificate = cfg.tls_certificate;
      sys_cfg.openssl_key = cfg.tls_key;
      sys_cfg.openssl_cafile = cfg.tls_ca;
      sys_cfg.load<caf::openssl::manager>();
    }
  }
  return actor_system_ptr{new caf::actor_system(sys_cfg),
                          [owned_cfg](caf::actor_system* sys) {
                            delete sys; // before its config
                          }};
}

caf::io::middleman_actor cluster_middleman(caf::actor_system& sys,
                                           const config& cfg) {
  if (tls_enabled(cfg))
    return sys.openssl_manager().actor_handle();
  return sys.middleman().actor_handle();
}

namespace {

/// A secret given as a setting, else read from `file` (made when missing
/// and `create`). `what` names it in messages ("cluster-secret").
caf::expected<std::string> load_secret(const std::string& value,
                                       const std::string& file, bool create,
                                       const std::string& what,
                                       const std::string& made_for) {
  if (!value.empty())
    return value;
  std::ifstream in{file};
  std::string secret;
  if (in && std::getline(in, secret) && !secret.empty())
    return secret;
  if (!create)
    return make_error(ec::invalid_argument,
                      "no " + what + ": set --" + what + "-file to a copy of "
                        + "the control's <data-dir>/" + what + " (looked for "
                        + file + ")");
  secret = auth::random_hex(32);
  if (auto err = write_secret_file(file, secret))
    return err;
  log::get("sandhive")->info("made {} {}: {}", what, file, made_for);
  return secret;
}

} // namespace

caf::expected<std::string> cluster_secret(const config& cfg,
                                          const std::string& data_dir,
                                          bool create) {
  return load_secret(cfg.cluster_secret,
                     cfg.cluster_secret_file.empty()
                       ? data_dir + "/cluster-secret"
                       : cfg.cluster_secret_file,
                     create, "cluster-secret",
                     "nodes and gateways join with --cluster-secret-file "
                     "pointing at a copy of it");
}

caf::expected<std::string> admin_token(const config& cfg,
                                       const std::string& data_dir,
                                       bool create) {
  return load_secret(cfg.admin_token,
                     cfg.admin_token_file.empty() ? data_dir + "/admin-token"
                                                  : cfg.admin_token_file,
                     create, "admin-token",
                     "operators run `sandhive admin` with "
                     "--admin-token-file pointing at a copy of it");
}

caf::expected<control_keys> control_keys_of(const config& cfg,
                                            const std::string& data_dir) {
  auto secret = cluster_secret(cfg, data_dir, true);
  if (!secret)
    return std::move(secret.error());
  auto token = admin_token(cfg, data_dir, true);
  if (!token)
    return std::move(token.error());
  return control_keys{std::move(*secret), std::move(*token)};
}

std::string cluster_address_file(const std::string& data_dir) {
  return data_dir + "/cluster-address";
}

std::string member_name(const config& cfg) {
  if (!cfg.name.empty())
    return cfg.name;
  char host[256] = {};
  ::gethostname(host, sizeof(host) - 1);
  return host;
}

void stop_supervisor(caf::actor_system& sys, const supervisor_actor& sup) {
  caf::scoped_actor self{sys};
  self->request(sup, std::chrono::seconds{12}, atom::shutdown_v)
    .receive([](atom::ok_atom) {},
             [&](caf::error& err) {
               log::get("sandhive")->warn("supervisor did not stop cleanly: {}",
                                          message_of(err));
             });
}

// -- control_roles ------------------------------------------------------------

control_roles::control_roles(caf::actor_system& sys, const config& cfg,
                             backends& live, control_keys keys,
                             metrics& stats, std::string redis_url)
  : sys_(sys), cfg_(cfg), live_(live), stats_(stats) {
  door_config dc;
  dc.secret = std::move(keys.secret);
  dc.admin_token = std::move(keys.admin_token);
  dc.handles = [&live, redis_url] {
    return cluster_handles{live.scheduler(), live.directory(), live.database(),
                           live.admin(),     "",               live.billing(),
                           redis_url};
  };
  dc.middleman = cluster_middleman(sys, cfg);
  door_ = sys.spawn(sbx::door, std::move(dc));
}

void control_roles::add_components(supervisor_config& scfg) {
  auto& live = live_;
  auto stats = &stats_;
  scfg.add("directory", [&live, stats](caf::actor_system& sys) {
    return caf::actor_cast<caf::actor>(
      sys.spawn(directory, [&live] { return live.database(); },
                [&live] { return live.scheduler(); },
                std::chrono::seconds{30}, stats));
  });
  scheduler_config sc;
  sc.node_timeout = cfg_.node_timeout;
  sc.database = [&live] { return live.database(); };
  sc.directory = [&live] { return live.directory(); };
  sc.stats = stats;
  scfg.add("scheduler", [sc](caf::actor_system& sys) {
    return caf::actor_cast<caf::actor>(sys.spawn(scheduler, sc));
  });
  billing_config bc;
  bc.database = [&live] { return live.database(); };
  bc.scheduler = [&live] { return live.scheduler(); };
  bc.directory = [&live] { return live.directory(); };
  // Checked when the settings were read.
  for (auto [text, field] :
       {std::pair{&cfg_.price_vcpu_hour, &price_list::vcpu_hour},
        std::pair{&cfg_.price_memory_gib_hour, &price_list::memory_gib_hour},
        std::pair{&cfg_.price_disk_gib_month, &price_list::disk_gib_month}})
    for (auto& [plan, micros] : money::parse_plan_prices(*text).value_or(
           std::map<std::string, int64_t>{}))
      bc.prices[plan].*field = micros;
  bc.interval = cfg_.billing_interval;
  bc.grace = cfg_.billing_grace;
  bc.kill_when_out = cfg_.billing_stop == "kill";
  scfg.add("billing", [bc](caf::actor_system& sys) {
    return caf::actor_cast<caf::actor>(sys.spawn(billing, bc));
  });
  admin_config ac;
  ac.scheduler = [&live] { return live.scheduler(); };
  ac.directory = [&live] { return live.directory(); };
  ac.database = [&live] { return live.database(); };
  ac.billing = [&live] { return live.billing(); };
  ac.door = [door = door_] { return door; };
  scfg.add("admin", [ac](caf::actor_system& sys) {
    return caf::actor_cast<caf::actor>(sys.spawn(admin, ac));
  });
}

caf::error control_roles::publish(const config& cfg,
                                  const std::string& data_dir) {
  auto loopback = cfg.cluster_listen_host.empty();
  auto host = loopback ? std::string{"127.0.0.1"} : cfg.cluster_listen_host;
  auto port = loopback ? uint16_t{0} : cfg.cluster_listen_port;
  auto published
    = tls_enabled(cfg)
        ? caf::openssl::publish(door_, port, host.c_str(), true)
        : caf::io::publish(door_, port, host.c_str(), true);
  if (!published)
    return make_error(ec::unavailable,
                      "cannot listen for the cluster on " + host + ":"
                        + std::to_string(port) + ": "
                        + sys_.render(published.error()));
  log::get("sandhive")->info("cluster port {}:{} open{}", host, *published,
                             tls_enabled(cfg) ? " (TLS)" : "");
  // Local shells (`sandhive admin --data-dir D`) find the port here.
  auto shown = host == "0.0.0.0" ? "127.0.0.1"
               : host == "::"    ? "::1"
                                 : host;
  std::ofstream out{cluster_address_file(data_dir), std::ios::trunc};
  out << (shown.find(':') != std::string::npos ? "[" + shown + "]" : shown)
      << ":" << *published << "\n";
  return caf::none;
}

void control_roles::release() {
  caf::anon_send_exit(door_, caf::exit_reason::user_shutdown);
  door_ = nullptr;
}

// -- metrics_endpoint ---------------------------------------------------------

metrics_endpoint::metrics_endpoint(const config& cfg)
  : server_(server_options{1 << 16, cfg.http_read_timeout,
                           cfg.http_idle_timeout, 1},
            routes_, stats) {
  // nop
}

metrics_endpoint::~metrics_endpoint() = default;

caf::error metrics_endpoint::listen(const config& cfg) {
  if (cfg.metrics_listen_host.empty())
    return caf::none;
  enabled_ = true;
  return server_.listen(cfg.metrics_listen_host, cfg.metrics_listen_port);
}

void metrics_endpoint::start(caf::actor_system& sys, const config& cfg,
                             supervisor_actor sup) {
  if (!enabled_)
    return;
  bridge_ = std::make_unique<bridge>(sys, cfg.request_timeout, 64);
  routes::add_health(routes_, *bridge_, sup);
  routes::add_metrics(routes_, stats);
  server_.start();
  log::get("sandhive")->info("metrics on http://{}:{}/metrics",
                             cfg.metrics_listen_host, server_.port());
}

void metrics_endpoint::stop() {
  if (enabled_)
    server_.stop();
}

// -- control_storage ----------------------------------------------------------

control_storage::control_storage() = default;

control_storage::~control_storage() = default;

caf::error control_storage::start(const config& cfg,
                                  const std::string& data_dir) {
  auto pg_url = cfg.postgres_url;
  auto redis_url = cfg.redis_url;
  if (pg_url.empty()) {
    pg_ = std::make_unique<embedded::postgres>(data_dir, cfg.postgres_bin_dir);
    if (auto err = pg_->start())
      return make_error(ec::unavailable,
                        "cannot start the embedded PostgreSQL: "
                          + message_of(err));
    pg_url = pg_->url();
  }
  if (redis_url.empty()) {
    redis_ = std::make_unique<embedded::redis>(data_dir, cfg.redis_server);
    if (auto err = redis_->start())
      return make_error(ec::unavailable,
                        "cannot start the embedded Redis: " + message_of(err));
    redis_url = redis_->url();
  }
  db = make_pg_store(pg_url, cfg.store_timeout);
  if (auto err = db->ping())
    return make_error(ec::unavailable,
                      "PostgreSQL at " + redact_url(pg_url)
                        + " does not answer: " + message_of(err)
                        + "; check --postgres-url");
  cache = make_redis_client(redis_url, cfg.store_timeout);
  this->redis_url = redis_url;
  if (auto err = cache->ping())
    return make_error(ec::unavailable,
                      "Redis at " + redact_url(redis_url) + " does not answer: "
                        + message_of(err) + "; check --redis-url");
  auto migrations = parse_migrations(embedded_migrations());
  if (!migrations)
    return migrations.error();
  auto applied = db->migrate(*migrations);
  if (!applied)
    return make_error(ec::migration_failed, "cannot migrate the database: "
                                              + message_of(applied.error()));
  for (auto& name : *applied)
    log::get("store")->info("applied migration {}", name);
  auto key_file = data_dir + "/api-key";
  auto key = db->bootstrap([&](const auth::api_key& k) {
    return write_secret_file(key_file, k.secret);
  });
  if (!key)
    return make_error(ec::internal, "cannot bootstrap the default team: "
                                      + message_of(key.error()));
  if (*key)
    std::cout << "sandhive: created team 'default' and its API key (shown "
                 "once, also saved in "
              << key_file << "):\n"
              << (*key)->secret << "\n"
              << std::flush;
  return caf::none;
}

void control_storage::stop() {
  db.reset();
  cache.reset();
  if (redis_)
    redis_->stop();
  if (pg_)
    pg_->stop();
}

// -- node ---------------------------------------------------------------------

node_config node_config_of(const config& cfg, const std::string& data_dir) {
  node_config n;
  n.name = cfg.name.empty() ? node_config{}.name : cfg.name;
  n.data_dir = data_dir;
  n.envd_path = cfg.envd_path.empty()
                  ? (fs::read_symlink("/proc/self/exe").parent_path()
                     / "sandhive-envd")
                      .string()
                  : cfg.envd_path;
  n.max_sandboxes = cfg.max_sandboxes;
  n.vcpu_capacity = cfg.capacity_vcpu;
  n.memory_capacity_mb = cfg.capacity_memory_mb;
  // One parent cgroup per data dir: the cleanup at start removes only what
  // an earlier run on this data dir left, never another node's sandboxes.
  n.cgroup_parent = "sandhive-" + auth::sha256_hex(data_dir).substr(0, 12);
  n.pools = {{"base", cfg.pool_size}};
  return n;
}

std::function<caf::actor(caf::actor_system&)>
meter_component(std::shared_ptr<live_handle<node_actor>> node,
                std::function<billing_actor()> billing, const std::string& name,
                const std::string& data_dir,
                std::chrono::milliseconds interval) {
  meter_config mc;
  mc.interval = interval;
  mc.node_name = name;
  mc.node = [node] { return node->get(); };
  mc.billing = std::move(billing);
  mc.spool = data_dir + "/usage-pending.json";
  return [mc](caf::actor_system& sys) {
    return caf::actor_cast<caf::actor>(sys.spawn(meter, mc));
  };
}

std::function<caf::actor(caf::actor_system&)>
node_component(node_actor first, node_config cfg) {
  auto pending = std::make_shared<caf::actor>(caf::actor_cast<caf::actor>(first));
  return [pending, cfg](caf::actor_system& sys) {
    if (*pending)
      return std::exchange(*pending, caf::actor{});
    auto n = make_node(sys, cfg);
    return n ? caf::actor_cast<caf::actor>(*n) : caf::actor{};
  };
}

// -- http_gateway -------------------------------------------------------------

namespace {

server_options server_options_of(const config& cfg) {
  return {cfg.http_body_limit, cfg.http_read_timeout, cfg.http_idle_timeout,
          cfg.http_threads};
}

} // namespace

http_gateway::http_gateway(const config& cfg)
  : server_(server_options_of(cfg), routes_, stats) {
  // nop
}

http_gateway::~http_gateway() = default;

caf::error http_gateway::listen(const config& cfg) {
  return server_.listen(cfg.listen_host, cfg.listen_port);
}

void http_gateway::start(caf::actor_system& sys, const config& cfg,
                         backends& live, supervisor_actor sup,
                         const std::string& cluster_secret) {
  std::unique_lock<std::mutex> guard{mtx_};
  bridge_ = std::make_unique<bridge>(sys, cfg.request_timeout,
                                     cfg.http_max_in_flight);
  // A verified key is remembered this long: also how long a revoked key
  // keeps working at most.
  limits_ = std::make_unique<rate_limiter>(stats,
                                           cfg.rate_limit_fail == "open");
  limits_->hand_off([this](std::function<void()> f) {
    server_.post(std::move(f));
  });
  redis_timeout_ = cfg.store_timeout;
  own_redis_ = !cfg.redis_url.empty();
  if (own_redis_)
    limits_->use(cfg.redis_url, redis_timeout_);
  auth_ = std::make_unique<api_auth>(*bridge_, live, std::chrono::seconds{5},
                                     limits_.get());
  // A logout reaches the other gateways within this.
  users_ = std::make_unique<user_auth>(*bridge_, live,
                                       session_key(cluster_secret),
                                       std::chrono::seconds{5}, limits_.get());
  sandboxes_ = std::make_unique<sandbox_routes>(sys, *bridge_, live);
  api_ = std::make_unique<routes::api_context>(
    routes::api_context{sys,     *bridge_,    live,    *auth_,
                        *users_, *sandboxes_, *limits_});
  guard.unlock();
  follow(live.directory());
  routes::add_health(routes_, *bridge_, sup, routes::sandbox_health(*api_));
  routes::add_metrics(routes_, stats);
  routes::add_e2b_api(routes_, *api_);
  routes::add_envd_api(routes_, *api_);
  routes::add_files(routes_, *api_);
  routes::add_websockets(routes_, *api_);
  routes::add_accounts(routes_, *api_);
  routes::add_keys(routes_, *api_);
  routes::add_usage(routes_, *api_);
  routes::add_billing(routes_, *api_);
  server_.start();
}

void http_gateway::follow(const directory_actor& dir) {
  std::lock_guard<std::mutex> guard{mtx_};
  if (sandboxes_)
    sandboxes_->follow(dir);
}

void http_gateway::use_redis(const std::string& url) {
  std::lock_guard<std::mutex> guard{mtx_};
  if (limits_ && !own_redis_ && !url.empty())
    limits_->use(url, redis_timeout_);
}

void http_gateway::stop() {
  server_.stop();
}

void http_gateway::release() {
  std::lock_guard<std::mutex> guard{mtx_};
  if (sandboxes_)
    sandboxes_->stop();
  if (limits_)
    limits_->stop();
}

} // namespace sbx

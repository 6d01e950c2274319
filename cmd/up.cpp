// `sandhive up`: control, gateway (and later node) in one process, with a
// private PostgreSQL and Redis unless URLs are configured.

#include "cmd/commands.hpp"

#include "actors/error.hpp"
#include "actors/interfaces.hpp"
#include "actors/directory.hpp"
#include "actors/node.hpp"
#include "actors/supervisor.hpp"
#include "gateway/auth.hpp"
#include "gateway/backends.hpp"
#include "gateway/bridge.hpp"
#include "gateway/sandbox_routes.hpp"
#include "gateway/routes/routes.hpp"
#include "gateway/server.hpp"
#include "runtime/auth/api_key.hpp"
#include "runtime/cache/cache_client.hpp"
#include "runtime/embedded/servers.hpp"
#include "runtime/log/log.hpp"
#include "runtime/metrics/metrics.hpp"
#include "runtime/secret_file.hpp"
#include "runtime/store/store.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

namespace sbx {

namespace fs = std::filesystem;

namespace {

/// An expected failure: one line for the user, exit code 1.
int fail(const std::string& what) {
  std::cerr << "sandhive: " << what << "\n";
  return 1;
}

/// Makes the data dir and proves it writable; takes its lock so that two
/// `sandhive up` never share one data dir. Returns the lock's fd or -1.
int prepare_data_dir(const std::string& dir, std::string& error) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    error = "cannot create data dir " + dir + ": " + ec.message()
            + "; pick another with --data-dir";
    return -1;
  }
  auto lock_path = dir + "/sandhive.lock";
  int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    error = "data dir " + dir + " is not writable (" + std::strerror(errno)
            + "); pick another with --data-dir";
    return -1;
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
    return -1;
  }
  auto pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) != 0
      || ::pwrite(fd, pid.data(), pid.size(), 0)
           != static_cast<ssize_t>(pid.size())) {
    error = "data dir " + dir + " is not writable; pick another with "
            "--data-dir";
    ::close(fd);
    return -1;
  }
  return fd;
}

} // namespace

int run_up(const config& cfg) {
  // Sandboxes mount their layers in a namespace of ours: invisible to the
  // host and gone with the process. Only possible while single-threaded.
  if (auto err = isolate_mounts())
    return fail("sandhive up runs sandboxes and needs root: "
                + message_of(err));
  // A peer that goes away (an envd, an HTTP client) is an error value, not
  // a reason to die.
  ::signal(SIGPIPE, SIG_IGN);
  // Block the stop signals in every thread (threads inherit the mask) so
  // that the main thread alone receives them through sigwait.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  log::init(cfg.log_level, cfg.log_format);
  auto lg = log::get("sandhive");
  lg->info("sandhive {} starting (data dir {})", SBX_VERSION, cfg.data_dir);
  std::string error;
  auto lock_fd = prepare_data_dir(cfg.data_dir, error);
  if (lock_fd < 0)
    return fail(error);
  auto data_dir = fs::absolute(cfg.data_dir).lexically_normal().string();
  if (!data_dir.empty() && data_dir.back() == '/')
    data_dir.pop_back();
  // Bind the HTTP port before anything slow, so that a port in use fails at
  // once and nothing has been started for nothing.
  metrics stats;
  http::router routes;
  server_options sopts{cfg.http_body_limit, cfg.http_read_timeout,
                       cfg.http_idle_timeout, cfg.http_threads};
  server http_server{sopts, routes, stats};
  if (auto err = http_server.listen(cfg.listen_host, cfg.listen_port))
    return fail(message_of(err));
  // -- PostgreSQL and Redis: embedded or given ------------------------------
  std::unique_ptr<embedded::postgres> own_pg;
  std::unique_ptr<embedded::redis> own_redis;
  auto pg_url = cfg.postgres_url;
  auto redis_url = cfg.redis_url;
  if (pg_url.empty()) {
    own_pg = std::make_unique<embedded::postgres>(data_dir,
                                                  cfg.postgres_bin_dir);
    if (auto err = own_pg->start())
      return fail("cannot start the embedded PostgreSQL: " + message_of(err));
    pg_url = own_pg->url();
  }
  if (redis_url.empty()) {
    own_redis = std::make_unique<embedded::redis>(data_dir, cfg.redis_server);
    if (auto err = own_redis->start())
      return fail("cannot start the embedded Redis: " + message_of(err));
    redis_url = own_redis->url();
  }
  std::shared_ptr<store> db = make_pg_store(pg_url, cfg.store_timeout);
  if (auto err = db->ping())
    return fail("PostgreSQL at " + redact_url(pg_url) + " does not answer: "
                + message_of(err) + "; check --postgres-url");
  std::shared_ptr<cache_client> cache
    = make_redis_client(redis_url, cfg.store_timeout);
  if (auto err = cache->ping())
    return fail("Redis at " + redact_url(redis_url) + " does not answer: "
                + message_of(err) + "; check --redis-url");
  // -- schema and bootstrap -------------------------------------------------
  auto migrations = parse_migrations(embedded_migrations());
  if (!migrations)
    return fail(message_of(migrations.error()));
  auto applied = db->migrate(*migrations);
  if (!applied)
    return fail("cannot migrate the database: " + message_of(applied.error()));
  for (auto& name : *applied)
    log::get("store")->info("applied migration {}", name);
  auto key_file = data_dir + "/api-key";
  auto key = db->bootstrap([&](const auth::api_key& k) {
    return write_secret_file(key_file, k.secret);
  });
  if (!key)
    return fail("cannot bootstrap the default team: "
                + message_of(key.error()));
  if (*key) {
    std::cout << "sandhive: created team 'default' and its API key (shown "
                 "once, also saved in "
              << key_file << "):\n"
              << (*key)->secret << "\n"
              << std::flush;
  }
  // Sandboxes recorded as live did not survive the last run of this node.
  if (auto n = db->end_live_sandboxes(node_config{}.name, "sandhive restarted");
      n && *n > 0)
    log::get("store")->info("marked {} sandboxes of the last run as ended", *n);
  // -- actors and gateway -----------------------------------------------------
  // Declared after the server: the actor system goes first at exit, so no
  // actor can post to a destroyed I/O context.
  caf::actor_system_config sys_cfg;
  sys_cfg.add_message_types<caf::id_block::sbx_types>();
  sys_cfg.add_message_types<caf::id_block::sbx_actors>();
  sys_cfg.add_error_category(
    caf::atom("sbx"), [](uint8_t code, caf::atom_value, const caf::message&) {
      return std::string{"sbx."} + to_string(static_cast<ec>(code));
    });
  auto workers = cfg.workers != 0 ? cfg.workers
                                  : std::max(2u, std::thread::hardware_concurrency());
  sys_cfg.set("scheduler.max-threads", static_cast<size_t>(workers));
  sys_cfg.set("logger.console", caf::atom("none"));
  auto sys = std::make_unique<caf::actor_system>(sys_cfg);
  node_config ncfg;
  ncfg.data_dir = data_dir;
  ncfg.envd_path = cfg.envd_path.empty()
                     ? (fs::read_symlink("/proc/self/exe").parent_path()
                        / "sandhive-envd")
                         .string()
                     : cfg.envd_path;
  ncfg.max_sandboxes = cfg.max_sandboxes;
  // One parent cgroup per data dir: the cleanup at start removes only what
  // an earlier run on this data dir left, never another instance's sandboxes.
  ncfg.cgroup_parent = "sandhive-" + auth::sha256_hex(data_dir).substr(0, 12);
  ncfg.pools = {{"base", cfg.pool_size}};
  auto first_node = make_node(*sys, ncfg);
  if (!first_node)
    return fail("cannot start the node: " + message_of(first_node.error()));
  backends live;
  supervisor_config scfg;
  scfg.on_start = [&live](const std::string& name, const caf::actor& a) {
    live.set(name, a);
  };
  scfg.db = db;
  scfg.directory = [&live](caf::actor_system& sys) {
    return caf::actor_cast<caf::actor>(
      sys.spawn(directory, [&live] { return live.database(); }));
  };
  scfg.cache = cache;
  scfg.stats = &stats;
  // The node that was just made first; a fresh one after a crash.
  scfg.node = [first = std::make_shared<caf::actor>(
                 caf::actor_cast<caf::actor>(*first_node)),
               ncfg](caf::actor_system& sys) {
    if (*first)
      return std::exchange(*first, caf::actor{});
    auto n = make_node(sys, ncfg);
    return n ? caf::actor_cast<caf::actor>(*n) : caf::actor{};
  };
  auto sup = sys->spawn(supervisor, scfg);
  bridge to_actors{*sys, cfg.request_timeout, cfg.http_max_in_flight};
  // A verified key is remembered this long: also how long a revoked key
  // keeps working at most.
  api_auth keys{to_actors, live, std::chrono::seconds{5}};
  sandbox_routes sandboxes{*sys, to_actors, live};
  routes::api_context api{*sys, to_actors, live, keys, sandboxes};
  routes::add_health(routes, to_actors, sup, routes::sandbox_health(api));
  routes::add_metrics(routes, stats);
  routes::add_e2b_api(routes, api);
  routes::add_envd_api(routes, api);
  routes::add_files(routes, api);
  routes::add_websockets(routes, api);
  http_server.start();
  lg->info("sandhive is up: http://{}:{} (E2B_API_URL and E2B_SANDBOX_URL)",
           cfg.listen_host, http_server.port());
  // -- run until SIGINT or SIGTERM ----------------------------------------
  int sig = 0;
  sigwait(&stop_signals, &sig);
  lg->info("received {}; shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
  http_server.stop();
  {
    caf::scoped_actor self{*sys};
    self->request(sup, std::chrono::seconds{12}, atom::shutdown_v)
      .receive([](atom::ok_atom) {},
               [&](caf::error& err) {
                 lg->warn("supervisor did not stop cleanly: {}",
                          message_of(err));
               });
  }
  sandboxes.stop();
  live.clear();
  sys.reset();
  if (own_redis)
    own_redis->stop();
  if (own_pg)
    own_pg->stop();
  ::close(lock_fd);
  lg->info("stopped");
  return 0;
}

} // namespace sbx

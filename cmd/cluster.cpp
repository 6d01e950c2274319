// The cluster roles: `sandhive control`, `sandhive node` and `sandhive
// gateway`. The same actors as `sandhive up`, in separate processes that
// talk through CAF's middleman.

#include "cmd/commands.hpp"
#include "cmd/process.hpp"

#include "actors/error.hpp"
#include "actors/member.hpp"
#include "actors/supervisor.hpp"
#include "runtime/log/log.hpp"
#include "runtime/store/store.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include <atomic>

#include <unistd.h>

namespace sbx {

namespace {

using namespace std::chrono_literals;

/// Set when the control refused this process for good; main then exits 1.
std::atomic<bool> refused_for_good{false};

std::function<void(const caf::error&)> exit_when_refused() {
  return [](const caf::error&) {
    refused_for_good = true;
    ::kill(::getpid(), SIGTERM);
  };
}

caf::error check_join(const config& cfg) {
  if (cfg.join_host.empty() || cfg.join_port == 0)
    return make_error(ec::invalid_argument,
                      "--join HOST:PORT (the control's cluster-listen) is "
                      "required");
  return caf::none;
}

} // namespace

int run_control(const config& cfg) {
  auto stop_signals = block_stop_signals();
  log::init(cfg.log_level, cfg.log_format);
  auto lg = log::get("sandhive");
  if (cfg.cluster_listen_host.empty())
    return fail("--cluster-listen HOST:PORT is required: where nodes and "
                "gateways join");
  std::string error;
  int lock_fd = -1;
  auto data_dir = prepare_data_dir(cfg.data_dir, lock_fd, error);
  if (data_dir.empty())
    return fail(error);
  auto keys = control_keys_of(cfg, data_dir);
  if (!keys)
    return fail(message_of(keys.error()));
  metrics_endpoint metrics{cfg};
  if (auto err = metrics.listen(cfg))
    return fail(message_of(err));
  control_storage storage;
  if (auto err = storage.start(cfg, data_dir))
    return fail(message_of(err));
  auto sys = make_actor_system(cfg, true);
  backends live;
  control_roles control{*sys,           cfg,
                        live,           std::move(*keys),
                        metrics.stats, storage.redis_url};
  supervisor_config scfg;
  scfg.on_start = [&live](const std::string& name, const caf::actor& a) {
    live.set(name, a);
  };
  scfg.db = storage.db;
  scfg.cache = storage.cache;
  scfg.stats = &metrics.stats;
  control.add_components(scfg);
  auto sup = sys->spawn(supervisor, scfg);
  if (auto err = control.publish(cfg, data_dir))
    return fail(message_of(err));
  metrics.start(*sys, cfg, sup);
  lg->info("sandhive control {} is up", SBX_VERSION);
  lg->info("received {}; shutting down", wait_for_stop(stop_signals));
  metrics.stop();
  stop_supervisor(*sys, sup);
  control.release();
  live.clear();
  sys.reset();
  storage.stop();
  ::close(lock_fd);
  lg->info("stopped");
  return 0;
}

int run_node(const config& cfg) {
  if (auto err = isolate_mounts())
    return fail("sandhive node runs sandboxes and needs root: "
                + message_of(err));
  auto stop_signals = block_stop_signals();
  log::init(cfg.log_level, cfg.log_format);
  auto lg = log::get("sandhive");
  if (auto err = check_join(cfg))
    return fail(message_of(err));
  std::string error;
  int lock_fd = -1;
  auto data_dir = prepare_data_dir(cfg.data_dir, lock_fd, error);
  if (data_dir.empty())
    return fail(error);
  auto secret = cluster_secret(cfg, data_dir, false);
  if (!secret)
    return fail(message_of(secret.error()));
  metrics_endpoint metrics{cfg};
  if (auto err = metrics.listen(cfg))
    return fail(message_of(err));
  auto ncfg = node_config_of(cfg, data_dir);
  ncfg.name = member_name(cfg);
  ncfg.stats = &metrics.stats;
  auto sys = make_actor_system(cfg, true);
  auto mm = cluster_middleman(*sys, cfg);
  // Gateways connect straight here, so that a sandbox's data does not pass
  // through the control (and survives its restart). They watch the beacon
  // published on this port to notice the connection drop and connect again
  // (it holds no power: it only answers ping).
  auto beacon = sys->spawn<caf::hidden>([](caf::event_based_actor*) -> caf::behavior {
    return {[](atom::ping) { return atom::ok_v; }};
  });
  uint16_t node_port = 0;
  {
    caf::scoped_actor self{*sys};
    self->request(mm, 5s, caf::publish_atom::value, cfg.node_listen_port,
                  caf::actor_cast<caf::strong_actor_ptr>(beacon),
                  std::set<std::string>{}, cfg.node_listen_host, true)
      .receive([&](uint16_t port) { node_port = port; },
               [&](caf::error& err) { error = sys->render(err); });
  }
  if (node_port == 0)
    return fail("cannot listen for gateways on " + cfg.node_listen_host + ":"
                + std::to_string(cfg.node_listen_port) + ": " + error);
  auto address = (cfg.advertise_host.empty() ? cfg.node_listen_host
                                             : cfg.advertise_host)
                 + ":" + std::to_string(node_port);
  auto first_node = make_node(*sys, ncfg);
  if (!first_node)
    return fail("cannot start the node: " + message_of(first_node.error()));
  auto node_handle = std::make_shared<live_handle<node_actor>>();
  auto billing_handle = std::make_shared<live_handle<billing_actor>>();
  supervisor_config scfg;
  scfg.on_start = [node_handle](const std::string& name, const caf::actor& a) {
    if (name == "node")
      node_handle->set(caf::actor_cast<node_actor>(a));
  };
  scfg.add("node", node_component(*first_node, ncfg));
  scfg.add("member", [&, node_handle](caf::actor_system& sys) {
    member_config mc;
    mc.role = "node";
    mc.name = ncfg.name;
    mc.host = cfg.join_host;
    mc.port = cfg.join_port;
    mc.middleman = mm;
    mc.secret = *secret;
    mc.node = [node_handle] { return node_handle->get(); };
    mc.address = address;
    mc.on_join = [billing_handle](const cluster_handles& h) {
      billing_handle->set(h.billing);
    };
    mc.on_refused = exit_when_refused();
    return caf::actor_cast<caf::actor>(sys.spawn(member, mc));
  }, "control");
  scfg.add("meter", meter_component(
                      node_handle,
                      [billing_handle] { return billing_handle->get(); },
                      ncfg.name, data_dir, cfg.usage_interval));
  auto sup = sys->spawn(supervisor, scfg);
  metrics.start(*sys, cfg, sup);
  lg->info("sandhive node '{}' is up: joining {}:{}, gateways reach it at {}",
           ncfg.name, cfg.join_host, cfg.join_port, address);
  lg->info("received {}; shutting down", wait_for_stop(stop_signals));
  metrics.stop();
  stop_supervisor(*sys, sup);
  node_handle->set(node_actor{});
  billing_handle->set(billing_actor{});
  caf::anon_send_exit(beacon, caf::exit_reason::user_shutdown);
  mm = nullptr;
  sys.reset();
  ::close(lock_fd);
  lg->info("stopped");
  return refused_for_good ? 1 : 0;
}

int run_gateway(const config& cfg) {
  auto stop_signals = block_stop_signals();
  log::init(cfg.log_level, cfg.log_format);
  auto lg = log::get("sandhive");
  if (auto err = check_join(cfg))
    return fail(message_of(err));
  auto secret = cluster_secret(cfg, cfg.data_dir, false);
  if (!secret)
    return fail(message_of(secret.error()));
  http_gateway gw{cfg};
  if (auto err = gw.listen(cfg))
    return fail(message_of(err));
  auto sys = make_actor_system(cfg, true);
  backends live;
  supervisor_config scfg;
  scfg.add("member", [&](caf::actor_system& sys) {
    member_config mc;
    mc.role = "gateway";
    mc.name = member_name(cfg);
    mc.host = cfg.join_host;
    mc.port = cfg.join_port;
    mc.middleman = cluster_middleman(sys, cfg);
    mc.secret = *secret;
    mc.on_join = [&](const cluster_handles& h) {
      live.set(h);
      gw.follow(h.directory);
      gw.use_redis(h.redis_url);
    };
    mc.on_refused = exit_when_refused();
    return caf::actor_cast<caf::actor>(sys.spawn(member, mc));
  }, "control");
  auto sup = sys->spawn(supervisor, scfg);
  gw.start(*sys, cfg, live, sup, *secret);
  lg->info("sandhive gateway is up: http://{}:{}, joining {}:{}",
           cfg.listen_host, gw.port(), cfg.join_host, cfg.join_port);
  lg->info("received {}; shutting down", wait_for_stop(stop_signals));
  gw.stop();
  stop_supervisor(*sys, sup);
  gw.release();
  live.clear();
  sys.reset();
  lg->info("stopped");
  return refused_for_good ? 1 : 0;
}

} // namespace sbx

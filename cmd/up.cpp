// `sandhive up`: control, node and gateway in one process, with a private
// PostgreSQL and Redis unless URLs are configured. The same actors as a
// cluster's, talking in process; with --cluster-listen, more nodes and
// gateways can join it.

#include "cmd/commands.hpp"
#include "cmd/process.hpp"

#include "actors/error.hpp"
#include "actors/member.hpp"
#include "actors/supervisor.hpp"
#include "runtime/auth/api_key.hpp"
#include "runtime/log/log.hpp"
#include "runtime/store/store.hpp"

#include <caf/scoped_actor.hpp>

namespace sbx {

int run_up(const config& cfg) {
  // Sandboxes mount their layers in a namespace of ours: invisible to the
  // host and gone with the process. Only possible while single-threaded.
  if (auto err = isolate_mounts())
    return fail("sandhive up runs sandboxes and needs root: "
                + message_of(err));
  auto stop_signals = block_stop_signals();
  log::init(cfg.log_level, cfg.log_format);
  auto lg = log::get("sandhive");
  lg->info("sandhive {} starting (data dir {})", SBX_VERSION, cfg.data_dir);
  std::string error;
  int lock_fd = -1;
  auto data_dir = prepare_data_dir(cfg.data_dir, lock_fd, error);
  if (data_dir.empty())
    return fail(error);
  // Bind the HTTP port before anything slow, so that a port in use fails at
  // once and nothing has been started for nothing.
  http_gateway gw{cfg};
  if (auto err = gw.listen(cfg))
    return fail(message_of(err));
  control_storage storage;
  if (auto err = storage.start(cfg, data_dir))
    return fail(message_of(err));
  auto ncfg = node_config_of(cfg, data_dir);
  ncfg.stats = &gw.stats;
  // Sandboxes recorded as live did not survive the last run of this node.
  if (auto n = storage.db->end_live_sandboxes(ncfg.name, "sandhive restarted");
      n && *n > 0)
    log::get("store")->info("marked {} sandboxes of the last run as ended", *n);
  // The cluster port is always open, on a free loopback port unless
  // cluster-listen says otherwise: operators' shells join through it, and
  // so can more nodes and gateways.
  auto keys = control_keys_of(cfg, data_dir);
  if (!keys)
    return fail(message_of(keys.error()));
  auto secret = keys->secret;
  // -- actors and gateway -----------------------------------------------------
  // Declared after the server: the actor system goes first at exit, so no
  // actor can post to a destroyed I/O context.
  auto sys = make_actor_system(cfg, true);
  auto first_node = make_node(*sys, ncfg);
  if (!first_node)
    return fail("cannot start the node: " + message_of(first_node.error()));
  backends live;
  control_roles control{*sys, cfg, live, std::move(*keys), gw.stats,
                        storage.redis_url};
  auto node_handle = std::make_shared<live_handle<node_actor>>();
  auto joined = std::make_shared<one_shot>();
  supervisor_config scfg;
  scfg.on_start = [&](const std::string& name, const caf::actor& a) {
    live.set(name, a);
    if (name == "node")
      node_handle->set(caf::actor_cast<node_actor>(a));
    if (name == "directory")
      gw.follow(caf::actor_cast<directory_actor>(a));
  };
  scfg.db = storage.db;
  scfg.cache = storage.cache;
  scfg.stats = &gw.stats;
  control.add_components(scfg);
  scfg.add("node", node_component(*first_node, ncfg));
  scfg.add("member", [&, node_handle,
                                          joined](caf::actor_system& sys) {
    member_config mc;
    mc.role = "node";
    mc.name = ncfg.name;
    mc.door = control.door();
    mc.secret = secret;
    mc.node = [node_handle] { return node_handle->get(); };
    mc.on_join = [joined](const cluster_handles&) { joined->set(); };
    return caf::actor_cast<caf::actor>(sys.spawn(member, mc));
  });
  scfg.add("meter", meter_component(node_handle,
                                    [&live] { return live.billing(); },
                                    ncfg.name, data_dir, cfg.usage_interval));
  auto sup = sys->spawn(supervisor, scfg);
  // Serve once this machine's node takes sandboxes.
  if (!joined->wait_for(std::chrono::seconds{10}))
    lg->warn("the node has not joined the scheduler after 10 s");
  if (auto err = control.publish(cfg, data_dir))
    return fail(message_of(err));
  gw.start(*sys, cfg, live, sup, secret);
  gw.use_redis(storage.redis_url);
  lg->info("sandhive is up: http://{}:{} (E2B_API_URL and E2B_SANDBOX_URL)",
           cfg.listen_host, gw.port());
  // -- run until SIGINT or SIGTERM ----------------------------------------
  lg->info("received {}; shutting down", wait_for_stop(stop_signals));
  gw.stop();
  stop_supervisor(*sys, sup);
  gw.release();
  control.release();
  node_handle->set(node_actor{});
  live.clear();
  sys.reset();
  storage.stop();
  ::close(lock_fd);
  lg->info("stopped");
  return 0;
}

} // namespace sbx

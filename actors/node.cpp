#include "actors/node.hpp"

#include "actors/driver_worker.hpp"
#include "actors/error.hpp"
#include "actors/pool.hpp"
#include "actors/sandbox.hpp"
#include "runtime/log/log.hpp"
#include "runtime/metrics/metrics.hpp"

#include <caf/actor_cast.hpp>
#include <caf/send.hpp>

#include <openssl/rand.h>

#include <filesystem>
#include <thread>

#include <unistd.h>

namespace sbx {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

using self_ptr = node_actor::stateful_pointer<node_state>;

caf::error check_limits(unsigned vcpu, uint64_t memory_mb, uint64_t disk_mb,
                        int64_t timeout_ms) {
  if (vcpu < 1 || vcpu > 64)
    return make_error(ec::invalid_argument,
                      "vcpu must be between 1 and 64, not "
                        + std::to_string(vcpu));
  if (memory_mb < 32 || memory_mb > 262144)
    return make_error(ec::invalid_argument,
                      "memory must be between 32 MiB and 256 GiB, not "
                        + std::to_string(memory_mb) + " MiB");
  if (disk_mb < 16 || disk_mb > 1048576)
    return make_error(ec::invalid_argument,
                      "disk must be between 16 MiB and 1 TiB, not "
                        + std::to_string(disk_mb) + " MiB");
  if (timeout_ms < 0)
    return make_error(ec::invalid_argument, "timeout must not be negative");
  return caf::none;
}

/// Starts a sandbox actor and answers its handle once it runs.
void start_sandbox(self_ptr self, const std::string& template_id, unsigned vcpu,
                   uint64_t memory_mb, uint64_t disk_mb,
                   std::function<void(caf::expected<sandbox_actor>)> done) {
  auto& st = self->state;
  auto& tpl = st.templates.at(template_id);
  sandbox_config sc;
  sc.spec.id = make_sandbox_id();
  sc.spec.rootfs = tpl.rootfs;
  sc.spec.hostname = sc.spec.id;
  sc.spec.limits.vcpu = vcpu;
  sc.spec.limits.memory_bytes = memory_mb << 20;
  sc.spec.limits.pids = 1024;
  sc.spec.disk_bytes = disk_mb << 20;
  sc.template_id = template_id;
  sc.default_user = tpl.manifest.default_user;
  sc.workdir = tpl.manifest.workdir;
  sc.template_env = tpl.manifest.env;
  sc.node = caf::actor_cast<node_actor>(self);
  sc.node_name = st.cfg.name;
  sc.worker = st.workers[st.next_worker++ % st.workers.size()];
  sc.hub = st.hub;
  auto id = sc.spec.id;
  auto sb = self->spawn<sandbox_impl>(std::move(sc));
  self->monitor(sb);
  st.sandboxes[id] = {sb, template_id, vcpu, memory_mb};
  st.vcpu_used += vcpu;
  st.memory_used_mb += memory_mb;
  // Longer than a sandbox's own start deadlines (driver call, envd hello).
  self->request(sb, 90s, atom::get_v)
    .then(
      [done, sb](const sandbox_info&) {
        done(sb);
      },
      [done, sb](caf::error& err) {
        // Do not leave a late starter running unclaimed.
        caf::anon_send(sb, atom::kill_v, std::string{"start failed"});
        done(err);
      });
}

caf::error check_capacity(self_ptr self, unsigned vcpu, uint64_t memory_mb) {
  auto& st = self->state;
  if (st.sandboxes.size() >= st.cfg.max_sandboxes)
    return make_error(ec::resource_exhausted,
                      "node " + st.cfg.name + " runs its maximum of "
                        + std::to_string(st.cfg.max_sandboxes) + " sandboxes");
  if (st.vcpu_used + vcpu > st.cfg.vcpu_capacity)
    return make_error(ec::resource_exhausted,
                      "node " + st.cfg.name + " has no vCPU left ("
                        + std::to_string(st.vcpu_used) + " of "
                        + std::to_string(st.cfg.vcpu_capacity) + " in use)");
  if (st.memory_used_mb + memory_mb > st.cfg.memory_capacity_mb)
    return make_error(ec::resource_exhausted,
                      "node " + st.cfg.name + " has no memory left ("
                        + std::to_string(st.memory_used_mb) + " of "
                        + std::to_string(st.cfg.memory_capacity_mb)
                        + " MiB in use)");
  return caf::none;
}

void release(self_ptr self, const std::string& id, const std::string& reason) {
  auto& st = self->state;
  auto i = st.sandboxes.find(id);
  if (i == st.sandboxes.end())
    return;
  st.vcpu_used -= i->second.vcpu;
  st.memory_used_mb -= i->second.memory_mb;
  self->demonitor(i->second.handle.address());
  st.sandboxes.erase(i);
  sandbox_event ev{id, "killed", reason,
                   std::chrono::duration_cast<std::chrono::milliseconds>(
                     std::chrono::system_clock::now().time_since_epoch())
                     .count()};
  for (auto& s : st.subscribers)
    caf::anon_send(s, atom::event_v, ev);
}

} // namespace

std::string make_sandbox_id() {
  static constexpr char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  unsigned char buf[20];
  RAND_bytes(buf, sizeof(buf));
  std::string id(20, 'a');
  for (size_t i = 0; i < id.size(); ++i)
    id[i] = alphabet[buf[i] % 36];
  return id;
}

node_state::~node_state() {
  if (!drv)
    return;
  for (auto& id : drv->running())
    drv->destroy(id);
}

node_actor::behavior_type
node(node_actor::stateful_pointer<node_state> self, node_config cfg,
     std::shared_ptr<driver> drv, std::shared_ptr<envd_hub> hub,
     std::map<std::string, template_entry> templates) {
  auto& st = self->state;
  st.cfg = std::move(cfg);
  st.drv = std::move(drv);
  st.hub = std::move(hub);
  st.templates = std::move(templates);
  for (unsigned i = 0; i < std::max(1u, st.cfg.workers); ++i)
    st.workers.push_back(self->spawn<caf::detached>(driver_worker, st.drv));
  for (auto& w : st.workers)
    self->link_to(w);
  auto lg = log::get("node");
  self->set_down_handler([self, lg](caf::down_msg& msg) {
    auto& st = self->state;
    for (auto& [id, e] : st.sandboxes) {
      if (e.handle.address() != msg.source)
        continue;
      // The actor died without cleaning up: do it for it.
      auto sid = id;
      lg->error("sandbox {} actor died ({}); cleaning up", sid,
                caf::to_string(msg.reason));
      self->request(st.workers[0], 60s, atom::destroy_v, sid)
        .then([](atom::ok_atom) {}, [](caf::error&) {});
      release(self, sid, "sandbox actor died");
      return;
    }
  });
  for (auto& [tpl, size] : st.cfg.pools) {
    if (!st.templates.count(tpl) || size == 0)
      continue;
    st.pools[tpl] = self->spawn(pool, tpl, caf::actor_cast<node_actor>(self),
                                size);
    self->link_to(st.pools[tpl]);
  }
  // Shutting down: stop the pools, kill every sandbox through its own actor
  // (which cleans up), and quit once all have ended or the grace period is
  // over (the state's destructor removes what is left).
  self->set_exit_handler([self, lg](caf::exit_msg& msg) {
    auto& st = self->state;
    if (st.stopping)
      return;
    for (auto& [tpl, p] : st.pools) {
      if (p.address() != msg.source)
        continue;
      lg->error("pool {} died ({}); starting a new one", tpl,
                caf::to_string(msg.reason));
      auto size = st.cfg.pools[tpl];
      p = self->spawn(pool, tpl, caf::actor_cast<node_actor>(self), size);
      self->link_to(p);
      return;
    }
    st.stopping = true;
    st.exit_reason = msg.reason;
    for (auto& [tpl, p] : st.pools) {
      self->unlink_from(p);
      self->send_exit(p, caf::exit_reason::user_shutdown);
    }
    st.pools.clear();
    if (st.sandboxes.empty()) {
      self->quit(st.exit_reason);
      return;
    }
    lg->info("stopping {} sandbox(es)", st.sandboxes.size());
    for (auto& [id, e] : st.sandboxes)
      caf::anon_send(e.handle, atom::kill_v, std::string{"node shut down"});
    self->delayed_send(self, 10s, atom::tick_v);
  });
  lg->info(
    "node {} ready: {} vCPU, {} MiB, {} sandboxes at most, templates: {}",
    st.cfg.name, st.cfg.vcpu_capacity, st.cfg.memory_capacity_mb,
    st.cfg.max_sandboxes, st.templates.size());
  return {
    [self](atom::create,
           sandbox_request& req) -> caf::result<sandbox_actor, sandbox_info> {
      auto& st = self->state;
      auto tpl = st.templates.find(req.template_id);
      if (tpl == st.templates.end())
        return make_error(ec::not_found,
                          "template '" + req.template_id + "' not found");
      auto& m = tpl->second.manifest;
      auto vcpu = req.vcpu ? req.vcpu : m.vcpu;
      auto memory = req.memory_mb ? req.memory_mb : m.memory_mb;
      auto disk = req.disk_mb ? req.disk_mb : m.disk_mb;
      if (auto err = check_limits(vcpu, memory, disk, req.timeout_ms))
        return err;
      auto rp = self->make_response_promise<sandbox_actor, sandbox_info>();
      auto started = std::chrono::steady_clock::now();
      auto claim = [self, rp, req, started](sandbox_actor sb,
                                            bool warm) mutable {
        self->request(sb, 30s, atom::claim_v, req)
          .then(
            [self, rp, sb, started, warm](sandbox_info& info) mutable {
              if (auto stats = self->state.cfg.stats)
                stats->observe_sandbox_create(
                  warm, std::chrono::duration<double>(
                          std::chrono::steady_clock::now() - started)
                          .count());
              rp.deliver(sb, info);
            },
            [rp, self, sb](caf::error& err) mutable {
              caf::anon_send(sb, atom::kill_v, std::string{"claim failed"});
              rp.deliver(err);
            });
      };
      auto cold = [self, rp, claim, tpl_id = req.template_id, vcpu, memory,
                   disk]() mutable {
        if (auto err = check_capacity(self, vcpu, memory)) {
          rp.deliver(err);
          return;
        }
        start_sandbox(self, tpl_id, vcpu, memory, disk,
                      [rp, claim](caf::expected<sandbox_actor> sb) mutable {
                        if (!sb) {
                          rp.deliver(std::move(sb.error()));
                          return;
                        }
                        claim(*sb, false);
                      });
      };
      auto pool = st.pools.find(req.template_id);
      auto standard = vcpu == m.vcpu && memory == m.memory_mb
                      && disk == m.disk_mb;
      if (pool == st.pools.end() || !standard) {
        cold();
        return rp;
      }
      self->request(pool->second, 5s, atom::claim_v)
        .then(
          [self, claim, cold](sandbox_actor sb) mutable {
            if (auto stats = self->state.cfg.stats)
              stats->count_pool_claim(static_cast<bool>(sb));
            if (sb)
              claim(sb, true);
            else
              cold();
          },
          [cold](caf::error&) mutable {
            cold();
          });
      return rp;
    },
    [self](atom::create,
           const std::string& template_id) -> caf::result<sandbox_actor> {
      auto& st = self->state;
      auto tpl = st.templates.find(template_id);
      if (tpl == st.templates.end())
        return make_error(ec::not_found,
                          "template '" + template_id + "' not found");
      auto& m = tpl->second.manifest;
      if (auto err = check_capacity(self, m.vcpu, m.memory_mb))
        return err;
      auto rp = self->make_response_promise<sandbox_actor>();
      start_sandbox(self, template_id, m.vcpu, m.memory_mb, m.disk_mb,
                    [rp](caf::expected<sandbox_actor> sb) mutable {
                      if (!sb)
                        rp.deliver(std::move(sb.error()));
                      else
                        rp.deliver(*sb);
                    });
      return rp;
    },
    [self](atom::get_atom,
           const std::string& id) -> caf::result<sandbox_actor> {
      auto i = self->state.sandboxes.find(id);
      if (i == self->state.sandboxes.end())
        return make_error(ec::not_found, "sandbox " + id + " not found");
      return i->second.handle;
    },
    [self](atom::list,
           atom::templates) -> caf::result<std::vector<template_info>> {
      std::vector<template_info> result;
      for (auto& [id, t] : self->state.templates) {
        std::error_code err;
        auto mtime = std::filesystem::last_write_time(t.rootfs, err);
        int64_t at_ms = 0;
        if (!err)
          at_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                    (mtime - decltype(mtime)::clock::now())
                    + std::chrono::system_clock::now().time_since_epoch())
                    .count();
        result.push_back({id, t.manifest.vcpu, t.manifest.memory_mb,
                          t.manifest.disk_mb, at_ms});
      }
      return result;
    },
    [self](atom::list) -> caf::result<std::vector<sandbox_info>> {
      auto& st = self->state;
      auto rp = self->make_response_promise<std::vector<sandbox_info>>();
      struct collector {
        std::vector<sandbox_info> infos;
        size_t pending = 0;
      };
      auto c = std::make_shared<collector>();
      c->pending = st.sandboxes.size();
      if (c->pending == 0) {
        rp.deliver(std::vector<sandbox_info>{});
        return rp;
      }
      for (auto& [id, e] : st.sandboxes)
        self->request(e.handle, 5s, atom::get_v)
          .then(
            [c, rp](sandbox_info& info) mutable {
              c->infos.push_back(std::move(info));
              if (--c->pending == 0)
                rp.deliver(std::move(c->infos));
            },
            [c, rp](caf::error&) mutable {
              if (--c->pending == 0)
                rp.deliver(std::move(c->infos));
            });
      return rp;
    },
    [self](atom::list, atom::live)
      -> caf::result<std::vector<sandbox_info>, std::vector<sandbox_actor>> {
      auto& st = self->state;
      auto rp = self->make_response_promise<std::vector<sandbox_info>,
                                            std::vector<sandbox_actor>>();
      struct collector {
        std::vector<sandbox_info> infos;
        std::vector<sandbox_actor> handles;
        size_t pending = 0;
      };
      auto c = std::make_shared<collector>();
      c->pending = st.sandboxes.size();
      if (c->pending == 0) {
        rp.deliver(std::vector<sandbox_info>{}, std::vector<sandbox_actor>{});
        return rp;
      }
      auto done = [c, rp]() mutable {
        if (--c->pending == 0)
          rp.deliver(std::move(c->infos), std::move(c->handles));
      };
      for (auto& [id, e] : st.sandboxes)
        self->request(e.handle, 5s, atom::get_v)
          .then(
            [c, done, sb = e.handle](sandbox_info& info) mutable {
              // Warm sandboxes are nobody's yet: the node alone knows them.
              if (!info.team.empty() && info.state != "killed") {
                c->infos.push_back(std::move(info));
                c->handles.push_back(sb);
              }
              done();
            },
            [done](caf::error&) mutable { done(); });
      return rp;
    },
    [self](atom::kill, const std::vector<std::string>& ids,
           const std::string& reason) {
      auto& st = self->state;
      for (auto& [id, e] : st.sandboxes)
        if (ids.empty() || std::find(ids.begin(), ids.end(), id) != ids.end())
          caf::anon_send(e.handle, atom::kill_v, reason);
    },
    [self](atom::stats) -> caf::result<node_load> {
      auto& st = self->state;
      node_load load;
      load.name = st.cfg.name;
      load.vcpu_capacity = st.cfg.vcpu_capacity;
      load.memory_capacity_mb = st.cfg.memory_capacity_mb;
      load.max_sandboxes = st.cfg.max_sandboxes;
      load.vcpu_used = st.vcpu_used;
      load.memory_used_mb = st.memory_used_mb;
      load.sandboxes = static_cast<unsigned>(st.sandboxes.size());
      load.pool_size = st.cfg.pools;
      if (st.pools.empty())
        return load;
      auto rp = self->make_response_promise<node_load>();
      auto acc
        = std::make_shared<std::pair<node_load, size_t>>(load, st.pools.size());
      for (auto& [tpl, p] : st.pools)
        self->request(p, 5s, atom::get_v)
          .then(
            [acc, rp, tpl = tpl](unsigned n) mutable {
              acc->first.warm[tpl] = n;
              if (--acc->second == 0)
                rp.deliver(acc->first);
            },
            [acc, rp](caf::error&) mutable {
              if (--acc->second == 0)
                rp.deliver(acc->first);
            });
      return rp;
    },
    [self](atom::size, const std::string& tpl,
           unsigned n) -> caf::result<atom::ok_atom> {
      auto& st = self->state;
      if (!st.templates.count(tpl))
        return make_error(ec::not_found, "template '" + tpl + "' not found");
      st.cfg.pools[tpl] = n;
      auto p = st.pools.find(tpl);
      if (p != st.pools.end())
        return self->delegate(p->second, atom::size_v, n);
      st.pools[tpl] = self->spawn(pool, tpl, caf::actor_cast<node_actor>(self),
                                  n);
      self->link_to(st.pools[tpl]);
      return atom::ok_v;
    },
    [self](atom::ended, const std::string& id, const std::string& reason) {
      release(self, id, reason);
      if (self->state.stopping && self->state.sandboxes.empty())
        self->quit(self->state.exit_reason);
    },
    [self](atom::tick) {
      if (self->state.stopping)
        self->quit(self->state.exit_reason);
    },
    [self](atom::subscribe, caf::actor sub) {
      self->state.subscribers.push_back(std::move(sub));
    },
  };
}

caf::expected<node_actor> make_node(caf::actor_system& sys, node_config cfg) {
  auto lg = log::get("node");
  auto templates_dir = cfg.data_dir + "/templates";
  std::error_code ec;
  fs::create_directories(templates_dir, ec);
  auto base = ensure_base_template(templates_dir, sandbox_uid_base);
  if (!base)
    return std::move(base.error());
  std::map<std::string, template_entry> templates;
  for (auto& e : fs::directory_iterator{templates_dir, ec}) {
    if (!e.is_directory() || !fs::exists(e.path() / "manifest.json"))
      continue;
    auto m = load_template(e.path().string());
    if (!m) {
      lg->warn("skipping template {}: {}", e.path().string(),
               message_of(m.error()));
      continue;
    }
    templates[m->name] = {(e.path() / "rootfs").string(), *m};
  }
  linux_driver_config dcfg;
  dcfg.run_dir = cfg.data_dir + "/sandboxes";
  dcfg.envd_path = cfg.envd_path;
  dcfg.cgroup_root = cfg.cgroup_root;
  dcfg.cgroup_parent = cfg.cgroup_parent;
  auto drv = make_linux_driver(dcfg);
  if (!drv)
    return std::move(drv.error());
  auto cleaned = (*drv)->cleanup();
  if (!cleaned.empty())
    lg->warn("removed {} sandbox(es) left by an earlier run", cleaned.size());
  if (cfg.vcpu_capacity == 0)
    cfg.vcpu_capacity = std::max(1u, std::thread::hardware_concurrency())
                        * cfg.vcpu_overcommit;
  if (cfg.memory_capacity_mb == 0)
    cfg.memory_capacity_mb = static_cast<uint64_t>(::sysconf(_SC_PHYS_PAGES))
                               * static_cast<uint64_t>(::sysconf(_SC_PAGESIZE))
                             >> 20;
  std::shared_ptr<driver> shared_drv = std::move(*drv);
  return sys.spawn(node, std::move(cfg), shared_drv, make_envd_hub(),
                   std::move(templates));
}

} // namespace sbx

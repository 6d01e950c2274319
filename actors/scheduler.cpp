#include "actors/scheduler.hpp"

#include "actors/error.hpp"
#include "actors/user.hpp"
#include "runtime/log/log.hpp"
#include "runtime/metrics/metrics.hpp"

#include <caf/send.hpp>

#include <algorithm>
#include <regex>

namespace sbx {

namespace {

using namespace std::chrono_literals;
using self_ptr = scheduler_actor::stateful_pointer<scheduler_state>;
using attempt_ptr = std::shared_ptr<scheduler_state::attempt>;

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

user_actor user_of(self_ptr self, const std::string& team) {
  auto& u = self->state.users[team];
  if (!u)
    u = self->spawn(user, team, self->state.cfg.database);
  return u;
}

placement::request placement_of(const sandbox_request& req) {
  return {req.template_id, req.vcpu, req.memory_mb};
}

const char* state_of(const placement::node& n) {
  if (!n.ready)
    return "lost";
  if (n.draining)
    return "draining";
  if (n.cordoned)
    return "cordoned";
  return "ready";
}

void settle(self_ptr self, const scheduler_state::attempt& a, bool started) {
  auto& st = self->state;
  placement::settle(st.table[a.node], placement_of(a.req), started);
  auto& e = st.nodes[a.node];
  e.inflight_vcpu -= std::min(e.inflight_vcpu, a.req.vcpu);
  e.inflight_memory_mb -= std::min(e.inflight_memory_mb, a.req.memory_mb);
  st.inflight.erase(a.id);
}

/// Counts a finished create: ok, failed or quota.
void count(self_ptr self, const char* result) {
  auto& c = self->state.counters;
  if (result == std::string{"ok"})
    ++c.creates;
  else if (result == std::string{"quota"})
    ++c.quota_rejections;
  else
    ++c.create_failures;
  if (auto stats = self->state.cfg.stats)
    stats->count_create(result);
}

void fail(self_ptr self, const attempt_ptr& a, caf::error err) {
  caf::anon_send(user_of(self, a->req.team), atom::release_v, a->key);
  count(self, "failed");
  a->rp.deliver(std::move(err));
}

/// Whether another node may succeed where this one failed.
bool retriable(const caf::error& err) {
  return err != ec::invalid_argument;
}

void try_place(self_ptr self, const attempt_ptr& a) {
  auto& st = self->state;
  auto r = placement_of(a->req);
  auto started = std::chrono::steady_clock::now();
  auto d = placement::place(st.table, r, st.cfg.placement, st.rng, a->excluded);
  if (auto stats = st.cfg.stats)
    stats->observe_placement(std::chrono::duration<double>(
                               std::chrono::steady_clock::now() - started)
                               .count());
  if (!d.node) {
    auto why = d.reason;
    if (!a->last_error.empty())
      why += "; last failure: " + a->last_error;
    fail(self, a, make_error(ec::unavailable, why, 5));
    return;
  }
  auto idx = *d.node;
  placement::reserve(st.table[idx], r);
  st.nodes[idx].inflight_vcpu += r.vcpu;
  st.nodes[idx].inflight_memory_mb += r.memory_mb;
  a->node = idx;
  ++a->tries;
  st.inflight[a->id] = a;
  auto gen = a->generation;
  self->request(st.nodes[idx].handle, st.cfg.start_timeout, atom::create_v, a->req)
    .then(
      [self, a, gen](sandbox_actor& sb, sandbox_info& info) {
        if (a->generation != gen) {
          // Given up on (its node was declared lost) and retried elsewhere;
          // this one is surplus.
          caf::anon_send(sb, atom::kill_v, std::string{"placed elsewhere"});
          return;
        }
        settle(self, *a, true);
        count(self, "ok");
        caf::anon_send(user_of(self, a->req.team), atom::commit_v, a->key,
                       info);
        auto dir = self->state.cfg.directory();
        if (!dir) {
          a->rp.deliver(std::move(sb), std::move(info));
          return;
        }
        // The client hears of the sandbox once the directory recorded it.
        self->request(dir, 10s, atom::put_v, sb, info)
          .then(
            [a, sb, info](atom::ok_atom) mutable {
              a->rp.deliver(std::move(sb), std::move(info));
            },
            [a, sb, info](caf::error&) mutable {
              a->rp.deliver(std::move(sb), std::move(info));
            });
      },
      [self, a, gen](caf::error& err) {
        if (a->generation != gen)
          return;
        settle(self, *a, false);
        auto& st = self->state;
        auto name = st.table[a->node].name;
        a->last_error = name + ": " + message_of(err);
        if (!retriable(err) || a->tries >= st.cfg.max_tries) {
          fail(self, a, std::move(err));
          return;
        }
        log::get("scheduler")->warn("node {} failed a start ({}); trying "
                                    "another node",
                                    name, message_of(err));
        ++st.counters.placement_retries;
        if (st.cfg.stats)
          st.cfg.stats->count_placement_retry();
        a->excluded.push_back(a->node);
        try_place(self, a);
      });
}

/// A node is gone: nothing more is placed on it, its starts in flight go
/// elsewhere, and the directory ends its sandboxes.
void lose(self_ptr self, size_t idx, const std::string& why) {
  auto& st = self->state;
  auto& n = st.table[idx];
  if (!n.ready)
    return;
  log::get("scheduler")->error("node {} lost: {}", n.name, why);
  n.ready = false;
  n.starting = 0;
  st.nodes[idx].inflight_vcpu = 0;
  st.nodes[idx].inflight_memory_mb = 0;
  std::vector<attempt_ptr> retry;
  for (auto& [id, a] : st.inflight)
    if (a->node == idx)
      retry.push_back(a);
  for (auto& a : retry) {
    st.inflight.erase(a->id);
    ++a->generation;
    a->excluded.push_back(idx);
    a->last_error = n.name + ": node lost";
    if (a->tries >= st.cfg.max_tries)
      fail(self, a, make_error(ec::unavailable, "the node starting the "
                                                "sandbox was lost"));
    else
      try_place(self, a);
  }
  if (auto dir = st.cfg.directory())
    caf::anon_send(dir, atom::lost_v, n.name);
}

std::optional<size_t> find_node(self_ptr self, const std::string& name) {
  auto i = self->state.by_name.find(name);
  if (i == self->state.by_name.end())
    return std::nullopt;
  return i->second;
}

/// The template as the nodes describe it.
const template_info* find_template(self_ptr self, const std::string& id) {
  auto& st = self->state;
  for (size_t i = 0; i < st.nodes.size(); ++i) {
    if (!st.table[i].ready)
      continue;
    for (auto& t : st.nodes[i].templates)
      if (t.id == id)
        return &t;
  }
  return nullptr;
}

/// The node table and the mailbox, for /metrics.
void export_metrics(self_ptr self) {
  auto& st = self->state;
  auto stats = st.cfg.stats;
  for (size_t i = 0; i < st.table.size(); ++i) {
    auto& n = st.table[i];
    stats->set_node(n.name, n.ready,
                    {{"vcpu", n.vcpu_capacity},
                     {"memory_mb", static_cast<double>(n.memory_capacity_mb)},
                     {"sandboxes", n.max_sandboxes}},
                    {{"vcpu", n.vcpu_used},
                     {"memory_mb", static_cast<double>(n.memory_used_mb)},
                     {"sandboxes", n.sandboxes}});
    auto& sizes = st.nodes[i].pool_size;
    for (auto& [tpl, target] : sizes) {
      auto w = n.warm.find(tpl);
      stats->set_warm_pool(n.name, tpl,
                           n.ready && w != n.warm.end() ? w->second : 0,
                           n.ready ? target : 0);
    }
  }
  stats->set_mailbox("scheduler", self->mailbox().size());
}

} // namespace

std::string invalid_registration(const node_load& load) {
  static const std::regex name_re{"[A-Za-z0-9][A-Za-z0-9._-]{0,62}"};
  if (!std::regex_match(load.name, name_re))
    return "node name '" + load.name
           + "' must be 1 to 63 letters, digits, '.', '_' or '-'";
  if (load.vcpu_capacity < 1 || load.vcpu_capacity > 1'000'000)
    return "vCPU capacity " + std::to_string(load.vcpu_capacity)
           + " is not between 1 and 1000000";
  if (load.memory_capacity_mb < 64 || load.memory_capacity_mb > (1ull << 32))
    return "memory capacity " + std::to_string(load.memory_capacity_mb)
           + " MiB is not between 64 MiB and 4 PiB";
  if (load.max_sandboxes < 1 || load.max_sandboxes > 1'000'000)
    return "max sandboxes " + std::to_string(load.max_sandboxes)
           + " is not between 1 and 1000000";
  if (load.vcpu_used > load.vcpu_capacity * 64
      || load.memory_used_mb > load.memory_capacity_mb * 64)
    return "use exceeds capacity beyond reason";
  return "";
}

scheduler_actor::behavior_type
scheduler(scheduler_actor::stateful_pointer<scheduler_state> self,
          scheduler_config cfg) {
  auto lg = log::get("scheduler");
  self->state.cfg = std::move(cfg);
  self->set_down_handler([self](caf::down_msg& msg) {
    auto& st = self->state;
    for (size_t i = 0; i < st.nodes.size(); ++i)
      if (st.nodes[i].handle && st.nodes[i].handle.address() == msg.source) {
        lose(self, i, "its connection closed (" + caf::to_string(msg.reason)
                        + ")");
        return;
      }
  });
  self->delayed_send(self, 500ms, atom::tick_v);
  return {
    [self, lg](atom::join, node_registration& reg)
      -> caf::result<std::vector<std::string>> {
      auto& st = self->state;
      auto& load = reg.load;
      if (auto why = invalid_registration(load); !why.empty()) {
        lg->error("refused node '{}' at {}: {}", load.name, load.address, why);
        return make_error(ec::invalid_argument, "refused: " + why);
      }
      if (!reg.handle)
        return make_error(ec::invalid_argument, "refused: no node actor");
      auto known = find_node(self, load.name);
      if (known && st.table[*known].ready
          && st.nodes[*known].handle != reg.handle) {
        lg->error("refused node '{}' at {}: the name is taken by the node at "
                  "{}",
                  load.name, load.address, st.nodes[*known].address);
        return make_error(ec::already_exists,
                          "refused: node name '" + load.name
                            + "' is taken by a live node at "
                            + st.nodes[*known].address);
      }
      size_t idx;
      if (known) {
        idx = *known;
      } else {
        idx = st.table.size();
        st.table.emplace_back();
        st.nodes.emplace_back();
        st.by_name[load.name] = idx;
      }
      auto& n = st.table[idx];
      auto& e = st.nodes[idx];
      auto cordoned = known ? n.cordoned : false;
      auto draining = known ? n.draining : false;
      n = placement::node{};
      n.name = load.name;
      n.cordoned = cordoned;
      n.draining = draining;
      n.vcpu_capacity = load.vcpu_capacity;
      n.memory_capacity_mb = load.memory_capacity_mb;
      n.max_sandboxes = load.max_sandboxes;
      n.vcpu_used = load.vcpu_used;
      n.memory_used_mb = load.memory_used_mb;
      n.sandboxes = load.sandboxes;
      n.warm = load.warm;
      for (auto& t : reg.templates)
        n.templates.push_back(t.id);
      if (e.handle != reg.handle) {
        if (e.handle)
          self->demonitor(e.handle.address());
        self->monitor(reg.handle);
      }
      e.handle = reg.handle;
      e.address = load.address;
      e.templates = reg.templates;
      e.pool_size = load.pool_size;
      e.last_heartbeat = std::chrono::steady_clock::now();
      e.last_heartbeat_ms = now_ms();
      e.inflight_vcpu = 0;
      e.inflight_memory_mb = 0;
      lg->info("node {} joined ({}): {} vCPU, {} MiB, {} sandboxes at most, "
               "{} running",
               load.name, load.address.empty() ? "in process" : load.address,
               load.vcpu_capacity, load.memory_capacity_mb, load.max_sandboxes,
               reg.sandboxes.size());
      auto dir = st.cfg.directory();
      if (reg.sandboxes.empty() || !dir)
        return std::vector<std::string>{};
      auto rp = self->make_response_promise<std::vector<std::string>>();
      self->request(dir, 10s, atom::adopt_v, reg)
        .then(
          [self, rp, reg](std::vector<std::string>& ended) mutable {
            for (auto& info : reg.sandboxes)
              if (std::find(ended.begin(), ended.end(), info.id) == ended.end()
                  && !info.team.empty())
                caf::anon_send(user_of(self, info.team), atom::adopt_v, info);
            rp.deliver(std::move(ended));
          },
          [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
      return rp;
    },
    [self](atom::heartbeat, const node_load& load) -> caf::result<atom::ok_atom> {
      auto& st = self->state;
      auto idx = find_node(self, load.name);
      if (!idx || !st.table[*idx].ready)
        return make_error(ec::not_found, "node " + load.name
                                           + " is not a member; join again");
      auto& n = st.table[*idx];
      auto& e = st.nodes[*idx];
      e.last_heartbeat = std::chrono::steady_clock::now();
      e.last_heartbeat_ms = now_ms();
      n.vcpu_used = load.vcpu_used + e.inflight_vcpu;
      n.memory_used_mb = load.memory_used_mb + e.inflight_memory_mb;
      n.sandboxes = load.sandboxes;
      n.warm = load.warm;
      e.pool_size = load.pool_size;
      return atom::ok_v;
    },
    [self](atom::create, sandbox_request& req)
      -> caf::result<sandbox_actor, sandbox_info> {
      if (req.team.empty())
        return make_error(ec::invalid_argument, "a sandbox needs a team");
      auto& table = self->state.table;
      if (std::none_of(table.begin(), table.end(),
                       [](const placement::node& n) { return n.ready; }))
        return make_error(ec::unavailable, "no node has joined the cluster",
                          5);
      auto tpl = find_template(self, req.template_id);
      if (!tpl)
        return make_error(ec::not_found,
                          "template '" + req.template_id + "' not found");
      if (req.vcpu == 0)
        req.vcpu = tpl->vcpu;
      if (req.memory_mb == 0)
        req.memory_mb = tpl->memory_mb;
      if (req.disk_mb == 0)
        req.disk_mb = tpl->disk_mb;
      auto a = std::make_shared<scheduler_state::attempt>();
      a->id = ++self->state.next_id;
      a->key = "request-" + std::to_string(a->id);
      a->req = std::move(req);
      a->rp = self->make_response_promise<sandbox_actor, sandbox_info>();
      self->request(user_of(self, a->req.team), 10s, atom::reserve_v, a->key,
                    a->req)
        .then([self, a](atom::ok_atom) { try_place(self, a); },
              [self, a](caf::error& err) {
                count(self, err == ec::resource_exhausted ? "quota" : "failed");
                a->rp.deliver(std::move(err));
              });
      return a->rp;
    },
    [self](atom::list, atom::nodes) -> caf::result<std::vector<node_status>> {
      auto& st = self->state;
      std::vector<node_status> result;
      for (size_t i = 0; i < st.table.size(); ++i) {
        auto& n = st.table[i];
        auto& e = st.nodes[i];
        node_status s;
        s.load.name = n.name;
        s.load.address = e.address;
        s.load.vcpu_capacity = n.vcpu_capacity;
        s.load.memory_capacity_mb = n.memory_capacity_mb;
        s.load.max_sandboxes = n.max_sandboxes;
        s.load.vcpu_used = n.vcpu_used;
        s.load.memory_used_mb = n.memory_used_mb;
        s.load.sandboxes = n.sandboxes;
        s.load.warm = n.warm;
        s.load.pool_size = e.pool_size;
        s.state = state_of(n);
        s.starting = n.starting;
        s.last_heartbeat_ms = e.last_heartbeat_ms;
        s.drain_deadline_ms = e.drain_deadline_ms;
        result.push_back(std::move(s));
      }
      return result;
    },
    [self](atom::list,
           atom::templates) -> caf::result<std::vector<template_info>> {
      auto& st = self->state;
      std::map<std::string, template_info> all;
      for (size_t i = 0; i < st.nodes.size(); ++i)
        if (st.table[i].ready)
          for (auto& t : st.nodes[i].templates)
            all.emplace(t.id, t);
      std::vector<template_info> result;
      for (auto& [id, t] : all)
        result.push_back(t);
      return result;
    },
    [self, lg](atom::cordon, const std::string& name,
               bool on) -> caf::result<atom::ok_atom> {
      auto idx = find_node(self, name);
      if (!idx)
        return make_error(ec::not_found, "node " + name + " not found");
      auto& n = self->state.table[*idx];
      n.cordoned = on;
      if (!on) {
        n.draining = false;
        self->state.nodes[*idx].drain_deadline_ms = 0;
      }
      lg->info("node {} {}", name, on ? "cordoned" : "uncordoned");
      return atom::ok_v;
    },
    [self, lg](atom::drain, const std::string& name,
               int64_t deadline_ms) -> caf::result<atom::ok_atom> {
      auto idx = find_node(self, name);
      if (!idx)
        return make_error(ec::not_found, "node " + name + " not found");
      if (deadline_ms < 0)
        return make_error(ec::invalid_argument,
                          "the drain deadline must not be negative");
      self->state.table[*idx].draining = true;
      self->state.nodes[*idx].drain_deadline_ms = now_ms() + deadline_ms;
      lg->info("draining node {}: what still runs in {} s is killed", name,
               deadline_ms / 1000);
      return atom::ok_v;
    },
    [self](atom::get_atom, atom::limits,
           const std::string& team) -> caf::result<team_usage> {
      return self->delegate(user_of(self, team), atom::get_v);
    },
    [self](atom::usage, const std::string& team, uint64_t month_ms) {
      caf::anon_send(user_of(self, team), atom::usage_v, month_ms);
    },
    [self](atom::balance, const std::string& team, bool frozen) {
      caf::anon_send(user_of(self, team), atom::balance_v, frozen);
    },
    [self](atom::limits, const std::string& team,
           const team_limits& x) -> caf::result<atom::ok_atom> {
      return self->delegate(user_of(self, team), atom::limits_v, x);
    },
    [self](atom::get_atom, atom::node,
           const std::string& name) -> caf::result<node_actor> {
      auto idx = find_node(self, name);
      if (!idx)
        return make_error(ec::not_found, "node " + name + " not found");
      if (!self->state.table[*idx].ready)
        return make_error(ec::unavailable, "node " + name + " is lost");
      return self->state.nodes[*idx].handle;
    },
    [self](atom::stats) -> caf::result<scheduler_stats> {
      return self->state.counters;
    },
    [self](atom::ended, const sandbox_info& info) {
      auto& st = self->state;
      auto i = st.users.find(info.team);
      if (i != st.users.end())
        caf::anon_send(i->second, atom::release_v, info.id);
      // Room on its node at once: between two heartbeats, creates and kills
      // at a high rate would otherwise fill the node's table with the dead.
      if (auto idx = find_node(self, info.node); idx && st.table[*idx].ready)
        placement::release(st.table[*idx],
                           {info.template_id, info.vcpu, info.memory_mb});
    },
    [self, lg](atom::tick) {
      auto& st = self->state;
      auto now = std::chrono::steady_clock::now();
      auto wall = now_ms();
      for (size_t i = 0; i < st.table.size(); ++i) {
        auto& n = st.table[i];
        auto& e = st.nodes[i];
        if (!n.ready)
          continue;
        if (now - e.last_heartbeat > st.cfg.node_timeout) {
          lose(self, i,
               "no heartbeat for "
                 + std::to_string(
                   std::chrono::duration_cast<std::chrono::milliseconds>(
                     now - e.last_heartbeat)
                     .count())
                 + " ms");
          continue;
        }
        if (n.draining && e.drain_deadline_ms > 0
            && wall >= e.drain_deadline_ms) {
          lg->info("node {}: drain deadline passed; killing what still runs",
                   n.name);
          e.drain_deadline_ms = 0;
          caf::anon_send(e.handle, atom::kill_v, std::vector<std::string>{},
                         std::string{"node drained"});
        }
      }
      if (st.cfg.stats)
        export_metrics(self);
      self->delayed_send(self, 500ms, atom::tick_v);
    },
  };
}

} // namespace sbx

#include "actors/admin.hpp"

#include "actors/admin_commands.hpp"
#include "actors/error.hpp"
#include "runtime/auth/api_key.hpp"
#include "runtime/billing/money.hpp"
#include "runtime/log/log.hpp"

#include "envd.pb.h"

#include <caf/send.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>

namespace sbx {

namespace {

using self_ptr = admin_actor::stateful_pointer<admin_state>;
using json = nlohmann::ordered_json;

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

/// One command being run: who asked, what, and where the answer goes.
struct context {
  self_ptr self;
  caf::typed_response_promise<std::string> rp;
  ops::command cmd;
  admin_state::session who;
};

using ctx_ptr = std::shared_ptr<context>;

void done(const ctx_ptr& c, const json& result) {
  c->rp.deliver(result.dump(-1, ' ', false, json::error_handler_t::replace));
}

void failed(const ctx_ptr& c, caf::error err) {
  c->rp.deliver(std::move(err));
}

/// Sends a request to `h` (`what` names it in errors); `f` gets the reply,
/// any error ends the command.
template <class Handle, class F, class... Ts>
void ask(const ctx_ptr& c, const Handle& h, const std::string& what, F f,
         Ts&&... xs) {
  if (!h) {
    failed(c, make_error(ec::unavailable, what + " is not running"));
    return;
  }
  c->self->request(h, c->self->state.cfg.timeout, std::forward<Ts>(xs)...)
    .then(std::move(f), [c](caf::error& err) { failed(c, std::move(err)); });
}

scheduler_actor scheduler_of(const ctx_ptr& c) {
  auto& f = c->self->state.cfg.scheduler;
  return f ? f() : scheduler_actor{};
}

directory_actor directory_of(const ctx_ptr& c) {
  auto& f = c->self->state.cfg.directory;
  return f ? f() : directory_actor{};
}

database_actor database_of(const ctx_ptr& c) {
  auto& f = c->self->state.cfg.database;
  return f ? f() : database_actor{};
}

/// Writes the change to the audit log, then answers `result`. A change the
/// log cannot take still happened: the operator is told, and the entry is
/// logged in full so that it is not lost.
void audited(const ctx_ptr& c, const std::string& action,
             const std::string& target, const std::string& team_id,
             const json& details, json result) {
  audit_entry e{"operator", c->who.operator_name, action, target, team_id,
                details.dump(), c->who.address};
  auto lg = log::get("admin");
  lg->info("operator {} ({}): {} {} {}", e.actor_id, e.remote_addr, action,
           target, e.details);
  auto db = database_of(c);
  if (!db) {
    result["warning"] = "not written to the audit log: PostgreSQL is not "
                        "reachable";
    done(c, result);
    return;
  }
  c->self->request(db, c->self->state.cfg.timeout, atom::audit_v, e)
    .then([c, result](atom::ok_atom) { done(c, result); },
          [c, result, lg, e](caf::error& err) mutable {
            lg->error("AUDIT NOT WRITTEN: operator {} ({}) {} {} {}: {}",
                      e.actor_id, e.remote_addr, e.action, e.target, e.details,
                      message_of(err));
            result["warning"] = "not written to the audit log: "
                                + message_of(err);
            done(c, result);
          });
}

/// Team ids to slugs, for lists that show teams; empty when PostgreSQL
/// cannot say (ids are shown then).
void with_slugs(const ctx_ptr& c,
                std::function<void(std::map<std::string, std::string>)> f) {
  auto db = database_of(c);
  if (!db) {
    f({});
    return;
  }
  c->self->request(db, c->self->state.cfg.timeout, atom::list_v, atom::teams_v)
    .then(
      [f](const std::vector<team_info>& teams) {
        std::map<std::string, std::string> slugs;
        for (auto& t : teams)
          slugs[t.id] = t.slug;
        f(std::move(slugs));
      },
      [f](caf::error&) { f({}); });
}

std::string slug_of(const std::map<std::string, std::string>& slugs,
                    const std::string& id) {
  auto i = slugs.find(id);
  return i == slugs.end() ? id : i->second;
}

/// Runs `f` with the team's id when `ref` (slug or id) is given, else
/// with "" (no filter).
void with_team(const ctx_ptr& c, const std::string& ref,
               std::function<void(const team_info&)> f) {
  if (ref.empty()) {
    f(team_info{});
    return;
  }
  ask(c, database_of(c), "PostgreSQL", [f](const team_info& t) { f(t); },
      atom::get_v, atom::team_v, ref);
}

json node_json(const node_status& n) {
  auto now = now_ms();
  return {{"name", n.load.name},
          {"address", n.load.address.empty() ? "in process" : n.load.address},
          {"state", n.state},
          {"vcpu_used", n.load.vcpu_used},
          {"vcpu_capacity", n.load.vcpu_capacity},
          {"memory_used_mb", n.load.memory_used_mb},
          {"memory_capacity_mb", n.load.memory_capacity_mb},
          {"sandboxes", n.load.sandboxes},
          {"max_sandboxes", n.load.max_sandboxes},
          {"starting", n.starting},
          {"warm", n.load.warm},
          {"pool_size", n.load.pool_size},
          {"last_heartbeat_ms", n.last_heartbeat_ms},
          {"heartbeat_age_ms",
           n.last_heartbeat_ms ? now - n.last_heartbeat_ms : -1},
          {"drain_deadline_ms", n.drain_deadline_ms}};
}

json sandbox_json(const sandbox_info& x,
                  const std::map<std::string, std::string>& slugs) {
  return {{"id", x.id},
          {"team", slug_of(slugs, x.team)},
          {"template", x.template_id},
          {"node", x.node},
          {"state", x.state},
          {"vcpu", x.vcpu},
          {"memory_mb", x.memory_mb},
          {"started_at_ms", x.started_at_ms},
          {"end_at_ms", x.end_at_ms}};
}

json team_json(const team_info& t) {
  return {{"id", t.id},
          {"slug", t.slug},
          {"name", t.name},
          {"plan", t.plan},
          {"limits",
           {{"max_sandboxes", t.limits.max_sandboxes},
            {"max_vcpu", t.limits.max_vcpu},
            {"max_memory_mb", t.limits.max_memory_mb},
            {"max_lifetime_s", t.limits.max_lifetime_ms / 1000},
            {"rate_create", t.limits.rate_create},
            {"rate_control", t.limits.rate_control},
            {"max_sandbox_hours", t.limits.max_sandbox_hours}}},
          {"overrides", t.overrides},
          {"balance_micros", t.balance_micros},
          {"created_at_ms", t.created_at_ms}};
}

// -- commands -----------------------------------------------------------------

void nodes(const ctx_ptr& c) {
  ask(c, scheduler_of(c), "the scheduler",
      [c](std::vector<node_status>& ns) {
        std::sort(ns.begin(), ns.end(),
                  [](const node_status& a, const node_status& b) {
                    return a.load.name < b.load.name;
                  });
        auto out = json::array();
        for (auto& n : ns)
          out.push_back(node_json(n));
        done(c, out);
      },
      atom::list_v, atom::nodes_v);
}

void cordon(const ctx_ptr& c, bool on) {
  auto name = c->cmd.arg("NAME");
  ask(c, scheduler_of(c), "the scheduler",
      [c, name, on](atom::ok_atom) {
        audited(c, on ? "node.cordon" : "node.uncordon", name, "", json::object(),
                {{"node", name}, {"state", on ? "cordoned" : "ready"}});
      },
      atom::cordon_v, name, on);
}

void drain(const ctx_ptr& c) {
  auto name = c->cmd.arg("NAME");
  auto deadline_s = std::stoll(c->cmd.option("deadline", "300"));
  ask(c, scheduler_of(c), "the scheduler",
      [c, name, deadline_s](atom::ok_atom) {
        audited(c, "node.drain", name, "", {{"deadline_s", deadline_s}},
                {{"node", name},
                 {"state", "draining"},
                 {"deadline_ms", now_ms() + deadline_s * 1000}});
      },
      atom::drain_v, name, int64_t{deadline_s * 1000});
}

void sandboxes(const ctx_ptr& c) {
  with_team(c, c->cmd.option("team"), [c](const team_info& team) {
    ask(c, directory_of(c), "the directory",
        [c, team](const std::vector<sandbox_info>& all) {
          auto node = c->cmd.option("node");
          auto state = c->cmd.option("state");
          std::vector<sandbox_info> picked;
          for (auto& x : all)
            if ((team.id.empty() || x.team == team.id)
                && (node.empty() || x.node == node)
                && (state.empty() || x.state == state))
              picked.push_back(x);
          std::sort(picked.begin(), picked.end(),
                    [](const sandbox_info& a, const sandbox_info& b) {
                      return a.started_at_ms < b.started_at_ms;
                    });
          with_slugs(c, [c, picked](std::map<std::string, std::string> slugs) {
            auto out = json::array();
            for (auto& x : picked)
              out.push_back(sandbox_json(x, slugs));
            done(c, out);
          });
        },
        atom::list_v, std::string{});
  });
}

/// The processes of a running sandbox, from its envd.
void processes(const ctx_ptr& c, const sandbox_actor& sb,
               std::function<void(json)> f) {
  sandhive::envd::ToEnvd req;
  req.mutable_list();
  c->self->request(sb, std::chrono::seconds{3}, atom::request_v,
                   envd_request{req.SerializeAsString()})
    .then(
      [f](const envd_reply& r) {
        sandhive::envd::FromEnvd msg;
        auto out = json::array();
        if (msg.ParseFromString(r.bytes) && msg.has_processes())
          for (auto& p : msg.processes().processes()) {
            std::vector<std::string> args(p.config().args().begin(),
                                          p.config().args().end());
            out.push_back({{"pid", p.pid()},
                           {"cmd", p.config().cmd()},
                           {"args", args},
                           {"cwd", p.config().cwd()},
                           {"tag", p.tag()}});
          }
        f(out);
      },
      [f](caf::error& err) { f(json{{"error", message_of(err)}}); });
}

void sandbox(const ctx_ptr& c) {
  auto id = c->cmd.arg("ID");
  ask(c, directory_of(c), "the directory",
      [c](const sandbox_actor& sb, const sandbox_info& info) {
        c->self->request(sb, std::chrono::seconds{3}, atom::stats_v)
          .then(
            [c, sb, info](const sandbox_stats& s) {
              json stats{{"cpu_seconds", s.cpu_usec / 1e6},
                         {"memory_bytes", s.memory_bytes},
                         {"memory_limit", s.memory_limit},
                         {"disk_bytes", s.disk_bytes},
                         {"disk_limit", s.disk_limit},
                         {"pids", s.pids},
                         {"oom_kills", s.oom_kills}};
              auto finish = [c, info, stats](json procs) {
                with_slugs(c, [c, info, stats,
                               procs](std::map<std::string, std::string> slugs) {
                  auto out = sandbox_json(info, slugs);
                  out["disk_mb"] = info.disk_mb;
                  out["metadata"] = info.metadata;
                  out["stats"] = stats;
                  out["processes"] = procs;
                  done(c, out);
                });
              };
              // A paused sandbox's envd is frozen: it cannot list.
              if (info.state == "running")
                processes(c, sb, finish);
              else
                finish(json::array());
            },
            [c](caf::error& err) { failed(c, std::move(err)); });
      },
      atom::get_v, id);
}

void kill(const ctx_ptr& c) {
  auto id = c->cmd.arg("ID");
  ask(c, directory_of(c), "the directory",
      [c, id](const sandbox_actor& sb, const sandbox_info& info) {
        // Who it was is in the audit log; the reason stays one of a few.
        auto reason = std::string{"killed by operator"};
        ask(c, sb, "sandbox " + id,
            [c, id, info](atom::ok_atom) {
              audited(c, "sandbox.kill", id, info.team,
                      {{"node", info.node}, {"template", info.template_id}},
                      {{"killed", id}});
            },
            atom::kill_v, reason);
      },
      atom::get_v, id);
}

void teams(const ctx_ptr& c) {
  ask(c, database_of(c), "PostgreSQL",
      [c](const std::vector<team_info>& ts) {
        struct collector {
          json out = json::array();
          size_t pending = 0;
        };
        auto acc = std::make_shared<collector>();
        for (auto& t : ts)
          acc->out.push_back({{"slug", t.slug},
                              {"id", t.id},
                              {"name", t.name},
                              {"plan", t.plan},
                              {"sandboxes", 0},
                              {"max_sandboxes", t.limits.max_sandboxes},
                              {"vcpu", 0},
                              {"memory_mb", 0},
                              {"balance_micros", t.balance_micros}});
        auto sched = scheduler_of(c);
        if (ts.empty() || !sched) {
          done(c, acc->out);
          return;
        }
        acc->pending = ts.size();
        for (size_t i = 0; i < ts.size(); ++i)
          c->self
            ->request(sched, c->self->state.cfg.timeout, atom::get_v,
                      atom::limits_v, ts[i].id)
            .then(
              [c, acc, i](const team_usage& u) {
                acc->out[i]["sandboxes"] = u.sandboxes;
                acc->out[i]["vcpu"] = u.vcpu;
                acc->out[i]["memory_mb"] = u.memory_mb;
                if (--acc->pending == 0)
                  done(c, acc->out);
              },
              [c, acc](caf::error&) {
                if (--acc->pending == 0)
                  done(c, acc->out);
              });
      },
      atom::list_v, atom::teams_v);
}

void team(const ctx_ptr& c) {
  with_team(c, c->cmd.arg("TEAM"), [c](const team_info& t) {
    ask(c, scheduler_of(c), "the scheduler",
        [c, t](const team_usage& u) {
          ask(c, database_of(c), "PostgreSQL",
              [c, t, u](const team_month& m) {
                auto out = team_json(t);
                out["running"] = {{"sandboxes", u.sandboxes},
                                  {"vcpu", u.vcpu},
                                  {"memory_mb", u.memory_mb}};
                out["this_month"] = {
                  {"sandboxes", m.sandboxes},
                  {"sandbox_hours", m.sandbox_seconds / 3600.0},
                  {"vcpu_hours", m.vcpu_seconds / 3600.0},
                  {"memory_gb_hours", m.memory_mb_seconds / 3600.0 / 1024.0}};
                done(c, out);
              },
              atom::get_v, atom::month_v, t.id);
        },
        atom::get_v, atom::limits_v, t.id);
  });
}

void quota_set(const ctx_ptr& c) {
  team_change change;
  change.team = c->cmd.arg("TEAM");
  auto details = json::object();
  for (auto& kv : c->cmd.rest) {
    auto eq = kv.find('=');
    auto key = kv.substr(0, eq);
    auto value = kv.substr(eq + 1);
    if (key == "plan") {
      change.plan = value;
      details["plan"] = value;
    } else {
      change.overrides[key] = value == "default" ? 0 : std::stoll(value);
      details[key] = value == "default" ? json("default")
                                        : json(std::stoll(value));
    }
  }
  ask(c, database_of(c), "PostgreSQL",
      [c, details](const team_info& t) {
        auto result = team_json(t);
        auto sched = scheduler_of(c);
        auto finish = [c, t, details, result](std::string warning) mutable {
          if (!warning.empty())
            result["warning"] = warning;
          audited(c, "team.quota", t.slug, t.id, details, result);
        };
        if (!sched) {
          finish("stored; the scheduler applies it when it starts");
          return;
        }
        c->self
          ->request(sched, c->self->state.cfg.timeout, atom::limits_v, t.id,
                    t.limits)
          .then([finish](atom::ok_atom) mutable { finish(""); },
                [finish](caf::error& err) mutable {
                  finish("stored, but the scheduler did not take it yet: "
                         + message_of(err));
                });
      },
      atom::put_v, change);
}

void credit(const ctx_ptr& c) {
  auto team = c->cmd.arg("TEAM");
  auto amount = *money::parse(c->cmd.arg("AMOUNT"));
  std::string note;
  for (auto& w : c->cmd.rest)
    note += (note.empty() ? "" : " ") + w;
  auto billing = c->self->state.cfg.billing ? c->self->state.cfg.billing()
                                            : billing_actor{};
  ask(c, billing, "billing",
      [c, team, amount, note](const charge_result& r) {
        audited(c, "team.credit", team, r.team_id,
                {{"amount_micros", amount}, {"note", note}},
                {{"team", team},
                 {"credited_micros", amount},
                 {"balance_micros", r.balance_micros},
                 {"frozen", r.frozen_since_ms > 0}});
      },
      atom::credit_v, team, amount, note,
      "operator " + c->who.operator_name);
}

void pools(const ctx_ptr& c) {
  ask(c, scheduler_of(c), "the scheduler",
      [c](const std::vector<node_status>& ns) {
        auto out = json::array();
        for (auto& n : ns) {
          auto all = n.load.pool_size;
          for (auto& [tpl, ready] : n.load.warm)
            all.emplace(tpl, 0);
          for (auto& [tpl, target] : all) {
            auto w = n.load.warm.find(tpl);
            out.push_back({{"node", n.load.name},
                           {"state", n.state},
                           {"template", tpl},
                           {"ready", w == n.load.warm.end() ? 0 : w->second},
                           {"target", target}});
          }
        }
        done(c, out);
      },
      atom::list_v, atom::nodes_v);
}

void pool_set(const ctx_ptr& c) {
  auto tpl = c->cmd.arg("TEMPLATE");
  auto size = static_cast<unsigned>(std::stoul(c->cmd.arg("SIZE")));
  auto only = c->cmd.option("node");
  ask(c, scheduler_of(c), "the scheduler",
      [c, tpl, size, only](const std::vector<node_status>& ns) {
        std::vector<std::string> targets;
        for (auto& n : ns)
          if ((only.empty() && n.state != "lost") || n.load.name == only)
            targets.push_back(n.load.name);
        if (targets.empty()) {
          failed(c, make_error(ec::not_found,
                               only.empty() ? "no node is in the cluster"
                                            : "node " + only + " not found"));
          return;
        }
        struct collector {
          json out = json::array();
          size_t pending = 0;
          bool any = false;
        };
        auto acc = std::make_shared<collector>();
        acc->pending = targets.size();
        auto one_done = [c, acc, tpl, size] {
          if (--acc->pending > 0)
            return;
          if (!acc->any) {
            failed(c, make_error(ec::not_found,
                                 acc->out.front().value("error", "failed")));
            return;
          }
          audited(c, "pool.set", tpl, "", {{"size", size}}, acc->out);
        };
        for (auto& name : targets) {
          auto fail = [acc, name, one_done](caf::error& err) {
            acc->out.push_back({{"node", name}, {"error", message_of(err)}});
            one_done();
          };
          c->self
            ->request(scheduler_of(c), c->self->state.cfg.timeout, atom::get_v,
                      atom::node_v, name)
            .then(
              [c, acc, name, tpl, size, one_done, fail](const node_actor& n) {
                c->self
                  ->request(n, c->self->state.cfg.timeout, atom::size_v, tpl,
                            size)
                  .then(
                    [acc, name, tpl, size, one_done](atom::ok_atom) {
                      acc->any = true;
                      acc->out.push_back(
                        {{"node", name}, {"template", tpl}, {"target", size}});
                      one_done();
                    },
                    fail);
              },
              fail);
        }
      },
      atom::list_v, atom::nodes_v);
}

void top(const ctx_ptr& c) {
  ask(c, scheduler_of(c), "the scheduler",
      [c](const std::vector<node_status>& ns) {
        ask(c, scheduler_of(c), "the scheduler",
            [c, ns](const scheduler_stats& s) {
              ask(c, directory_of(c), "the directory",
                  [c, ns, s](const std::vector<sandbox_info>& all) {
                    with_slugs(c, [c, ns, s, all](
                                    std::map<std::string, std::string> slugs) {
                      json out;
                      out["at_ms"] = now_ms();
                      unsigned ready = 0, vcpu = 0, vcpu_cap = 0;
                      uint64_t mem = 0, mem_cap = 0;
                      for (auto& n : ns) {
                        if (n.state == "lost")
                          continue;
                        ready += n.state == "ready";
                        vcpu += n.load.vcpu_used;
                        vcpu_cap += n.load.vcpu_capacity;
                        mem += n.load.memory_used_mb;
                        mem_cap += n.load.memory_capacity_mb;
                      }
                      std::map<std::string, unsigned> by_state;
                      std::map<std::string, std::pair<unsigned, unsigned>>
                        by_team; // sandboxes, vCPUs
                      for (auto& x : all) {
                        ++by_state[x.state];
                        auto& t = by_team[slug_of(slugs, x.team)];
                        ++t.first;
                        t.second += x.vcpu;
                      }
                      out["nodes"] = {{"total", ns.size()}, {"ready", ready}};
                      out["sandboxes"] = by_state;
                      out["vcpu"] = {{"used", vcpu}, {"capacity", vcpu_cap}};
                      out["memory_mb"] = {{"used", mem},
                                          {"capacity", mem_cap}};
                      out["creates_total"] = s.creates;
                      out["create_failures_total"] = s.create_failures;
                      out["quota_rejections_total"] = s.quota_rejections;
                      out["placement_retries_total"] = s.placement_retries;
                      auto busiest = ns;
                      auto share = [](const node_status& n) {
                        return n.load.max_sandboxes
                                 ? double(n.load.sandboxes)
                                     / n.load.max_sandboxes
                                 : 0.0;
                      };
                      std::sort(busiest.begin(), busiest.end(),
                                [&](const node_status& a, const node_status& b) {
                                  return a.load.sandboxes != b.load.sandboxes
                                           ? a.load.sandboxes > b.load.sandboxes
                                           : share(a) > share(b);
                                });
                      out["busiest_nodes"] = json::array();
                      for (size_t i = 0; i < busiest.size() && i < 5; ++i)
                        out["busiest_nodes"].push_back(
                          {{"name", busiest[i].load.name},
                           {"state", busiest[i].state},
                           {"sandboxes", busiest[i].load.sandboxes},
                           {"vcpu_used", busiest[i].load.vcpu_used},
                           {"memory_used_mb", busiest[i].load.memory_used_mb}});
                      std::vector<std::pair<std::string,
                                            std::pair<unsigned, unsigned>>>
                        teams(by_team.begin(), by_team.end());
                      std::sort(teams.begin(), teams.end(),
                                [](auto& a, auto& b) {
                                  return a.second.first > b.second.first;
                                });
                      out["busiest_teams"] = json::array();
                      for (size_t i = 0; i < teams.size() && i < 5; ++i)
                        out["busiest_teams"].push_back(
                          {{"team", teams[i].first},
                           {"sandboxes", teams[i].second.first},
                           {"vcpu", teams[i].second.second}});
                      done(c, out);
                    });
                  },
                  atom::list_v, std::string{});
            },
            atom::stats_v);
      },
      atom::list_v, atom::nodes_v);
}

void log_level(const ctx_ptr& c) {
  auto component = c->cmd.arg("COMPONENT");
  auto level = c->cmd.arg("LEVEL");
  log::set_level(component, level);
  json details{{"component", component}, {"level", level}};
  auto door = c->self->state.cfg.door ? c->self->state.cfg.door()
                                      : door_actor{};
  if (!door) {
    audited(c, "log.level", component, "", details,
            {{"component", component}, {"level", level}, {"processes", 1}});
    return;
  }
  ask(c, door, "the door",
      [c, component, level, details](const std::vector<caf::actor>& members) {
        struct collector {
          size_t pending = 0;
          unsigned ok = 1; // this process
          json failures = json::array();
        };
        auto acc = std::make_shared<collector>();
        auto finish = [c, acc, component, level, details] {
          json out{{"component", component},
                   {"level", level},
                   {"processes", acc->ok}};
          if (!acc->failures.empty())
            out["failures"] = acc->failures;
          audited(c, "log.level", component, "", details, out);
        };
        if (members.empty()) {
          finish();
          return;
        }
        acc->pending = members.size();
        for (auto& m : members)
          c->self
            ->request(caf::actor_cast<member_actor>(m), std::chrono::seconds{3},
                      atom::log_level_v, component, level)
            .then(
              [acc, finish](atom::ok_atom) {
                ++acc->ok;
                if (--acc->pending == 0)
                  finish();
              },
              [acc, finish](caf::error& err) {
                acc->failures.push_back(message_of(err));
                if (--acc->pending == 0)
                  finish();
              });
      },
      atom::list_v, atom::members_v);
}

const admin_state::session* find_session(self_ptr self,
                                          const std::string& token) {
  auto i = self->state.sessions.find(token);
  return i == self->state.sessions.end() ? nullptr : &i->second;
}

caf::error unknown_session() {
  return make_error(ec::unauthenticated,
                    "unknown admin session (the control restarted?); join "
                    "again");
}

} // namespace

admin_actor::behavior_type admin(admin_actor::stateful_pointer<admin_state> self,
                                 admin_config cfg) {
  self->state.cfg = std::move(cfg);
  auto lg = log::get("admin");
  return {
    [self, lg](atom::open, const std::string& name,
               const std::string& address) -> caf::result<std::string> {
      auto& st = self->state;
      auto token = auth::random_hex(16);
      st.sessions[token] = {name, address};
      st.order.push_back(token);
      while (st.order.size() > st.cfg.max_sessions) {
        st.sessions.erase(st.order.front());
        st.order.pop_front();
      }
      lg->info("operator {} ({}) opened a session", name, address);
      return token;
    },
    [self](atom::run, const admin_command& x) -> caf::result<std::string> {
      auto who = find_session(self, x.session);
      if (!who)
        return unknown_session();
      auto cmd = ops::parse(x.words);
      if (!cmd)
        return std::move(cmd.error());
      if (cmd->spec->local || cmd->name() == "events")
        return make_error(ec::invalid_argument,
                          "'" + cmd->name() + "' runs in the shell itself");
      auto c = std::make_shared<context>(
        context{self, self->make_response_promise<std::string>(),
                std::move(*cmd), *who});
      static const std::map<std::string, void (*)(const ctx_ptr&)> run = {
        {"nodes", nodes},
        {"node cordon", [](const ctx_ptr& c) { cordon(c, true); }},
        {"node uncordon", [](const ctx_ptr& c) { cordon(c, false); }},
        {"node drain", drain},
        {"sandboxes", sandboxes},
        {"sandbox", sandbox},
        {"kill", kill},
        {"teams", teams},
        {"team", team},
        {"quota set", quota_set},
        {"credit", credit},
        {"pools", pools},
        {"pool set", pool_set},
        {"top", top},
        {"log-level", log_level},
      };
      auto i = run.find(c->cmd.name());
      if (i == run.end())
        return make_error(ec::internal,
                          "no handler for '" + c->cmd.name() + "'");
      i->second(c);
      return c->rp;
    },
    [self](atom::subscribe, const std::string& session,
           caf::actor sink) -> caf::result<atom::ok_atom> {
      if (!find_session(self, session))
        return unknown_session();
      auto dir = self->state.cfg.directory ? self->state.cfg.directory()
                                           : directory_actor{};
      if (!dir)
        return make_error(ec::unavailable, "the directory is not running");
      caf::anon_send(dir, atom::subscribe_v, atom::event_v, std::move(sink));
      return atom::ok_v;
    },
  };
}

} // namespace sbx

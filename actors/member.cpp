#include "actors/member.hpp"

#include "actors/door.hpp"
#include "actors/error.hpp"
#include "config/config.hpp"
#include "runtime/log/log.hpp"

#include <caf/atom.hpp>
#include <caf/send.hpp>

namespace sbx {

namespace {

using namespace std::chrono_literals;
using self_ptr = member_actor::stateful_pointer<member_state>;

std::string control_of(self_ptr self) {
  auto& c = self->state.cfg;
  return c.door ? std::string{"in process"}
                : c.host + ":" + std::to_string(c.port);
}

void retry(self_ptr self, const caf::error& err,
           std::chrono::milliseconds after = 1s) {
  auto& st = self->state;
  st.joining = false;
  st.last_error = message_of(err);
  log::get("member")->warn("cannot join the control ({}): {}; retrying",
                           control_of(self), message_of(err));
  self->delayed_send(self, after, atom::join_v);
}

/// The control refused this process for a reason that retrying won't fix.
void refused(self_ptr self, const caf::error& err) {
  log::get("member")->error("the control ({}) refused this {}: {}",
                            control_of(self), self->state.cfg.role,
                            message_of(err));
  // Stays idle rather than quitting: a supervisor would only restart it.
  self->state.joining = true;
  self->state.last_error = "refused: " + message_of(err);
  if (self->state.cfg.on_refused)
    self->state.cfg.on_refused(err);
}

void joined(self_ptr self) {
  auto& st = self->state;
  st.joined = true;
  st.joining = false;
  st.missed = 0;
  log::get("member")->info("joined the cluster ({}) as {} '{}'",
                           control_of(self), st.cfg.role, st.cfg.name);
  if (st.cfg.on_join)
    st.cfg.on_join(st.handles);
}

/// Role node: tells the scheduler what this node is and runs.
void register_node(self_ptr self) {
  auto& st = self->state;
  auto node = st.cfg.node();
  if (!node) {
    retry(self, make_error(ec::unavailable, "the node is not running"));
    return;
  }
  self->request(node, 10s, atom::stats_v)
    .then(
      [self, node](node_load& load) {
        load.address = self->state.cfg.address;
        self->request(node, 10s, atom::list_v, atom::templates_v)
          .then(
            [self, node, load](std::vector<template_info>& ts) {
              self->request(node, 10s, atom::list_v, atom::live_v)
                .then(
                  [self, node, load,
                   ts](std::vector<sandbox_info>& infos,
                       std::vector<sandbox_actor>& handles) {
                    node_registration reg{node, load, ts, std::move(infos),
                                          std::move(handles)};
                    self->request(self->state.handles.scheduler, 15s,
                                  atom::join_v, reg)
                      .then(
                        [self, node](std::vector<std::string>& ended) {
                          if (!ended.empty()) {
                            log::get("member")->warn(
                              "the cluster ended {} sandbox(es) of this node "
                              "while it was away; killing them",
                              ended.size());
                            caf::anon_send(node, atom::kill_v, ended,
                                           std::string{"node_lost"});
                          }
                          joined(self);
                        },
                        [self](caf::error& err) {
                          if (err == ec::invalid_argument)
                            refused(self, err);
                          else
                            retry(self, err, err == ec::already_exists ? 3s : 1s);
                        });
                  },
                  [self](caf::error& err) { retry(self, err); });
            },
            [self](caf::error& err) { retry(self, err); });
      },
      [self](caf::error& err) { retry(self, err); });
}

/// Proves the secret to the door and takes the control's handles.
void admit(self_ptr self) {
  knock(
    self, self->state.door,
    [self](const std::string& nonce) {
      auto& c = self->state.cfg;
      return join_request{c.role, c.name, nonce,
                          join_proof(c.secret, nonce, c.role, c.name), ""};
    },
    [self](caf::expected<cluster_handles> h) {
      if (!h) {
        if (h.error() == ec::permission_denied)
          refused(self, h.error());
        else
          retry(self, h.error());
        return;
      }
      self->state.handles = std::move(*h);
      if (self->state.cfg.role == "node")
        register_node(self);
      else
        joined(self);
    });
}

void lost_control(self_ptr self, const std::string& why) {
  auto& st = self->state;
  if (!st.joined)
    return;
  log::get("member")->error("lost the control ({}): {}; joining again",
                            control_of(self), why);
  st.joined = false;
  st.last_error = "lost the control: " + why;
  st.handles = {};
  st.connected.clear();
  if (st.cfg.on_join)
    st.cfg.on_join(st.handles);
  self->delayed_send(self, 500ms, atom::join_v);
}

/// Role gateway: connects straight to every node the scheduler knows.
void connect_nodes(self_ptr self) {
  auto& st = self->state;
  if (!st.cfg.middleman || !st.handles.scheduler)
    return;
  self->request(st.handles.scheduler, 3s, atom::list_v, atom::nodes_v)
    .then(
      [self](const std::vector<node_status>& nodes) {
        auto& st = self->state;
        for (auto& n : nodes) {
          auto& addr = n.load.address;
          if (n.state == "lost") {
            st.connected.erase(addr);
            continue;
          }
          if (addr.empty() || st.connected.count(addr))
            continue;
          auto hp = parse_host_port(addr);
          if (!hp)
            continue;
          st.connected.insert(addr);
          self->request(st.cfg.middleman, 5s, caf::connect_atom::value,
                        hp->first, hp->second)
            .then(
              [self, addr, name = n.load.name](
                const caf::node_id&, const caf::strong_actor_ptr& beacon,
                const std::set<std::string>&) {
                log::get("member")->info("connected to node {} at {}", name,
                                         addr);
                if (beacon) {
                  self->state.beacons[beacon->address()] = {addr, name};
                  self->monitor(beacon);
                }
              },
              [self, addr](caf::error& err) {
                self->state.connected.erase(addr);
                log::get("member")->warn("cannot connect to node at {}: {}",
                                         addr, message_of(err));
              });
        }
      },
      [](caf::error&) {});
}

} // namespace

member_actor::behavior_type
member(member_actor::stateful_pointer<member_state> self, member_config cfg) {
  self->state.cfg = std::move(cfg);
  self->set_down_handler([self](caf::down_msg& msg) {
    auto& st = self->state;
    if (auto i = st.beacons.find(msg.source); i != st.beacons.end()) {
      // Without a direct connection, data would pass through the control
      // and stop when it restarts: connect again on the next heartbeat.
      auto& [addr, name] = i->second;
      log::get("member")->warn("lost the direct connection to node {} at {}",
                               name, addr);
      st.connected.erase(addr);
      st.beacons.erase(i);
      return;
    }
    if (self->state.door && msg.source == self->state.door.address()) {
      self->state.door = nullptr;
      lost_control(self, "its connection closed");
      if (!self->state.joined)
        self->state.joining = false;
    }
  });
  self->send(self, atom::join_v);
  self->delayed_send(self, self->state.cfg.heartbeat, atom::heartbeat_v);
  return {
    [self](atom::ping) -> caf::result<atom::ok_atom> {
      auto& st = self->state;
      if (st.joined)
        return atom::ok_v;
      return make_error(ec::unavailable, "not in the cluster (control "
                                           + control_of(self)
                                           + "): " + st.last_error);
    },
    [](atom::log_level, const std::string& component,
       const std::string& level) -> caf::result<atom::ok_atom> {
      if (!log::set_level(component, level))
        return make_error(ec::invalid_argument,
                          "unknown log level '" + level + "'");
      log::get("member")->info("log level of {} set to {}", component, level);
      return atom::ok_v;
    },
    [self](atom::join) {
      auto& st = self->state;
      if (st.joined || st.joining)
        return;
      st.joining = true;
      if (st.door) {
        admit(self);
        return;
      }
      if (st.cfg.door) {
        st.door = st.cfg.door;
        self->monitor(st.door);
        admit(self);
        return;
      }
      reach_door(self, st.cfg.middleman, st.cfg.host, st.cfg.port,
                 [self](caf::expected<door_actor> door) {
                   if (!door) {
                     retry(self, door.error());
                     return;
                   }
                   self->state.door = std::move(*door);
                   admit(self);
                 });
    },
    [self](atom::heartbeat) {
      auto& st = self->state;
      self->delayed_send(self, st.cfg.heartbeat, atom::heartbeat_v);
      if (!st.joined)
        return;
      if (st.cfg.role != "node") {
        connect_nodes(self);
        return;
      }
      auto node = st.cfg.node();
      if (!node)
        return;
      self->request(node, st.cfg.heartbeat, atom::stats_v)
        .then(
          [self](node_load& load) {
            load.address = self->state.cfg.address;
            self->request(self->state.handles.scheduler, 3s, atom::heartbeat_v,
                          load)
              .then([self](atom::ok_atom) { self->state.missed = 0; },
                    [self](caf::error& err) {
                      auto& st = self->state;
                      if (!st.joined)
                        return;
                      // The scheduler forgot this node (it restarted, or
                      // declared the node lost): register again.
                      if (err == ec::not_found
                          || err == caf::sec::request_receiver_down) {
                        log::get("member")->warn("{}; joining again",
                                                 message_of(err));
                        st.joined = false;
                        st.joining = true;
                        admit(self);
                      } else if (++st.missed % 5 == 0) {
                        log::get("member")->warn(
                          "{} heartbeats unanswered: {}", st.missed,
                          message_of(err));
                      }
                    });
          },
          [](caf::error&) {});
    },
  };
}

} // namespace sbx

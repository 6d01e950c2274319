#include "actors/directory.hpp"

#include "actors/error.hpp"
#include "runtime/log/log.hpp"
#include "runtime/metrics/metrics.hpp"

#include <caf/send.hpp>

namespace sbx {

namespace {

using self_ptr = directory_actor::stateful_pointer<directory_state>;

void record(self_ptr self, const sandbox_info& info) {
  if (auto db = self->state.database ? self->state.database()
                                     : database_actor{})
    caf::anon_send(db, atom::put_v, info);
}

/// Tells the operators following events.
void publish(self_ptr self, const sandbox_info& info) {
  for (auto& f : self->state.followers)
    caf::anon_send(f, atom::event_v, info);
}

void watch(self_ptr self, const sandbox_actor& sb) {
  self->monitor(sb);
  caf::anon_send(sb, atom::watch_v, caf::actor_cast<caf::actor>(self));
}

/// Ends a sandbox: recorded, its quota released, the gateways told.
void end(self_ptr self, std::map<std::string, directory_state::entry>::iterator i,
         const std::string& reason) {
  auto& st = self->state;
  auto info = std::move(i->second.info);
  if (i->second.handle)
    self->demonitor(i->second.handle.address());
  st.sandboxes.erase(i);
  if (info.state != "killed") {
    info.state = "killed";
    info.end_reason = reason;
  }
  record(self, info);
  publish(self, info);
  if (st.stats)
    st.stats->count_kill(info.end_reason);
  if (auto s = st.scheduler ? st.scheduler() : scheduler_actor{})
    caf::anon_send(s, atom::ended_v, info);
  for (auto& sub : st.subscribers)
    caf::anon_send(sub, atom::ended_v, info.id);
}

/// Removes `who` from a list of subscribers; whether it was there.
bool drop(std::vector<caf::actor>& subs, const caf::actor_addr& who) {
  auto s = std::find_if(subs.begin(), subs.end(), [&](const caf::actor& a) {
    return a.address() == who;
  });
  if (s == subs.end())
    return false;
  subs.erase(s);
  return true;
}

} // namespace

directory_actor::behavior_type
directory(directory_actor::stateful_pointer<directory_state> self,
          std::function<database_actor()> database,
          std::function<scheduler_actor()> scheduler,
          std::chrono::milliseconds grace, metrics* stats) {
  auto lg = log::get("directory");
  self->state.database = std::move(database);
  self->state.scheduler = std::move(scheduler);
  self->state.stats = stats;
  if (stats)
    self->send(self, atom::sample_v);
  self->set_down_handler([self](caf::down_msg& msg) {
    auto& st = self->state;
    if (drop(st.subscribers, msg.source) || drop(st.followers, msg.source))
      return;
    for (auto i = st.sandboxes.begin(); i != st.sandboxes.end(); ++i) {
      if (!i->second.handle || i->second.handle.address() != msg.source)
        continue;
      // Gone without a last word: its node went away, or it crashed.
      auto remote = msg.reason == caf::exit_reason::remote_link_unreachable;
      end(self, i, remote ? "node_lost" : "lost");
      return;
    }
  });
  // Rebuild from PostgreSQL: sandboxes that were running before a restart
  // of this process, until their nodes report them again.
  if (auto db = self->state.database ? self->state.database()
                                     : database_actor{})
    self->request(db, std::chrono::seconds{10}, atom::list_v, atom::live_v)
      .await(
        [self, lg, grace](std::vector<sandbox_info>& live) {
          auto& st = self->state;
          st.loaded = true;
          for (auto& x : live) {
            auto id = x.id; // the right side of `=` is evaluated first
            st.sandboxes[id] = {sandbox_actor{}, std::move(x)};
          }
          if (!live.empty()) {
            lg->info("{} sandbox(es) recorded as live; waiting up to {} ms "
                     "for their nodes",
                     live.size(), grace.count());
            self->delayed_send(self, grace, atom::tick_v);
          }
        },
        [lg](caf::error& err) {
          lg->error("cannot load the live sandboxes ({}); sandboxes nodes "
                    "report are adopted as they are",
                    message_of(err));
        });
  return {
    [self](atom::put, const sandbox_actor& sb,
           const sandbox_info& info) -> caf::result<atom::ok_atom> {
      auto& e = self->state.sandboxes[info.id];
      if (e.handle)
        self->demonitor(e.handle.address());
      e = {sb, info};
      watch(self, sb);
      publish(self, info);
      auto db = self->state.database ? self->state.database()
                                     : database_actor{};
      if (!db)
        return atom::ok_v;
      // Answered once recorded: a control restarted right after the create
      // must find the sandbox in PostgreSQL. A failed write is logged by the
      // database actor; the sandbox runs all the same.
      auto rp = self->make_response_promise<atom::ok_atom>();
      self->request(db, std::chrono::seconds{5}, atom::put_v, info)
        .then([rp](atom::ok_atom) mutable { rp.deliver(atom::ok_v); },
              [rp](caf::error&) mutable { rp.deliver(atom::ok_v); });
      return rp;
    },
    [self](atom::get_atom, const std::string& id)
      -> caf::result<sandbox_actor, sandbox_info> {
      auto i = self->state.sandboxes.find(id);
      if (i == self->state.sandboxes.end())
        return make_error(ec::not_found, "sandbox " + id + " not found");
      if (!i->second.handle)
        return make_error(ec::unavailable,
                          "sandbox " + id + " runs on node "
                            + i->second.info.node
                            + ", which has not reported since the control "
                              "restarted",
                          2);
      return {i->second.handle, i->second.info};
    },
    [self](atom::list,
           const std::string& team) -> caf::result<std::vector<sandbox_info>> {
      std::vector<sandbox_info> result;
      for (auto& [id, e] : self->state.sandboxes)
        if (e.handle && (team.empty() || e.info.team == team))
          result.push_back(e.info);
      return result;
    },
    [self, lg](atom::adopt, const node_registration& reg)
      -> caf::result<std::vector<std::string>> {
      auto& st = self->state;
      std::vector<std::string> ended;
      for (size_t i = 0; i < reg.sandboxes.size() && i < reg.handles.size();
           ++i) {
        auto& info = reg.sandboxes[i];
        auto& sb = reg.handles[i];
        auto e = st.sandboxes.find(info.id);
        if (e == st.sandboxes.end() && st.loaded) {
          ended.push_back(info.id);
          continue;
        }
        auto& entry = st.sandboxes[info.id];
        if (entry.handle != sb) {
          if (entry.handle)
            self->demonitor(entry.handle.address());
          entry.handle = sb;
          watch(self, sb);
        }
        entry.info = info;
        record(self, info);
      }
      if (!reg.sandboxes.empty())
        lg->info("node {} reported {} sandbox(es); {} had ended meanwhile",
                 reg.load.name, reg.sandboxes.size(), ended.size());
      return ended;
    },
    [self, lg](atom::lost, const std::string& node) {
      auto& all = self->state.sandboxes;
      size_t n = 0;
      for (auto i = all.begin(); i != all.end();) {
        auto next = std::next(i);
        if (i->second.info.node == node) {
          end(self, i, "node_lost");
          ++n;
        }
        i = next;
      }
      if (n > 0)
        lg->warn("node {} lost: {} sandbox(es) marked killed (node_lost)",
                 node, n);
    },
    [self](atom::subscribe, caf::actor sub) {
      self->monitor(sub);
      self->state.subscribers.push_back(std::move(sub));
    },
    [self](atom::subscribe, atom::event, caf::actor sub) {
      self->monitor(sub);
      self->state.followers.push_back(std::move(sub));
    },
    [self](atom::update, const sandbox_info& info) {
      auto i = self->state.sandboxes.find(info.id);
      if (i == self->state.sandboxes.end()
          || i->second.info.revision > info.revision)
        return;
      auto changed = i->second.info.state != info.state
                     || i->second.info.team != info.team;
      i->second.info = info;
      if (info.state == "killed") {
        end(self, i, info.end_reason);
      } else if (changed) {
        record(self, info);
        publish(self, info);
      }
    },
    [self, lg](atom::tick) {
      auto& all = self->state.sandboxes;
      for (auto i = all.begin(); i != all.end();) {
        auto next = std::next(i);
        if (!i->second.handle) {
          lg->warn("sandbox {}: node {} did not report it; marked killed "
                   "(node_lost)",
                   i->first, i->second.info.node);
          end(self, i, "node_lost");
        }
        i = next;
      }
    },
    [self](atom::sample) {
      auto& st = self->state;
      std::map<std::pair<std::string, std::string>, unsigned> counts;
      for (auto& [id, e] : st.sandboxes)
        ++counts[{e.info.state, e.info.template_id}];
      st.stats->set_sandboxes(counts);
      st.stats->set_mailbox("directory", self->mailbox().size());
      self->delayed_send(self, std::chrono::seconds{1}, atom::sample_v);
    },
  };
}

} // namespace sbx

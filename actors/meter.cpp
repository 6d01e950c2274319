#include "actors/meter.hpp"

#include "actors/error.hpp"
#include "runtime/auth/api_key.hpp"
#include "runtime/log/log.hpp"
#include "runtime/secret_file.hpp"

#include <caf/send.hpp>

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <set>

namespace sbx {

namespace {

using namespace std::chrono_literals;
using self_ptr = meter_actor::stateful_pointer<meter_state>;
using nlohmann::json;

/// Records sent to billing in one message at most.
constexpr size_t batch_size = 1000;

constexpr uint64_t mib = 1 << 20;

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

/// A random UUID (v4), as the usage_records table keys records.
std::string make_id() {
  auto h = auth::random_hex(16);
  h[12] = '4';
  h[16] = "89ab"[std::stoi(h.substr(16, 1), nullptr, 16) % 4];
  return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-"
         + h.substr(16, 4) + "-" + h.substr(20);
}

/// What a sandbox used from its last sample `s` until `at_ms`, having used
/// `cpu_usec` CPU time by then and holding `disk_bytes` now.
usage_record measure(const std::string& node, const meter_state::sample& s,
                     int64_t at_ms, uint64_t cpu_usec, uint64_t disk_bytes) {
  usage_record r;
  r.id = make_id();
  r.team_id = s.info.team;
  r.sandbox_id = s.info.id;
  r.template_id = s.info.template_id;
  r.api_key_id = s.info.api_key_id;
  r.node = node;
  r.period_start_ms = s.at_ms;
  r.period_end_ms = std::max(at_ms, s.at_ms);
  auto dt = static_cast<uint64_t>(r.period_end_ms - r.period_start_ms);
  r.cpu_usec = cpu_usec > s.cpu_usec ? cpu_usec - s.cpu_usec : 0;
  // What it held over the period, as held when it began: vCPUs and memory
  // while running (a paused sandbox holds only its files), its disk always.
  auto running = s.info.state == "running";
  r.vcpu_ms = running ? s.info.vcpu * dt : 0;
  r.memory_mib_ms = running ? s.info.memory_mb * dt : 0;
  r.disk_mib_ms = (s.disk_bytes + disk_bytes) / 2 * dt / mib;
  return r;
}

json to_json(const usage_record& r) {
  return {{"id", r.id},
          {"team", r.team_id},
          {"sandbox", r.sandbox_id},
          {"template", r.template_id},
          {"key", r.api_key_id},
          {"node", r.node},
          {"start", r.period_start_ms},
          {"end", r.period_end_ms},
          {"cpu_usec", r.cpu_usec},
          {"memory_mib_ms", r.memory_mib_ms},
          {"disk_mib_ms", r.disk_mib_ms},
          {"vcpu_ms", r.vcpu_ms}};
}

usage_record from_json(const json& j) {
  usage_record r;
  r.id = j.value("id", "");
  r.team_id = j.value("team", "");
  r.sandbox_id = j.value("sandbox", "");
  r.template_id = j.value("template", "");
  r.api_key_id = j.value("key", "");
  r.node = j.value("node", "");
  r.period_start_ms = j.value("start", int64_t{0});
  r.period_end_ms = j.value("end", int64_t{0});
  r.cpu_usec = j.value("cpu_usec", uint64_t{0});
  r.memory_mib_ms = j.value("memory_mib_ms", uint64_t{0});
  r.disk_mib_ms = j.value("disk_mib_ms", uint64_t{0});
  r.vcpu_ms = j.value("vcpu_ms", uint64_t{0});
  return r;
}

/// Writes what waits and where each sandbox was last sampled, replacing
/// the file at once (a crash leaves the old one or the new one).
void save(self_ptr self) {
  auto& st = self->state;
  if (st.cfg.spool.empty())
    return;
  json j{{"pending", json::array()}, {"seen", json::object()}};
  for (auto& r : st.pending)
    j["pending"].push_back(to_json(r));
  for (auto& [id, s] : st.seen)
    j["seen"][id] = {{"at", s.at_ms},
                     {"cpu_usec", s.cpu_usec},
                     {"disk_bytes", s.disk_bytes}};
  auto tmp = st.cfg.spool + ".tmp";
  {
    std::ofstream out{tmp, std::ios::trunc};
    out << j.dump();
    if (!out) {
      log::get("meter")->error("cannot write {}: usage waits in memory only",
                               tmp);
      return;
    }
  }
  std::rename(tmp.c_str(), st.cfg.spool.c_str());
}

void load_spool(self_ptr self);

void load(self_ptr self) {
  try {
    load_spool(self);
  } catch (const std::exception& e) {
    self->state.pending.clear();
    self->state.seen.clear();
    log::get("meter")->error("{} is damaged ({}); starting without it",
                             self->state.cfg.spool, e.what());
  }
}

void load_spool(self_ptr self) {
  auto& st = self->state;
  if (st.cfg.spool.empty())
    return;
  std::ifstream in{st.cfg.spool};
  if (!in)
    return;
  auto j = json::parse(in, nullptr, false);
  if (!j.is_object()) {
    log::get("meter")->error("{} is damaged; starting without it",
                             st.cfg.spool);
    return;
  }
  auto pending = j.value("pending", json::array());
  auto seen = j.value("seen", json::object());
  if (!pending.is_array() || !seen.is_object()) {
    log::get("meter")->error("{} is damaged; starting without it",
                             st.cfg.spool);
    return;
  }
  for (auto& r : pending)
    st.pending.push_back(from_json(r));
  for (auto& [id, s] : seen.items()) {
    auto& x = st.seen[id];
    x.at_ms = s.value("at", int64_t{0});
    x.cpu_usec = s.value("cpu_usec", uint64_t{0});
    x.disk_bytes = s.value("disk_bytes", uint64_t{0});
    x.info.id = id;
  }
  if (!st.pending.empty())
    log::get("meter")->info("{} usage record(s) from before the restart wait "
                            "for billing",
                            st.pending.size());
}

void push(self_ptr self, usage_record r) {
  auto& st = self->state;
  if (r.team_id.empty() || r.period_end_ms <= r.period_start_ms)
    return;
  st.pending.push_back(std::move(r));
  if (st.pending.size() > st.cfg.max_pending) {
    // Billing has been away for long: keep the totals, not the detail.
    auto waiting = std::deque<usage_record>(st.pending.begin() + st.sending,
                                            st.pending.end());
    auto merged = merge_by_sandbox(waiting);
    st.pending.erase(st.pending.begin() + st.sending, st.pending.end());
    st.pending.insert(st.pending.end(), merged.begin(), merged.end());
    log::get("meter")->warn("billing unreachable for long: {} waiting usage "
                            "record(s) merged into {}",
                            waiting.size(), merged.size());
  }
}

/// Sends the oldest waiting records, unless a batch is on its way.
void send(self_ptr self) {
  auto& st = self->state;
  if (st.sending > 0 || st.pending.empty())
    return;
  auto billing = st.cfg.billing ? st.cfg.billing() : billing_actor{};
  if (!billing)
    return;
  auto n = std::min(st.pending.size(), batch_size);
  std::vector<usage_record> batch(st.pending.begin(), st.pending.begin() + n);
  st.sending = n;
  self->request(billing, 15s, atom::usage_v, std::move(batch))
    .then(
      [self](atom::ok_atom) {
        auto& st = self->state;
        st.pending.erase(st.pending.begin(), st.pending.begin() + st.sending);
        st.sending = 0;
        save(self);
        send(self);
      },
      [self](caf::error& err) {
        // Kept and sent again with the next sample: ids make it harmless.
        self->state.sending = 0;
        log::get("meter")->debug("usage not confirmed ({}); {} record(s) "
                                 "wait",
                                 message_of(err), self->state.pending.size());
      });
}

/// Follows the node's sandbox events (again after the node restarted).
void follow(self_ptr self, const node_actor& node) {
  auto& st = self->state;
  if (!node || st.following == node)
    return;
  st.following = node;
  caf::anon_send(node, atom::subscribe_v, caf::actor_cast<caf::actor>(self));
}

/// Samples every claimed sandbox of the node.
void sample(self_ptr self) {
  auto& st = self->state;
  auto node = st.cfg.node ? st.cfg.node() : node_actor{};
  if (!node || st.sampling)
    return;
  follow(self, node);
  st.sampling = true;
  self->request(node, 10s, atom::list_v, atom::live_v)
    .then(
      [self](std::vector<sandbox_info>& infos,
             std::vector<sandbox_actor>& handles) {
        struct collector {
          size_t left = 0;
        };
        auto acc = std::make_shared<collector>();
        acc->left = infos.size();
        // Sandboxes gone without an event seen (the meter restarted
        // meanwhile) are forgotten once they missed two samples.
        std::set<std::string> live;
        for (auto& x : infos)
          live.insert(x.id);
        auto& seen = self->state.seen;
        auto stale = now_ms() - 2 * self->state.cfg.interval.count();
        for (auto i = seen.begin(); i != seen.end();)
          i = !live.count(i->first) && i->second.at_ms < stale ? seen.erase(i)
                                                                : std::next(i);
        auto finish = [self] {
          self->state.sampling = false;
          save(self);
          send(self);
        };
        if (infos.empty()) {
          finish();
          return;
        }
        for (size_t i = 0; i < infos.size(); ++i) {
          auto info = infos[i];
          auto done = [acc, finish] {
            if (--acc->left == 0)
              finish();
          };
          if (info.team.empty() || i >= handles.size()) {
            done();
            continue;
          }
          self->request(handles[i], 10s, atom::stats_v)
            .then(
              [self, info, done](const sandbox_stats& s) {
                auto& st = self->state;
                auto now = now_ms();
                auto i = st.seen.find(info.id);
                if (i == st.seen.end()) {
                  // First sight: it has held what it holds since its claim.
                  meter_state::sample first{info.started_at_ms, 0,
                                            s.disk_bytes, info};
                  push(self, measure(st.cfg.node_name, first, now, s.cpu_usec,
                                     s.disk_bytes));
                } else {
                  i->second.info = info;
                  push(self, measure(st.cfg.node_name, i->second, now,
                                     s.cpu_usec, s.disk_bytes));
                }
                st.seen[info.id] = {now, s.cpu_usec, s.disk_bytes, info};
                done();
              },
              [done](caf::error&) { done(); });
        }
      },
      [self](caf::error&) { self->state.sampling = false; });
}

} // namespace

std::deque<usage_record> merge_by_sandbox(const std::deque<usage_record>& xs) {
  std::map<std::string, usage_record> by;
  std::deque<usage_record> out;
  for (auto& x : xs) {
    auto [i, fresh] = by.emplace(x.sandbox_id, x);
    if (fresh)
      continue;
    auto& m = i->second;
    m.period_start_ms = std::min(m.period_start_ms, x.period_start_ms);
    m.period_end_ms = std::max(m.period_end_ms, x.period_end_ms);
    m.cpu_usec += x.cpu_usec;
    m.memory_mib_ms += x.memory_mib_ms;
    m.disk_mib_ms += x.disk_mib_ms;
    m.vcpu_ms += x.vcpu_ms;
  }
  for (auto& [id, m] : by) {
    m.id = make_id();
    out.push_back(m);
  }
  return out;
}

meter_actor::behavior_type meter(meter_actor::stateful_pointer<meter_state> self,
                                 meter_config cfg) {
  self->state.cfg = std::move(cfg);
  load(self);
  self->send(self, atom::tick_v);
  return {
    [self](atom::tick) {
      sample(self);
      self->delayed_send(self, self->state.cfg.interval, atom::tick_v);
    },
    [self](atom::event, const sandbox_event& ev) {
      if (ev.state != "killed")
        return;
      auto& st = self->state;
      auto i = st.seen.find(ev.id);
      if (i == st.seen.end())
        return;
      // The last stretch, up to its end (CPU time since the last sample is
      // not known any more: the cgroup is gone).
      auto end = ev.at_ms > 0 ? ev.at_ms : now_ms();
      push(self, measure(st.cfg.node_name, i->second, end, i->second.cpu_usec,
                         i->second.disk_bytes));
      st.seen.erase(i);
      save(self);
      send(self);
    },
    [self](atom::usage) { send(self); },
  };
}

} // namespace sbx

#include "actors/user.hpp"

#include "actors/error.hpp"
#include "runtime/log/log.hpp"

#include <chrono>
#include <ctime>

namespace sbx {

namespace {

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

} // namespace

team_limits limits_of(const std::string& plan,
                      const std::map<std::string, int64_t>& overrides) {
  // E2B's own tiers: hobby 20 sandboxes of 1 hour, pro 100 of 24 hours.
  team_limits x;
  if (plan == "pro") {
    x = {100, 8, 8192, 24 * 3600 * 1000, 50, 500, 5000};
  } else if (plan == "enterprise") {
    x = {1000, 32, 65536, 7 * 24 * 3600 * 1000ll, 200, 2000, 0};
  } else {
    x = {20, 2, 4096, 3600 * 1000, 10, 100, 100};
  }
  auto get = [&](const char* key, auto& field, int64_t scale = 1) {
    auto i = overrides.find(key);
    if (i != overrides.end() && i->second > 0)
      field = static_cast<std::decay_t<decltype(field)>>(i->second * scale);
  };
  get("max_sandboxes", x.max_sandboxes);
  get("max_vcpu", x.max_vcpu);
  get("max_memory_mb", x.max_memory_mb);
  get("max_lifetime_s", x.max_lifetime_ms, 1000);
  get("rate_create", x.rate_create);
  get("rate_control", x.rate_control);
  get("max_sandbox_hours", x.max_sandbox_hours);
  return x;
}

user_actor::behavior_type user(user_actor::stateful_pointer<user_state> self,
                               std::string team,
                               std::function<database_actor()> database) {
  self->state.team = team;
  self->state.limits = limits_of("free", {});
  // Nothing is reserved before the limits and this month's use are known.
  if (auto db = database ? database() : database_actor{}) {
    self->request(db, std::chrono::seconds{5}, atom::get_v, atom::limits_v, team)
      .await([self](const team_limits& x) { self->state.limits = x; },
             [self](caf::error& err) {
               log::get("user")->warn(
                 "cannot load the limits of team {} ({}); the free plan's "
                 "apply",
                 self->state.team, message_of(err));
             });
    self->request(db, std::chrono::seconds{5}, atom::get_v, atom::usage_v, team)
      .await([self](uint64_t ms) { self->state.month_ms = ms; },
             [self](caf::error& err) {
               log::get("user")->warn("cannot load this month's usage of "
                                      "team {} ({}); counting from 0",
                                      self->state.team, message_of(err));
             });
  }
  return {
    [self](atom::reserve, const std::string& key,
           const sandbox_request& req) -> caf::result<atom::ok_atom> {
      auto& st = self->state;
      auto& lim = st.limits;
      if (req.vcpu > lim.max_vcpu)
        return make_error(ec::invalid_argument,
                          "a sandbox of this team may have at most "
                            + std::to_string(lim.max_vcpu) + " vCPUs, not "
                            + std::to_string(req.vcpu));
      if (req.memory_mb > lim.max_memory_mb)
        return make_error(ec::invalid_argument,
                          "a sandbox of this team may have at most "
                            + std::to_string(lim.max_memory_mb)
                            + " MiB of memory, not "
                            + std::to_string(req.memory_mb));
      if (req.timeout_ms > lim.max_lifetime_ms)
        return make_error(ec::invalid_argument,
                          "timeout cannot be greater than "
                            + std::to_string(lim.max_lifetime_ms / 1000)
                            + " seconds for this team");
      if (st.holds.count(key))
        return atom::ok_v;
      if (st.frozen)
        return make_error(ec::payment_required,
                          "The team's balance is used up: new sandboxes need "
                          "credit (ask an operator to add some)");
      if (lim.max_sandbox_hours > 0
          && st.month_ms >= lim.max_sandbox_hours * 3'600'000) {
        // Until the month is over.
        auto now = std::time(nullptr);
        std::tm tm{};
        gmtime_r(&now, &tm);
        tm.tm_mday = 1;
        tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
        tm.tm_mon += 1;
        auto next = timegm(&tm);
        return make_error(ec::resource_exhausted,
                          "This team has used its "
                            + std::to_string(lim.max_sandbox_hours)
                            + " sandbox-hours of this month",
                          std::max<int64_t>(1, next - now));
      }
      if (st.holds.size() >= lim.max_sandboxes) {
        // When the first of them times out, at the latest.
        auto now = now_ms();
        int64_t first = 0;
        for (auto& [id, h] : st.holds)
          if (h.end_at_ms > now && (first == 0 || h.end_at_ms < first))
            first = h.end_at_ms;
        auto retry = first == 0 ? 30 : std::max<int64_t>(1, (first - now + 999) / 1000);
        return make_error(ec::resource_exhausted,
                          "You have reached the maximum number of concurrent "
                          "sandboxes ("
                            + std::to_string(lim.max_sandboxes)
                            + "); kill one or wait for one to end",
                          retry);
      }
      st.holds[key] = {req.vcpu, req.memory_mb, now_ms() + req.timeout_ms};
      return atom::ok_v;
    },
    [self](atom::commit, const std::string& key, const sandbox_info& info) {
      auto& holds = self->state.holds;
      auto i = holds.find(key);
      if (i == holds.end())
        return; // released meanwhile: the sandbox is not counted
      auto h = i->second;
      h.end_at_ms = info.end_at_ms;
      holds.erase(i);
      holds[info.id] = h;
    },
    [self](atom::adopt, const sandbox_info& info) {
      self->state.holds[info.id] = {info.vcpu, info.memory_mb, info.end_at_ms};
    },
    [self](atom::release, const std::string& key) {
      self->state.holds.erase(key);
    },
    [self](atom::get_atom) -> caf::result<team_usage> {
      team_usage u;
      u.limits = self->state.limits;
      u.sandboxes = static_cast<unsigned>(self->state.holds.size());
      for (auto& [id, h] : self->state.holds) {
        u.vcpu += h.vcpu;
        u.memory_mb += h.memory_mb;
      }
      return u;
    },
    [self](atom::limits, const team_limits& x) -> caf::result<atom::ok_atom> {
      self->state.limits = x;
      return atom::ok_v;
    },
    [self](atom::usage, uint64_t month_ms) {
      self->state.month_ms = month_ms;
    },
    [self](atom::balance, bool frozen) {
      self->state.frozen = frozen;
    },
  };
}

} // namespace sbx

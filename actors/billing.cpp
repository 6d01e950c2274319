#include "actors/billing.hpp"

#include "actors/error.hpp"
#include "runtime/log/log.hpp"

#include <caf/send.hpp>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <memory>

namespace sbx {

namespace {

using self_ptr = billing_actor::stateful_pointer<billing_state>;

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

database_actor database_of(self_ptr self) {
  auto& f = self->state.cfg.database;
  return f ? f() : database_actor{};
}

scheduler_actor scheduler_of(self_ptr self) {
  auto& f = self->state.cfg.scheduler;
  return f ? f() : scheduler_actor{};
}

price_list prices_of(self_ptr self, const std::string& plan) {
  auto& all = self->state.cfg.prices;
  auto i = all.find(plan);
  return i == all.end() ? price_list{} : i->second;
}

/// Tells the scheduler whether the team may create sandboxes.
void tell(self_ptr self, const std::string& team_id, bool frozen) {
  if (frozen)
    self->state.frozen.insert(team_id);
  else
    self->state.frozen.erase(team_id);
  if (auto s = scheduler_of(self))
    caf::anon_send(s, atom::balance_v, team_id, frozen);
}

void tell(self_ptr self, const charge_result& r) {
  tell(self, r.team_id, r.frozen_since_ms > 0);
}

/// Pauses (or kills) the running sandboxes of a team out of credit.
void stop_sandboxes(self_ptr self, const team_info& team) {
  auto dir = self->state.cfg.directory ? self->state.cfg.directory()
                                       : directory_actor{};
  if (!dir)
    return;
  auto kill = self->state.cfg.kill_when_out;
  self->request(dir, self->state.cfg.timeout, atom::list_v, team.id)
    .then(
      [self, dir, kill, team](const std::vector<sandbox_info>& infos) {
        size_t n = 0;
        for (auto& x : infos) {
          if (x.state != "running")
            continue;
          ++n;
          self->request(dir, self->state.cfg.timeout, atom::get_v, x.id)
            .then(
              [kill](const sandbox_actor& sb, const sandbox_info&) {
                if (kill)
                  caf::anon_send(sb, atom::kill_v,
                                 std::string{"balance used up"});
                else
                  caf::anon_send(sb, atom::pause_v, true);
              },
              [](caf::error&) {});
        }
        if (n > 0 && self->state.stopped.insert(team.id).second)
          log::get("billing")->warn("team {}: balance used up for longer "
                                    "than the grace period; {} {} "
                                    "sandbox(es)",
                                    team.slug, kill ? "killing" : "pausing", n);
      },
      [](caf::error&) {});
}

/// Charges one billed team and acts on its balance.
void charge(self_ptr self, const team_info& team, const std::string& month) {
  auto prices = prices_of(self, team.plan);
  if (prices.free()) {
    // Moved to an unbilled plan while out of credit: free to create again.
    if (self->state.frozen.count(team.id))
      tell(self, team.id, false);
    return;
  }
  auto& cfg = self->state.cfg;
  self->request(database_of(self), cfg.timeout, atom::charge_v, team.id, month,
                prices)
    .then(
      [self, team](const charge_result& r) {
        tell(self, r);
        if (r.frozen_since_ms == 0) {
          self->state.stopped.erase(team.id);
          return;
        }
        if (now_ms() - r.frozen_since_ms >= self->state.cfg.grace.count())
          stop_sandboxes(self, team);
      },
      [team](caf::error& err) {
        log::get("billing")->warn("cannot charge team {} ({}); next time",
                                  team.slug, message_of(err));
      });
}

/// The invoice of a month at the team's prices, as a draft.
void draft(self_ptr self, const team_info& team, const std::string& month,
           std::function<void(caf::expected<invoice>)> f) {
  auto prices = prices_of(self, team.plan);
  self
    ->request(database_of(self), self->state.cfg.timeout, atom::list_v,
              atom::invoice_v, team.id, month, prices)
    .then(
      [team, month, prices, f](std::vector<invoice_line>& lines) {
        invoice inv;
        inv.team_id = team.id;
        inv.month = month.substr(0, 7);
        inv.status = "draft";
        inv.prices = prices;
        for (auto& l : lines)
          inv.total_micros += l.amount_micros;
        inv.lines = std::move(lines);
        f(std::move(inv));
      },
      [f](caf::error& err) { f(std::move(err)); });
}

/// A month is over: its last charge, then its invoice, final.
void close_month(self_ptr self, const team_info& team,
                 const std::string& month) {
  auto prices = prices_of(self, team.plan);
  auto finalize = [self, team, month] {
    draft(self, team, month, [self, team](caf::expected<invoice> inv) {
      if (!inv || inv->lines.empty())
        return;
      self->request(database_of(self), self->state.cfg.timeout, atom::put_v,
                    *inv)
        .then(
          [team](const invoice& x) {
            log::get("billing")->info("invoice {} of team {}: {} micro-units",
                                      x.month, team.slug, x.total_micros);
          },
          [team](caf::error& err) {
            log::get("billing")->error("cannot store the invoice of team {} "
                                       "({}); it stays a draft",
                                       team.slug, message_of(err));
          });
    });
  };
  if (prices.free()) {
    finalize();
    return;
  }
  self->request(database_of(self), self->state.cfg.timeout, atom::charge_v,
                team.id, month, prices)
    .then([finalize](const charge_result&) { finalize(); },
          [](caf::error&) {});
}

void run(self_ptr self) {
  auto db = database_of(self);
  if (!db)
    return;
  auto month = month_of(now_ms());
  // At start, the month before may have ended while no control ran: close
  // it too (closing is idempotent).
  auto closing = self->state.month.empty() ? previous_month(month)
                 : self->state.month == month ? std::string{}
                                              : self->state.month;
  self->state.month = month;
  self->request(db, self->state.cfg.timeout, atom::list_v, atom::teams_v)
    .then(
      [self, month, closing](const std::vector<team_info>& teams) {
        for (auto& t : teams) {
          if (!closing.empty())
            close_month(self, t, closing);
          charge(self, t, month);
        }
      },
      [](caf::error& err) {
        log::get("billing")->warn("cannot list the teams to charge ({})",
                                  message_of(err));
      });
}

} // namespace

std::string previous_month(const std::string& month) {
  auto y = std::stoi(month.substr(0, 4));
  auto m = std::stoi(month.substr(5, 2));
  if (--m == 0) {
    m = 12;
    --y;
  }
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-01", y, m);
  return buf;
}

std::string month_of(int64_t unix_ms) {
  auto t = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[16];
  std::strftime(buf, sizeof(buf), "%Y-%m-01", &tm);
  return buf;
}

billing_actor::behavior_type
billing(billing_actor::stateful_pointer<billing_state> self,
        billing_config cfg) {
  self->state.cfg = std::move(cfg);
  self->send(self, atom::tick_v);
  return {
    [self](atom::usage,
           std::vector<usage_record>& xs) -> caf::result<atom::ok_atom> {
      auto& cfg = self->state.cfg;
      auto db = database_of(self);
      if (!db)
        return make_error(ec::unavailable, "PostgreSQL is not reachable");
      std::set<std::string> teams;
      for (auto& x : xs)
        teams.insert(x.team_id);
      auto rp = self->make_response_promise<atom::ok_atom>();
      self->request(db, cfg.timeout, atom::put_v, std::move(xs))
        .then(
          [self, rp, db, teams](uint64_t) mutable {
            rp.deliver(atom::ok_v);
            // The month's total, counted by PostgreSQL: exact however many
            // times a batch arrived.
            for (auto& team : teams)
              self
                ->request(db, self->state.cfg.timeout, atom::get_v,
                          atom::usage_v, team)
                .then(
                  [self, team](uint64_t month_ms) {
                    if (auto s = scheduler_of(self))
                      caf::anon_send(s, atom::usage_v, team, month_ms);
                  },
                  [](caf::error&) {});
          },
          [rp](caf::error& err) mutable {
            log::get("billing")->warn("usage not stored yet ({}); the node "
                                      "sends it again",
                                      message_of(err));
            rp.deliver(std::move(err));
          });
      return rp;
    },
    [self](atom::credit, const std::string& team, int64_t micros,
           const std::string& reference,
           const std::string& by) -> caf::result<charge_result> {
      if (micros <= 0)
        return make_error(ec::invalid_argument,
                          "a credit must be a positive amount");
      auto paid = self->state.cfg.payments->collect(team, micros, reference);
      if (!paid)
        return std::move(paid.error());
      auto rp = self->make_response_promise<charge_result>();
      self
        ->request(database_of(self), self->state.cfg.timeout, atom::credit_v,
                  team, micros, *paid, by)
        .then(
          [self, rp](const charge_result& r) mutable {
            tell(self, r);
            if (r.frozen_since_ms == 0)
              self->state.stopped.erase(r.team_id);
            rp.deliver(r);
          },
          [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
      return rp;
    },
    [self](atom::get_atom, atom::invoice, const std::string& team_id,
           const std::string& month) -> caf::result<invoice> {
      auto rp = self->make_response_promise<invoice>();
      auto current = month_of(now_ms()).substr(0, 7);
      auto db = database_of(self);
      auto as_draft = [self, rp, team_id, month]() mutable {
        self
          ->request(database_of(self), self->state.cfg.timeout, atom::get_v,
                    atom::team_v, team_id)
          .then(
            [self, rp, month](const team_info& t) mutable {
              draft(self, t, month + "-01",
                    [rp](caf::expected<invoice> inv) mutable {
                      if (inv)
                        rp.deliver(std::move(*inv));
                      else
                        rp.deliver(std::move(inv.error()));
                    });
            },
            [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
      };
      if (month >= current) {
        as_draft();
        return rp;
      }
      // A past month: its final invoice (a draft until billing closed it).
      self->request(db, self->state.cfg.timeout, atom::get_v, atom::invoice_v,
                    team_id, month)
        .then([rp](invoice& inv) mutable { rp.deliver(std::move(inv)); },
              [rp, as_draft](caf::error& err) mutable {
                if (err == ec::not_found)
                  as_draft();
                else
                  rp.deliver(std::move(err));
              });
      return rp;
    },
    [self](atom::list, atom::invoices,
           const std::string& team_id) -> caf::result<std::vector<invoice>> {
      auto rp = self->make_response_promise<std::vector<invoice>>();
      auto month = month_of(now_ms());
      self
        ->request(database_of(self), self->state.cfg.timeout, atom::get_v,
                  atom::team_v, team_id)
        .then(
          [self, rp, month, team_id](const team_info& t) mutable {
            draft(self, t, month,
                  [self, rp, team_id](caf::expected<invoice> now) mutable {
                    if (!now) {
                      rp.deliver(std::move(now.error()));
                      return;
                    }
                    now->lines.clear();
                    self
                      ->request(database_of(self), self->state.cfg.timeout,
                                atom::list_v, atom::invoices_v, team_id)
                      .then(
                        [rp, now](std::vector<invoice>& finals) mutable {
                          finals.insert(finals.begin(), std::move(*now));
                          rp.deliver(std::move(finals));
                        },
                        [rp](caf::error& err) mutable {
                          rp.deliver(std::move(err));
                        });
                  });
          },
          [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
      return rp;
    },
    [self](atom::tick) {
      run(self);
      self->delayed_send(self, self->state.cfg.interval, atom::tick_v);
    },
  };
}

} // namespace sbx

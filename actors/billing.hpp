#pragma once

#include "actors/interfaces.hpp"
#include "runtime/billing/payments.hpp"

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>

namespace sbx {

struct billing_config {
  std::function<database_actor()> database;
  std::function<scheduler_actor()> scheduler;
  std::function<directory_actor()> directory;
  /// Prices by plan (free, pro, enterprise); a plan without prices, or with
  /// all zero, is not billed.
  std::map<std::string, price_list> prices;
  /// How often billed teams are charged for their usage.
  std::chrono::milliseconds interval{30'000};
  /// How long a team may run sandboxes after its balance ran out.
  std::chrono::milliseconds grace{600'000};
  /// What happens to them then: kill (true) or pause (false).
  bool kill_when_out = false;
  /// Where credit comes from: its reference goes into the ledger.
  std::shared_ptr<payment_provider> payments
    = std::make_shared<manual_payments>();
  std::chrono::milliseconds timeout{10'000};
};

struct billing_state {
  static inline const char* name = "billing";
  billing_config cfg;
  /// The month charged last ("2026-12-01"): when it changes, the month
  /// before gets its final invoices.
  std::string month;
  /// Teams whose sandboxes were stopped for want of credit, to log once.
  std::set<std::string> stopped;
  /// Teams the scheduler was told may not create sandboxes.
  std::set<std::string> frozen;
};

/// Usage and money (billing_actor). Usage from nodes is stored once per
/// record. Every `interval`, each billed team is charged what its usage
/// this month costs beyond what it was charged (ledger lines, exact
/// integer micro-units); a team whose balance is used up gets no new
/// sandboxes (402), and after `grace` its running ones are paused (or
/// killed). When a month ends its invoices become final.
billing_actor::behavior_type
billing(billing_actor::stateful_pointer<billing_state> self, billing_config cfg);

/// "2026-12-01" for the month `unix_ms` falls in (UTC).
std::string month_of(int64_t unix_ms);

/// "2026-11-01" for "2026-12-01".
std::string previous_month(const std::string& month);

} // namespace sbx

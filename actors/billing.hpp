#pragma once

#include "actors/interfaces.hpp"

#include <chrono>
#include <functional>

namespace sbx {

struct billing_config {
  std::function<database_actor()> database;
  std::function<scheduler_actor()> scheduler;
  std::chrono::milliseconds timeout{10'000};
};

struct billing_state {
  static inline const char* name = "billing";
  billing_config cfg;
};

/// Stores the usage nodes send (billing_actor): a batch is answered once
/// PostgreSQL has it, so that a node may drop it; a batch sent again is
/// stored once (the records' ids). After each batch, the teams' use this
/// month goes to the scheduler for their monthly sandbox-hours.
billing_actor::behavior_type
billing(billing_actor::stateful_pointer<billing_state> self, billing_config cfg);

} // namespace sbx

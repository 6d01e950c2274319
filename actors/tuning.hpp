#pragma once

#include <caf/actor_system_config.hpp>
#include <caf/timespan.hpp>

#include <chrono>

namespace sbx {

/// Shortens how long an idle CAF worker sleeps before it looks for work
/// again. With CAF's defaults a message to an idle worker can wait up to
/// 10 ms; a request/response then costs ~100 µs on average (DESIGN §5).
/// Sandbox exec and claim chain several actor hops, so the sleeps add up.
/// The price is a few hundred extra wake-ups per second per idle worker.
inline void tune_scheduler(caf::actor_system_config& cfg) {
  using namespace std::chrono;
  cfg.set("work-stealing.moderate-sleep-duration",
          caf::timespan{microseconds{10}});
  cfg.set("work-stealing.relaxed-sleep-duration",
          caf::timespan{milliseconds{1}});
}

} // namespace sbx

#pragma once

#include <algorithm>
#include <chrono>
#include <string>

namespace sbx {

/// Decides when a client of an outside service (PostgreSQL, Redis) may try to
/// connect again after a failure. Between tries, requests fail at once with
/// the last error instead of each waiting for a connect timeout, and the
/// client recovers by itself once the service is back.
class reconnect_gate {
public:
  using clock = std::chrono::steady_clock;

  /// True if a connection attempt is allowed now.
  bool may_try(clock::time_point now = clock::now()) const {
    return now >= next_try_;
  }

  /// Records a failure; the delay doubles from 100 ms up to `max_delay`.
  void failed(std::string why, clock::time_point now = clock::now()) {
    delay_ = delay_.count() == 0 ? first_delay
                                 : std::min(delay_ * 2, max_delay);
    next_try_ = now + delay_;
    last_error_ = std::move(why);
  }

  /// Records a working connection.
  void succeeded() {
    delay_ = {};
    next_try_ = {};
    last_error_.clear();
  }

  /// True while the last attempt failed.
  bool down() const {
    return !last_error_.empty();
  }

  /// What went wrong the last time.
  const std::string& last_error() const {
    return last_error_;
  }

  static constexpr std::chrono::milliseconds first_delay{100};
  static constexpr std::chrono::milliseconds max_delay{1000};

private:
  std::chrono::milliseconds delay_{0};
  clock::time_point next_try_{};
  std::string last_error_;
};

} // namespace sbx

#pragma once

#include <memory>
#include <string>

namespace prometheus {
class Registry;
} // namespace prometheus

namespace sbx {

/// The Prometheus registry of one process and the metrics every role shares.
/// Thread-safe: prometheus-cpp synchronizes families and metrics itself.
class metrics {
public:
  metrics();
  ~metrics();

  metrics(const metrics&) = delete;
  metrics& operator=(const metrics&) = delete;

  /// Counts one HTTP request of `route` (the route pattern, never the raw
  /// path, to keep label cardinality bounded) and records its latency.
  void observe_http(const std::string& route, const std::string& method,
                    unsigned status, double seconds);

  /// Counts a failed call to an outside service ("postgres", "redis").
  void count_backend_error(const std::string& backend);

  /// The registry, for components that add metrics of their own.
  prometheus::Registry& registry();

  /// Renders everything in the Prometheus text exposition format.
  std::string serialize() const;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace sbx

#pragma once

#include <map>
#include <memory>
#include <string>
#include <utility>

namespace prometheus {
class Registry;
} // namespace prometheus

namespace sbx {

/// The Prometheus registry of one process and every metric sandhive
/// exports. Each role records what it sees (the gateway HTTP, the control
/// placement and sandboxes, a node its starts and pools); every process
/// serves its own registry on /metrics. Thread-safe: prometheus-cpp
/// synchronizes families and metrics itself. Label values are bounded sets
/// (route patterns, node and template names), never raw paths or ids.
class metrics {
public:
  metrics();
  ~metrics();

  metrics(const metrics&) = delete;
  metrics& operator=(const metrics&) = delete;

  // -- gateway ----------------------------------------------------------------

  /// Counts one HTTP request of `route` (the route pattern) and records its
  /// latency.
  void observe_http(const std::string& route, const std::string& method,
                    unsigned status, double seconds);

  /// A WebSocket session opened (+1) or closed (-1).
  void add_websocket_sessions(int delta);

  /// Counts a rate-limit decision of a route group: allowed, limited,
  /// fail_open or fail_closed (Redis unreachable).
  void count_rate_limit(const std::string& group, const std::string& result);

  /// Whether the rate limits' Redis answers.
  void set_rate_limit_redis_up(bool up);

  // -- backends ---------------------------------------------------------------

  /// Exports the error counter of a backend this process talks to, at 0,
  /// so that dashboards see it before the first error.
  void track_backend(const std::string& backend);

  /// Counts a failed call to an outside service ("postgres", "redis").
  void count_backend_error(const std::string& backend);

  /// Records the latency of one call to an outside service.
  void observe_backend(const std::string& backend, double seconds);

  // -- control ----------------------------------------------------------------

  /// Counts a create the scheduler finished: ok, failed or quota (refused
  /// over the team's limit).
  void count_create(const std::string& result);

  /// Records how long one placement decision took.
  void observe_placement(double seconds);

  /// Counts a start retried on another node.
  void count_placement_retry();

  /// Counts a sandbox that ended, by why.
  void count_kill(const std::string& reason);

  /// Sets the sandboxes of the cluster by (state, template); combinations
  /// not given drop to 0.
  void set_sandboxes(const std::map<std::pair<std::string, std::string>,
                                    unsigned>& counts);

  /// Sets what a node offers and what is promised (resources "vcpu",
  /// "memory_mb", "sandboxes") and whether it is in the cluster.
  void set_node(const std::string& node, bool up,
                const std::map<std::string, double>& capacity,
                const std::map<std::string, double>& allocated);

  /// Sets the warm sandboxes of a node's pool: ready now and its target.
  void set_warm_pool(const std::string& node, const std::string& tpl,
                     unsigned ready, unsigned target);

  /// Sets the messages waiting in an actor's mailbox.
  void set_mailbox(const std::string& actor, size_t depth);

  // -- node -------------------------------------------------------------------

  /// Records how long a create took on a node, from a warm pool or cold.
  void observe_sandbox_create(bool warm, double seconds);

  /// Counts a create that found a warm sandbox (hit) or not (miss).
  void count_pool_claim(bool hit);

  // -- all --------------------------------------------------------------------

  /// The registry, for components that add metrics of their own.
  prometheus::Registry& registry();

  /// Renders everything in the Prometheus text exposition format.
  std::string serialize() const;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace sbx

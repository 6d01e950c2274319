#include "runtime/metrics/metrics.hpp"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <chrono>
#include <mutex>
#include <set>
#include <unordered_map>

namespace sbx {

namespace {

using prometheus::Counter;
using prometheus::Family;
using prometheus::Gauge;
using prometheus::Histogram;

Family<Counter>& counter(prometheus::Registry& r, const char* name,
                         const char* help) {
  return prometheus::BuildCounter().Name(name).Help(help).Register(r);
}

Family<Gauge>& gauge(prometheus::Registry& r, const char* name,
                     const char* help) {
  return prometheus::BuildGauge().Name(name).Help(help).Register(r);
}

Family<Histogram>& histogram(prometheus::Registry& r, const char* name,
                             const char* help) {
  return prometheus::BuildHistogram().Name(name).Help(help).Register(r);
}

/// From 100 µs to 10 s: local routes answer in microseconds, sandbox
/// starts and file transfers take seconds.
const Histogram::BucketBoundaries& latency_buckets() {
  static const Histogram::BucketBoundaries x
    = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
       0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,    10};
  return x;
}

/// From 1 µs to 10 ms: one placement decision.
const Histogram::BucketBoundaries& decision_buckets() {
  static const Histogram::BucketBoundaries x
    = {1e-6, 2.5e-6, 5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 1e-3, 1e-2};
  return x;
}

} // namespace

struct metrics::impl {
  std::shared_ptr<prometheus::Registry> registry
    = std::make_shared<prometheus::Registry>();
  prometheus::Registry& r = *registry;
  Family<Counter>& http_requests
    = counter(r, "sandhive_http_requests_total",
              "HTTP requests by route, method and status");
  Family<Histogram>& http_latency
    = histogram(r, "sandhive_http_request_duration_seconds",
                "HTTP request latency from first byte read to response "
                "written, by route");
  Family<Gauge>& websocket_sessions
    = gauge(r, "sandhive_websocket_sessions",
            "WebSocket sessions open (terminals and event streams)");
  Family<Counter>& rate_limits
    = counter(r, "sandhive_rate_limit_decisions_total",
              "Rate-limit decisions by route group and result (allowed, "
              "limited, fail_open, fail_closed)");
  Family<Gauge>& rate_limit_redis
    = gauge(r, "sandhive_rate_limit_redis_up",
            "Whether the Redis of the rate limits answers (1) or not (0)");
  Family<Counter>& backend_errors
    = counter(r, "sandhive_backend_errors_total",
              "Failed calls to PostgreSQL or Redis");
  Family<Histogram>& backend_latency
    = histogram(r, "sandhive_backend_request_duration_seconds",
                "Latency of calls to PostgreSQL or Redis");
  Family<Counter>& creates
    = counter(r, "sandhive_sandbox_creates_total",
              "Sandbox creates the scheduler finished, by result (ok, "
              "failed, quota)");
  Family<Histogram>& placement
    = histogram(r, "sandhive_placement_duration_seconds",
                "Time of one placement decision");
  Family<Counter>& placement_retries
    = counter(r, "sandhive_placement_retries_total",
              "Sandbox starts retried on another node");
  Family<Counter>& quota_rejections
    = counter(r, "sandhive_quota_rejections_total",
              "Creates refused because the team is at its limit");
  Family<Counter>& kills = counter(r, "sandhive_sandbox_kills_total",
                                   "Sandboxes that ended, by reason");
  Family<Gauge>& sandboxes
    = gauge(r, "sandhive_sandboxes",
            "Sandboxes of the cluster by state and template");
  Family<Gauge>& node_up
    = gauge(r, "sandhive_node_up", "Whether a node is in the cluster (1) or "
                                   "lost (0)");
  Family<Gauge>& node_capacity
    = gauge(r, "sandhive_node_capacity",
            "What a node offers, by resource (vcpu, memory_mb, sandboxes)");
  Family<Gauge>& node_allocated
    = gauge(r, "sandhive_node_allocated",
            "What is promised to sandboxes on a node, by resource");
  Family<Gauge>& warm_ready
    = gauge(r, "sandhive_warm_pool_ready",
            "Warm sandboxes ready, by node and template");
  Family<Gauge>& warm_target
    = gauge(r, "sandhive_warm_pool_target",
            "Warm sandboxes a pool keeps, by node and template");
  Family<Gauge>& mailbox = gauge(r, "sandhive_actor_mailbox_depth",
                                 "Messages waiting in an actor's mailbox");
  Family<Histogram>& create_latency
    = histogram(r, "sandhive_sandbox_create_duration_seconds",
                "Time a node takes to hand out a sandbox, by kind (warm: "
                "from the pool, cold: started for the request)");
  Family<Counter>& pool_claims
    = counter(r, "sandhive_warm_pool_claims_total",
              "Creates that found a warm sandbox (hit) or not (miss)");
  Family<Gauge>& start_time
    = gauge(r, "process_start_time_seconds",
            "Start time of the process since the Unix epoch in seconds");
  std::mutex mtx;
  /// The (state, template) pairs exported so far.
  std::set<std::pair<std::string, std::string>> sandbox_labels;
  /// The kill reasons exported so far.
  std::set<std::string> kill_labels;
  /// The children of the per-request families by their label values, so
  /// that a request does not build and hash a label map (prometheus-cpp's
  /// Add) each time. Bounded: the label values are.
  std::mutex children_mtx;
  std::unordered_map<std::string, std::pair<Counter*, Histogram*>> http;
  std::unordered_map<std::string, Counter*> limits;
};

metrics::metrics() : impl_(std::make_unique<impl>()) {
  using namespace std::chrono;
  auto now = duration<double>(system_clock::now().time_since_epoch()).count();
  impl_->start_time.Add({}).Set(now);
  // Present from the start, so that rates and dashboards see zeros rather
  // than nothing.
  impl_->websocket_sessions.Add({});
  impl_->placement_retries.Add({});
  impl_->quota_rejections.Add({});
}

metrics::~metrics() = default;

void metrics::observe_http(const std::string& route, const std::string& method,
                           unsigned status, double seconds) {
  auto key = route;
  key += '\n';
  key += method;
  key += '\n';
  key += std::to_string(status);
  std::pair<Counter*, Histogram*> c;
  {
    std::lock_guard<std::mutex> guard{impl_->children_mtx};
    auto& slot = impl_->http[key];
    if (slot.first == nullptr)
      slot = {&impl_->http_requests.Add({{"route", route},
                                          {"method", method},
                                          {"status", std::to_string(status)}}),
              &impl_->http_latency.Add({{"route", route}}, latency_buckets())};
    c = slot;
  }
  c.first->Increment();
  c.second->Observe(seconds);
}

void metrics::add_websocket_sessions(int delta) {
  impl_->websocket_sessions.Add({}).Increment(delta);
}

void metrics::track_backend(const std::string& backend) {
  impl_->backend_errors.Add({{"backend", backend}});
}

void metrics::count_rate_limit(const std::string& group,
                               const std::string& result) {
  Counter* c;
  {
    std::lock_guard<std::mutex> guard{impl_->children_mtx};
    auto& slot = impl_->limits[group + '\n' + result];
    if (slot == nullptr)
      slot = &impl_->rate_limits.Add({{"group", group}, {"result", result}});
    c = slot;
  }
  c->Increment();
}

void metrics::set_rate_limit_redis_up(bool up) {
  impl_->rate_limit_redis.Add({}).Set(up ? 1 : 0);
}

void metrics::count_backend_error(const std::string& backend) {
  impl_->backend_errors.Add({{"backend", backend}}).Increment();
}

void metrics::observe_backend(const std::string& backend, double seconds) {
  impl_->backend_latency.Add({{"backend", backend}}, latency_buckets())
    .Observe(seconds);
}

void metrics::count_create(const std::string& result) {
  impl_->creates.Add({{"result", result}}).Increment();
  if (result == "quota")
    impl_->quota_rejections.Add({}).Increment();
}

void metrics::observe_placement(double seconds) {
  impl_->placement.Add({}, decision_buckets()).Observe(seconds);
}

void metrics::count_placement_retry() {
  impl_->placement_retries.Add({}).Increment();
}

void metrics::count_kill(const std::string& reason) {
  auto label = reason.empty() ? std::string{"killed"} : reason;
  {
    // Reasons are a handful of fixed strings; should one ever carry more,
    // the label set stays bounded all the same.
    std::lock_guard<std::mutex> guard{impl_->mtx};
    if (!impl_->kill_labels.count(label)) {
      if (impl_->kill_labels.size() >= 32)
        label = "other";
      impl_->kill_labels.insert(label);
    }
  }
  impl_->kills.Add({{"reason", label}}).Increment();
}

void metrics::set_sandboxes(
  const std::map<std::pair<std::string, std::string>, unsigned>& counts) {
  std::lock_guard<std::mutex> guard{impl_->mtx};
  for (auto& [labels, n] : counts)
    impl_->sandbox_labels.insert(labels);
  for (auto& labels : impl_->sandbox_labels) {
    auto i = counts.find(labels);
    impl_->sandboxes
      .Add({{"state", labels.first}, {"template", labels.second}})
      .Set(i == counts.end() ? 0 : i->second);
  }
}

void metrics::set_node(const std::string& node, bool up,
                       const std::map<std::string, double>& capacity,
                       const std::map<std::string, double>& allocated) {
  impl_->node_up.Add({{"node", node}}).Set(up ? 1 : 0);
  for (auto& [resource, x] : capacity)
    impl_->node_capacity.Add({{"node", node}, {"resource", resource}}).Set(x);
  for (auto& [resource, x] : allocated)
    impl_->node_allocated.Add({{"node", node}, {"resource", resource}}).Set(x);
}

void metrics::set_warm_pool(const std::string& node, const std::string& tpl,
                            unsigned ready, unsigned target) {
  impl_->warm_ready.Add({{"node", node}, {"template", tpl}}).Set(ready);
  impl_->warm_target.Add({{"node", node}, {"template", tpl}}).Set(target);
}

void metrics::set_mailbox(const std::string& actor, size_t depth) {
  impl_->mailbox.Add({{"actor", actor}}).Set(static_cast<double>(depth));
}

void metrics::observe_sandbox_create(bool warm, double seconds) {
  impl_->create_latency
    .Add({{"kind", warm ? "warm" : "cold"}}, latency_buckets())
    .Observe(seconds);
}

void metrics::count_pool_claim(bool hit) {
  impl_->pool_claims.Add({{"result", hit ? "hit" : "miss"}}).Increment();
}

prometheus::Registry& metrics::registry() {
  return *impl_->registry;
}

std::string metrics::serialize() const {
  prometheus::TextSerializer serializer;
  return serializer.Serialize(impl_->registry->Collect());
}

} // namespace sbx

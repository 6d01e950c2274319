#include "runtime/metrics/metrics.hpp"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <chrono>

namespace sbx {

struct metrics::impl {
  std::shared_ptr<prometheus::Registry> registry
    = std::make_shared<prometheus::Registry>();
  prometheus::Family<prometheus::Counter>& http_requests
    = prometheus::BuildCounter()
        .Name("sandhive_http_requests_total")
        .Help("HTTP requests by route, method and status")
        .Register(*registry);
  prometheus::Family<prometheus::Histogram>& http_latency
    = prometheus::BuildHistogram()
        .Name("sandhive_http_request_duration_seconds")
        .Help("HTTP request latency from first byte read to response written")
        .Register(*registry);
  prometheus::Family<prometheus::Counter>& backend_errors
    = prometheus::BuildCounter()
        .Name("sandhive_backend_errors_total")
        .Help("Failed calls to PostgreSQL or Redis")
        .Register(*registry);
  prometheus::Family<prometheus::Gauge>& start_time
    = prometheus::BuildGauge()
        .Name("process_start_time_seconds")
        .Help("Start time of the process since the Unix epoch in seconds")
        .Register(*registry);
};

metrics::metrics() : impl_(std::make_unique<impl>()) {
  using namespace std::chrono;
  auto now = duration<double>(system_clock::now().time_since_epoch()).count();
  impl_->start_time.Add({}).Set(now);
}

metrics::~metrics() = default;

void metrics::observe_http(const std::string& route, const std::string& method,
                           unsigned status, double seconds) {
  impl_->http_requests
    .Add({{"route", route}, {"method", method},
          {"status", std::to_string(status)}})
    .Increment();
  // Buckets from 100 µs to 10 s: gateway-local routes answer in microseconds,
  // sandbox starts and file transfers take seconds.
  static const prometheus::Histogram::BucketBoundaries buckets
    = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
       0.025,  0.05,    0.1,    0.25,  0.5,    1,     2.5, 5, 10};
  impl_->http_latency.Add({{"route", route}}, buckets).Observe(seconds);
}

void metrics::count_backend_error(const std::string& backend) {
  impl_->backend_errors.Add({{"backend", backend}}).Increment();
}

prometheus::Registry& metrics::registry() {
  return *impl_->registry;
}

std::string metrics::serialize() const {
  prometheus::TextSerializer serializer;
  return serializer.Serialize(impl_->registry->Collect());
}

} // namespace sbx

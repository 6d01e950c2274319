#include "gateway/routes/routes.hpp"
#include "runtime/metrics/metrics.hpp"

namespace sbx::routes {

void add_metrics(http::router& r, metrics& stats) {
  r.add("GET", "/metrics", [&stats](http::request&, http::responder respond) {
    respond(http::response::text(200, stats.serialize(),
                                 "text/plain; version=0.0.4; charset=utf-8"));
  });
}

} // namespace sbx::routes

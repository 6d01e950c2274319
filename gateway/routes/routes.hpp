#pragma once

#include "actors/interfaces.hpp"
#include "gateway/router.hpp"

namespace sbx {

class bridge;
class metrics;

/// The gateway's routes, one function per file in gateway/routes/.
namespace routes {

/// GET /health: 204 while the process runs. GET /ready: 200 when PostgreSQL
/// and Redis answer, 503 with the reason otherwise.
void add_health(http::router& r, bridge& b, supervisor_actor sup);

/// GET /metrics: the process's metrics in Prometheus text format.
void add_metrics(http::router& r, metrics& stats);

} // namespace routes
} // namespace sbx

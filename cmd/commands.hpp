#pragma once

#include "config/config.hpp"

/// One function per role of the sandhive binary; each returns the exit code.
namespace sbx {

/// `sandhive up`: the whole platform in one process.
int run_up(const config& cfg);

/// `sandhive control`: scheduler, directory and teams, with PostgreSQL and
/// Redis; nodes and gateways join it.
int run_control(const config& cfg);

/// `sandhive node --join HOST:PORT`: runs sandboxes for the cluster.
int run_node(const config& cfg);

/// `sandhive gateway --join HOST:PORT`: the HTTP/WebSocket API of the
/// cluster.
int run_gateway(const config& cfg);

} // namespace sbx

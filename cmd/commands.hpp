#pragma once

#include "config/config.hpp"

#include <string>

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

/// What `sandhive admin` takes besides the settings.
struct admin_options {
  /// The control's cluster address; empty: join, else
  /// <data-dir>/cluster-address.
  std::string connect;
  /// One command to run (-c); empty: interactive.
  std::string command;
  /// Print results as JSON.
  bool json = false;
};

/// `sandhive admin [--connect HOST:PORT] [-c CMD [--json]]`: the operators'
/// shell. Exit codes: 0 worked, 1 failed, 2 typed wrong, 3 the control
/// could not be reached or refused.
int run_admin(const config& cfg, const admin_options& opt);

} // namespace sbx

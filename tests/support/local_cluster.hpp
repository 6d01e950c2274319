#pragma once

#include "tests/support/http_client.hpp"
#include "tests/support/subprocess.hpp"

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace sbx::test {

/// A cluster of real sandhive processes on loopback: one control (with the
/// tests' PostgreSQL and Redis), nodes and gateways, each with a data dir
/// of its own under one temporary directory.
class local_cluster {
public:
  struct options {
    /// Names the database (a fresh one per cluster).
    std::string name = "cluster";
    std::vector<std::string> nodes = {"n1", "n2", "n3"};
    size_t gateways = 2;
    /// Serve /metrics on a port of its own for the control and each node.
    bool metrics = false;
    /// Added to every process's arguments (TLS settings, …).
    std::vector<std::string> extra;
  };

  explicit local_cluster(options opts);
  ~local_cluster();

  /// Starts every process and waits until the nodes joined and every
  /// gateway answers; false (with the logs in `why`) when that fails.
  bool start(std::string& why);

  void start_control();

  /// Starts node `name` kept under `slot` (default: its name), with the
  /// cluster's secret unless `secret_file` says otherwise, and the cluster's
  /// extra arguments unless `extra` replaces them.
  void start_node(const std::string& name, const std::string& secret_file = "",
                  const std::string& slot = "",
                  std::optional<std::vector<std::string>> extra = std::nullopt);

  /// Waits until every gateway is in the cluster (/ready) and offers the
  /// base template (a node joined the control they joined): after a restart
  /// of the control or a node, before the next create.
  bool ready(std::chrono::seconds timeout) const;

  /// Whether the control's log says `what` at least `times` times.
  bool control_said(const std::string& what, size_t times = 1) const;

  /// stdout and stderr of a process.
  static std::string logs(const subprocess& p);

  /// An E2B API request through gateway `g` with the bootstrap key (or `key`).
  http_reply api(size_t g, const std::string& method, const std::string& target,
                 const std::string& body = "",
                 const std::string& key = "") const;

  /// Creates a sandbox through gateway `g`: (id, access token), or empty
  /// strings when the create failed.
  std::pair<std::string, std::string> create(size_t g,
                                             const std::string& key = "") const;

  /// Kills every sandbox of the bootstrap team (or of `key`'s).
  void kill_all(const std::string& key = "") const;

  /// A team with these limit overrides (JSON) and a key for it.
  std::string team(const std::string& slug, const std::string& limits) const;

  /// `sandhive admin -c CMD [--json]` against this cluster as operator
  /// `name`: (exit code, stdout, stderr).
  struct admin_result {
    int code = -1;
    std::string out;
    std::string err;
  };
  admin_result admin(const std::string& cmd, bool json = false,
                     const std::string& name = "ops-test",
                     std::vector<std::string> extra = {}) const;

  /// The arguments that point `sandhive admin` at this cluster.
  std::vector<std::string> admin_args(const std::string& name) const;

  std::string dir() const;
  std::string secret_file() const;
  std::string admin_token_file() const;
  std::string database_url() const {
    return db_url_;
  }
  uint16_t cluster_port() const {
    return cluster_port_;
  }
  uint16_t gateway_port(size_t g) const {
    return gateway_ports_.at(g);
  }
  /// /metrics ports: "control" and each node's name.
  const std::map<std::string, uint16_t>& metrics_ports() const {
    return metrics_ports_;
  }

  std::unique_ptr<subprocess> control;
  std::map<std::string, std::unique_ptr<subprocess>> nodes;
  std::vector<std::unique_ptr<subprocess>> gateways;
  std::string key;

private:
  options opts_;
  std::unique_ptr<temp_dir> dir_;
  std::string db_url_;
  uint16_t cluster_port_ = 0;
  std::vector<uint16_t> gateway_ports_;
  std::map<std::string, uint16_t> metrics_ports_;
};

/// Starts the cluster a suite's tests share in `c` unless it is there: the
/// first test to need it starts it, and fails with the logs if it cannot.
void start_once(std::unique_ptr<local_cluster>& c,
                const local_cluster::options& opts);

} // namespace sbx::test

#pragma once

#include "runtime/embedded/service.hpp"

#include <caf/error.hpp>

#include <memory>
#include <string>

namespace sbx::embedded {

/// A private PostgreSQL server under `<data_dir>/postgres`, run as the
/// `postgres` user on a free loopback port with a generated password (kept in
/// `<data_dir>/postgres.password`, mode 0600). Created with initdb on first
/// start; later starts reuse the data.
class postgres {
public:
  postgres(std::string data_dir, std::string bin_dir);
  ~postgres();

  /// Initializes (once) and starts the server, then waits until it answers
  /// and the database `sandhive` exists. A restart keeps the port.
  caf::error start();

  /// Stops the server (fast shutdown).
  void stop();

  /// URL of the `sandhive` database.
  std::string url() const;

  uint16_t port() const {
    return port_;
  }

  /// The supervised process, once started.
  service* process() {
    return svc_.get();
  }

private:
  caf::error init();
  caf::error ensure_database();

  std::string data_dir_;
  std::string bin_dir_;
  std::string password_;
  uint16_t port_ = 0;
  std::unique_ptr<service> svc_;
};

/// A private Redis server under `<data_dir>/redis`, run as the `redis` user
/// on a free loopback port with a generated password (kept in
/// `<data_dir>/redis.password`, mode 0600) and an append-only file.
class redis {
public:
  redis(std::string data_dir, std::string server_program);
  ~redis();

  /// Starts the server and waits until it answers PING.
  caf::error start();

  /// Stops the server.
  void stop();

  /// redis://:password@127.0.0.1:port
  std::string url() const;

  uint16_t port() const {
    return port_;
  }

  service* process() {
    return svc_.get();
  }

private:
  std::string data_dir_;
  std::string program_;
  std::string password_;
  uint16_t port_ = 0;
  std::unique_ptr<service> svc_;
};

/// Reads the secret in `file`, or makes one and writes it with mode 0600.
caf::expected<std::string> load_or_make_secret(const std::string& file);

} // namespace sbx::embedded

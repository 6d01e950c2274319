#pragma once

#include "runtime/embedded/service.hpp"

#include <caf/error.hpp>

#include <memory>
#include <string>

namespace sbx::embedded {

/// What the embedded servers share: a directory under the data dir owned by
/// the server's user, a generated password kept in `<data_dir>/<name>.password`
/// (mode 0600), a free loopback port that a restart keeps, and the supervised
/// process.
class server {
public:
  virtual ~server();

  /// Starts the server and waits until it answers. A second call while it
  /// runs does nothing.
  caf::error start();

  /// Stops the server.
  void stop();

  /// How clients reach it, password included.
  virtual std::string url() const = 0;

  uint16_t port() const {
    return port_;
  }

  /// The supervised process, once started.
  service* process() {
    return svc_.get();
  }

protected:
  server(std::string name, std::string user, std::string data_dir);

  /// Prepares the directory (initdb and the like) before the first start.
  virtual caf::error init() = 0;

  /// The server's command line, its data dir seen at `mount_point`.
  virtual std::vector<std::string> command() const = 0;

  /// True once the server answers.
  virtual bool answers() const = 0;

  /// Runs after the server answers (e.g. creating a database).
  virtual caf::error after_start() {
    return caf::none;
  }

  /// The signal that stops the server cleanly.
  virtual int stop_signal() const {
    return SIGTERM;
  }

  /// `<data_dir>/<name>`, bind-mounted at `mount_point` for the server.
  std::string root() const {
    return data_dir_ + "/" + name_;
  }

  std::string name_;
  std::string user_;
  std::string data_dir_;
  std::string password_;
  uint16_t port_ = 0;
  std::unique_ptr<service> svc_;
};

/// A private PostgreSQL server under `<data_dir>/postgres`, run as the
/// `postgres` user, with scram-sha-256 authentication. Created with initdb on
/// first start; later starts reuse the data.
class postgres final : public server {
public:
  postgres(std::string data_dir, std::string bin_dir);
  ~postgres() override;

  /// URL of the `sandhive` database.
  std::string url() const override;

private:
  caf::error init() override;
  std::vector<std::string> command() const override;
  bool answers() const override;
  caf::error after_start() override;
  int stop_signal() const override {
    // PostgreSQL's fast shutdown: ends sessions and checkpoints.
    return SIGINT;
  }

  std::string url_of(const std::string& db) const;

  std::string bin_dir_;
};

/// A private Redis server under `<data_dir>/redis`, run as the `redis` user,
/// with a password and an append-only file.
class redis final : public server {
public:
  redis(std::string data_dir, std::string program);
  ~redis() override;

  /// redis://:password@127.0.0.1:port
  std::string url() const override;

private:
  caf::error init() override;
  std::vector<std::string> command() const override;
  bool answers() const override;

  std::string program_;
};

} // namespace sbx::embedded

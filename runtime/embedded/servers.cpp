#include "runtime/embedded/servers.hpp"

#include "actors/error.hpp"
#include "runtime/auth/api_key.hpp"
#include "runtime/cache/cache_client.hpp"
#include "runtime/log/log.hpp"

#include <pqxx/pqxx>

#include <filesystem>
#include <fstream>

#include <cstring>

#include <fcntl.h>
#include <pwd.h>
#include <unistd.h>

namespace sbx::embedded {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

caf::expected<std::string> load_or_make_secret(const std::string& file) {
  if (std::ifstream in{file}; in) {
    std::string secret;
    std::getline(in, secret);
    if (!secret.empty())
      return secret;
  }
  auto secret = auth::random_hex(16);
  int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0)
    return make_error(ec::system_error,
                      "cannot write " + file + ": " + std::strerror(errno));
  auto line = secret + "\n";
  auto ok = ::write(fd, line.data(), line.size())
            == static_cast<ssize_t>(line.size());
  ok = ::fsync(fd) == 0 && ok;
  ::close(fd);
  if (!ok)
    return make_error(ec::system_error, "cannot write " + file);
  return secret;
}

postgres::postgres(std::string data_dir, std::string bin_dir)
  : data_dir_(std::move(data_dir)), bin_dir_(std::move(bin_dir)) {
  // nop
}

postgres::~postgres() {
  stop();
}

caf::error postgres::init() {
  auto root = data_dir_ + "/postgres";
  if (fs::exists(root + "/pgdata/PG_VERSION"))
    return caf::none;
  log::get("postgres")->info("initializing a new cluster in {}/pgdata", root);
  if (auto err = make_private_dir(root, "postgres"))
    return err;
  // initdb reads the password from a file the postgres user can open.
  auto pwfile = root + "/.pwfile";
  {
    std::ofstream out{pwfile};
    out << password_ << "\n";
  }
  auto pw = getpwnam("postgres");
  if (pw == nullptr || ::chown(pwfile.c_str(), pw->pw_uid, pw->pw_gid) != 0)
    return make_error(ec::system_error, "cannot prepare " + pwfile);
  spawn_options opts;
  opts.argv = {bin_dir_ + "/initdb", "-D",
               std::string{mount_point} + "/pgdata", "-U", "sandhive",
               "--pwfile=" + std::string{mount_point} + "/.pwfile",
               "--auth=scram-sha-256", "--encoding=UTF8", "--no-locale",
               "--no-sync"};
  opts.user = "postgres";
  opts.bind_source = root;
  opts.log_component = "postgres";
  opts.quiet = true;
  auto err = run(opts);
  fs::remove(pwfile);
  if (err) {
    // A half-made cluster would fail the next start in a confusing way.
    std::error_code ignored;
    fs::remove_all(root + "/pgdata", ignored);
    return make_error(ec::system_error, "initdb failed: " + message_of(err));
  }
  ::sync();
  return caf::none;
}

caf::error postgres::start() {
  if (svc_ && svc_->pid() != 0)
    return caf::none;
  auto pw = load_or_make_secret(data_dir_ + "/postgres.password");
  if (!pw)
    return std::move(pw.error());
  password_ = *pw;
  if (auto err = init())
    return err;
  if (port_ == 0)
    port_ = pick_free_port();
  spawn_options opts;
  opts.argv = {bin_dir_ + "/postgres",
               "-D",
               std::string{mount_point} + "/pgdata",
               "-p",
               std::to_string(port_),
               "-c",
               "listen_addresses=127.0.0.1",
               "-c",
               "unix_socket_directories=",
               "-c",
               "logging_collector=off",
               "-c",
               "log_line_prefix=[%p] ",
               "-c",
               "max_connections=300"};
  opts.user = "postgres";
  opts.bind_source = data_dir_ + "/postgres";
  auto probe_url = "postgresql://sandhive:" + password_ + "@127.0.0.1:"
                   + std::to_string(port_) + "/postgres?connect_timeout=1";
  auto ready = [probe_url] {
    try {
      pqxx::connection c{probe_url};
      return c.is_open();
    } catch (const std::exception&) {
      return false;
    }
  };
  // SIGINT is PostgreSQL's fast shutdown: it ends sessions and checkpoints.
  svc_ = std::make_unique<service>("postgres", opts, ready, SIGINT);
  if (auto err = svc_->start(30s)) {
    svc_.reset();
    return err;
  }
  return ensure_database();
}

caf::error postgres::ensure_database() {
  try {
    pqxx::connection c{"postgresql://sandhive:" + password_ + "@127.0.0.1:"
                       + std::to_string(port_) + "/postgres"};
    pqxx::nontransaction tx{c};
    if (tx.exec("SELECT 1 FROM pg_database WHERE datname = 'sandhive'").empty())
      tx.exec("CREATE DATABASE sandhive");
    return caf::none;
  } catch (const std::exception& e) {
    return make_error(ec::unavailable,
                      std::string{"cannot create database sandhive: "}
                        + e.what());
  }
}

void postgres::stop() {
  if (svc_)
    svc_->stop();
  svc_.reset();
}

std::string postgres::url() const {
  return "postgresql://sandhive:" + password_ + "@127.0.0.1:"
         + std::to_string(port_) + "/sandhive";
}

// -- redis --------------------------------------------------------------------

redis::redis(std::string data_dir, std::string server_program)
  : data_dir_(std::move(data_dir)), program_(std::move(server_program)) {
  // nop
}

redis::~redis() {
  stop();
}

caf::error redis::start() {
  if (svc_ && svc_->pid() != 0)
    return caf::none;
  auto pw = load_or_make_secret(data_dir_ + "/redis.password");
  if (!pw)
    return std::move(pw.error());
  password_ = *pw;
  auto root = data_dir_ + "/redis";
  if (auto err = make_private_dir(root, "redis"))
    return err;
  if (port_ == 0)
    port_ = pick_free_port();
  spawn_options opts;
  opts.argv = {program_,       "--port",          std::to_string(port_),
               "--bind",       "127.0.0.1",       "--protected-mode",
               "yes",          "--requirepass",   password_,
               "--dir",        mount_point,       "--appendonly",
               "yes",          "--save",          "",
               "--daemonize",  "no",              "--logfile",
               "",             "--unixsocket",    "",
               "--loglevel",   "notice"};
  opts.user = "redis";
  opts.bind_source = root;
  auto port = port_;
  auto password = password_;
  auto ready = [port, password] {
    auto c = make_redis_client("redis://:" + password + "@127.0.0.1:"
                                 + std::to_string(port),
                               std::chrono::milliseconds{500});
    return !c->ping();
  };
  svc_ = std::make_unique<service>("redis", opts, ready, SIGTERM);
  if (auto err = svc_->start(30s)) {
    svc_.reset();
    return err;
  }
  return caf::none;
}

void redis::stop() {
  if (svc_)
    svc_->stop();
  svc_.reset();
}

std::string redis::url() const {
  return "redis://:" + password_ + "@127.0.0.1:" + std::to_string(port_);
}

} // namespace sbx::embedded

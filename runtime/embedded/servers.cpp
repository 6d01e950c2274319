#include "runtime/embedded/servers.hpp"

#include "actors/error.hpp"
#include "runtime/cache/cache_client.hpp"
#include "runtime/log/log.hpp"
#include "runtime/secret_file.hpp"

#include <pqxx/pqxx>

#include <filesystem>
#include <fstream>

#include <pwd.h>
#include <unistd.h>

namespace sbx::embedded {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// -- server -------------------------------------------------------------------

server::server(std::string name, std::string user, std::string data_dir)
  : name_(std::move(name)),
    user_(std::move(user)),
    data_dir_(std::move(data_dir)) {
  // nop
}

server::~server() {
  stop();
}

caf::error server::start() {
  if (svc_ && svc_->pid() != 0)
    return caf::none;
  auto pw = load_or_make_secret(data_dir_ + "/" + name_ + ".password");
  if (!pw)
    return std::move(pw.error());
  password_ = *pw;
  if (auto err = init())
    return err;
  if (port_ == 0)
    port_ = pick_free_port();
  spawn_options opts;
  opts.argv = command();
  opts.user = user_;
  opts.bind_source = root();
  svc_ = std::make_unique<service>(name_, opts, [this] { return answers(); },
                                   stop_signal());
  if (auto err = svc_->start(30s)) {
    svc_.reset();
    return err;
  }
  return after_start();
}

void server::stop() {
  if (svc_)
    svc_->stop();
  svc_.reset();
}

// -- postgres -----------------------------------------------------------------

postgres::postgres(std::string data_dir, std::string bin_dir)
  : server("postgres", "postgres", std::move(data_dir)),
    bin_dir_(std::move(bin_dir)) {
  // nop
}

postgres::~postgres() {
  stop();
}

caf::error postgres::init() {
  if (fs::exists(root() + "/pgdata/PG_VERSION"))
    return caf::none;
  log::get(name_)->info("initializing a new cluster in {}/pgdata", root());
  if (auto err = make_private_dir(root(), user_))
    return err;
  // initdb reads the password from a file the postgres user can open.
  auto pwfile = root() + "/.pwfile";
  {
    std::ofstream out{pwfile};
    out << password_ << "\n";
  }
  auto pw = getpwnam(user_.c_str());
  if (pw == nullptr || ::chown(pwfile.c_str(), pw->pw_uid, pw->pw_gid) != 0)
    return make_error(ec::system_error, "cannot prepare " + pwfile);
  spawn_options opts;
  opts.argv = {bin_dir_ + "/initdb", "-D",
               std::string{mount_point} + "/pgdata", "-U", "sandhive",
               "--pwfile=" + std::string{mount_point} + "/.pwfile",
               "--auth=scram-sha-256", "--encoding=UTF8", "--no-locale",
               "--no-sync"};
  opts.user = user_;
  opts.bind_source = root();
  opts.log_component = name_;
  opts.quiet = true;
  auto err = run(opts);
  fs::remove(pwfile);
  if (err) {
    // A half-made cluster would fail the next start in a confusing way.
    std::error_code ignored;
    fs::remove_all(root() + "/pgdata", ignored);
    return make_error(ec::system_error, "initdb failed: " + message_of(err));
  }
  ::sync();
  return caf::none;
}

std::vector<std::string> postgres::command() const {
  return {bin_dir_ + "/postgres",
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
}

std::string postgres::url_of(const std::string& db) const {
  return "postgresql://sandhive:" + password_ + "@127.0.0.1:"
         + std::to_string(port_) + "/" + db;
}

bool postgres::answers() const {
  try {
    pqxx::connection c{url_of("postgres") + "?connect_timeout=1"};
    return c.is_open();
  } catch (const std::exception&) {
    return false;
  }
}

caf::error postgres::after_start() {
  try {
    pqxx::connection c{url_of("postgres")};
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

std::string postgres::url() const {
  return url_of("sandhive");
}

// -- redis --------------------------------------------------------------------

redis::redis(std::string data_dir, std::string program)
  : server("redis", "redis", std::move(data_dir)),
    program_(std::move(program)) {
  // nop
}

redis::~redis() {
  stop();
}

caf::error redis::init() {
  return make_private_dir(root(), user_);
}

std::vector<std::string> redis::command() const {
  return {program_,      "--port",        std::to_string(port_),
          "--bind",      "127.0.0.1",     "--protected-mode",
          "yes",         "--requirepass", password_,
          "--dir",       mount_point,     "--appendonly",
          "yes",         "--save",        "",
          "--daemonize", "no",            "--logfile",
          "",            "--unixsocket",  "",
          "--loglevel",  "notice"};
}

bool redis::answers() const {
  return !make_redis_client(url(), 500ms)->ping();
}

std::string redis::url() const {
  return "redis://:" + password_ + "@127.0.0.1:" + std::to_string(port_);
}

} // namespace sbx::embedded

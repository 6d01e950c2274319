#include "tests/support/services.hpp"

#include "actors/error.hpp"
#include "runtime/log/log.hpp"

#include <pqxx/pqxx>

#include <stdexcept>

namespace sbx::test {

services& services::get() {
  static services instance;
  return instance;
}

services::services() {
  log::init("warn", "text");
  pg_ = std::make_unique<embedded::postgres>(dir_.path(),
                                             "/usr/lib/postgresql/15/bin");
  if (auto err = pg_->start())
    throw std::runtime_error("test PostgreSQL: " + message_of(err));
  redis_ = std::make_unique<embedded::redis>(dir_.path(),
                                             "/usr/bin/redis-server");
  if (auto err = redis_->start())
    throw std::runtime_error("test Redis: " + message_of(err));
}

services::~services() {
  redis_->stop();
  pg_->stop();
}

std::string fresh_database(const std::string& name) {
  auto& pg = services::get().postgres();
  auto url = pg.url();
  pqxx::connection c{url};
  pqxx::nontransaction tx{c};
  tx.exec("DROP DATABASE IF EXISTS " + tx.quote_name(name));
  tx.exec("CREATE DATABASE " + tx.quote_name(name));
  return url.substr(0, url.rfind('/') + 1) + name;
}

} // namespace sbx::test

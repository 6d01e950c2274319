#include "actors/error.hpp"

#include <caf/sec.hpp>

#include <nlohmann/json.hpp>

namespace sbx {

const char* to_string(ec x) {
  switch (x) {
    case ec::none:
      return "none";
    case ec::invalid_argument:
      return "invalid_argument";
    case ec::not_found:
      return "not_found";
    case ec::already_exists:
      return "already_exists";
    case ec::unauthenticated:
      return "unauthenticated";
    case ec::permission_denied:
      return "permission_denied";
    case ec::resource_exhausted:
      return "resource_exhausted";
    case ec::conflict:
      return "conflict";
    case ec::payload_too_large:
      return "payload_too_large";
    case ec::unavailable:
      return "unavailable";
    case ec::timeout:
      return "timeout";
    case ec::migration_failed:
      return "migration_failed";
    case ec::system_error:
      return "system_error";
    case ec::internal:
      return "internal";
    case ec::payment_required:
      return "payment_required";
  }
  return "unknown";
}

std::string message_of(const caf::error& err) {
  if (!err)
    return "";
  auto& ctx = err.context();
  if (ctx.match_elements<std::string>()
      || ctx.match_elements<std::string, int64_t>())
    return ctx.get_as<std::string>(0);
  if (err.category() == caf::atom("sbx"))
    return to_string(static_cast<ec>(err.code()));
  if (err.category() == caf::atom("system"))
    return caf::to_string(static_cast<caf::sec>(err.code()));
  return caf::to_string(err);
}

int64_t retry_after_of(const caf::error& err) {
  auto& ctx = err.context();
  if (ctx.match_elements<std::string, int64_t>())
    return ctx.get_as<int64_t>(1);
  return 0;
}

unsigned http_status(const caf::error& err) {
  if (!err)
    return 200;
  if (err.category() == caf::atom("system")) {
    switch (static_cast<caf::sec>(err.code())) {
      case caf::sec::request_timeout:
        return 504;
      case caf::sec::request_receiver_down:
      case caf::sec::cannot_connect_to_node:
        return 503;
      default:
        return 500;
    }
  }
  if (err.category() != caf::atom("sbx"))
    return 500;
  switch (static_cast<ec>(err.code())) {
    case ec::none:
      return 200;
    case ec::invalid_argument:
      return 400;
    case ec::unauthenticated:
      return 401;
    case ec::permission_denied:
      return 403;
    case ec::not_found:
      return 404;
    case ec::already_exists:
    case ec::conflict:
      return 409;
    case ec::payload_too_large:
      return 413;
    case ec::payment_required:
      return 402;
    case ec::resource_exhausted:
      return 429;
    case ec::unavailable:
      return 503;
    case ec::timeout:
      return 504;
    case ec::migration_failed:
    case ec::system_error:
    case ec::internal:
      return 500;
  }
  return 500;
}

std::string json_error(unsigned status, const std::string& message) {
  // Replace invalid UTF-8 rather than throw: messages may quote user input.
  return nlohmann::json{{"code", status}, {"message", message}}.dump(
    -1, ' ', false, nlohmann::json::error_handler_t::replace);
}

} // namespace sbx

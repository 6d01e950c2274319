#pragma once

#include <caf/error.hpp>
#include <caf/make_message.hpp>

#include <cstdint>
#include <string>

namespace sbx {

/// The error codes of sandhive. Failures travel as values (`caf::error`,
/// `caf::expected<T>`, `caf::result<T>`), never as exceptions; the context
/// string says what went wrong in words a user can act on.
enum class ec : uint8_t {
  /// Not an error.
  none = 0,
  /// A request or setting has a bad value.
  invalid_argument,
  /// The named thing does not exist (or is not visible to the caller).
  not_found,
  /// The thing to create exists already.
  already_exists,
  /// The caller did not prove who it is.
  unauthenticated,
  /// The caller may not do this.
  permission_denied,
  /// A quota, rate limit or capacity is used up.
  resource_exhausted,
  /// The request conflicts with the current state (e.g. already paused).
  conflict,
  /// A request body exceeds the configured limit.
  payload_too_large,
  /// An outside service (PostgreSQL, Redis, a node) does not answer now.
  unavailable,
  /// A deadline passed.
  timeout,
  /// A schema migration failed or the schema is newer than this binary.
  migration_failed,
  /// A file or process operation on this machine failed.
  system_error,
  /// A broken invariant inside sandhive.
  internal,
  /// The team's prepaid balance is used up. (Last: codes cross processes,
  /// so new ones go at the end.)
  payment_required,
};

} // namespace sbx

CAF_ERROR_CODE_ENUM(sbx::ec, "sbx")

namespace sbx {

/// Returns the name of `x`, e.g. "not_found".
const char* to_string(ec x);

/// Builds an error with a message for the user.
inline caf::error make_error(ec code, std::string message) {
  return caf::make_error(code, std::move(message));
}

/// Builds an error that tells the client when to try again (Retry-After).
inline caf::error make_error(ec code, std::string message,
                             int64_t retry_after_s) {
  return caf::make_error(code, std::move(message), retry_after_s);
}

/// The seconds after which to retry, when `err` carries them; else 0.
int64_t retry_after_of(const caf::error& err);

/// Returns the message of `err`: its context string when it has one,
/// otherwise a rendering of the code.
std::string message_of(const caf::error& err);

/// Maps any error (ours or CAF's) to the HTTP status that reports it.
unsigned http_status(const caf::error& err);

/// Renders {"code": <status>, "message": "..."}, the error body E2B's SDKs
/// parse.
std::string json_error(unsigned status, const std::string& message);

} // namespace sbx

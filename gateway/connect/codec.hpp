#pragma once

#include <google/protobuf/message.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

/// The Connect protocol (connectrpc.com/docs/protocol) as E2B's SDKs speak
/// it: unary calls with a bare message body, server streams as envelopes
/// ending in an end-stream message, JSON or binary protobuf.
namespace sbx::connect {

enum class format { json, proto };

/// What a request's Content-Type says about the call.
struct call_kind {
  bool streaming = false;
  format fmt = format::json;
};

/// application/json and application/proto (unary), application/connect+json
/// and application/connect+proto (streams); nothing else.
std::optional<call_kind> classify(std::string_view content_type);

/// The Content-Type of a response to a call of `kind`.
std::string content_type(call_kind kind);

/// Connect's error codes, with the HTTP status of a unary error.
enum class code {
  canceled,
  unknown,
  invalid_argument,
  deadline_exceeded,
  not_found,
  already_exists,
  permission_denied,
  resource_exhausted,
  failed_precondition,
  aborted,
  out_of_range,
  unimplemented,
  internal,
  unavailable,
  data_loss,
  unauthenticated,
};

/// The wire name ("not_found").
const char* to_string(code c);

/// The HTTP status of a unary error with this code.
unsigned http_status(code c);

/// An error as a Connect client reads it.
struct error {
  connect::code code = code::unknown;
  std::string message;
};

/// The JSON body of a unary error: {"code":"not_found","message":"…"}.
std::string error_body(const error& e);

/// Envelope flags.
constexpr uint8_t flag_compressed = 0x01;
constexpr uint8_t flag_end_stream = 0x02;

/// Frames `payload`: [flags][4-byte big-endian length][payload].
std::string envelope(uint8_t flags, std::string_view payload);

/// The end-stream envelope: {} or {"error":{"code":…,"message":…}}.
std::string end_stream(const std::optional<error>& e = std::nullopt);

/// The single message of a streaming request's body, which must be exactly
/// one uncompressed data envelope.
std::optional<std::string> single_envelope(std::string_view body,
                                           error& err);

/// Parses a message; JSON ignores unknown fields and accepts both field
/// name spellings. Fills `err` (invalid_argument) on failure.
bool decode(format fmt, std::string_view bytes,
            google::protobuf::Message& out, error& err);

/// Serializes a message: JSON in proto3's mapping (lowerCamelCase names,
/// int64 as strings, enums as names, defaults omitted) or binary.
std::string encode(format fmt, const google::protobuf::Message& msg);

} // namespace sbx::connect

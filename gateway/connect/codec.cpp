#include "gateway/connect/codec.hpp"

#include <google/protobuf/util/json_util.h>
#include <nlohmann/json.hpp>

namespace sbx::connect {

namespace {

struct code_entry {
  const char* name;
  unsigned status;
};

// In the order of `code`; statuses from the Connect protocol's table.
constexpr code_entry codes[] = {
  {"canceled", 499},           {"unknown", 500},
  {"invalid_argument", 400},   {"deadline_exceeded", 504},
  {"not_found", 404},          {"already_exists", 409},
  {"permission_denied", 403},  {"resource_exhausted", 429},
  {"failed_precondition", 400}, {"aborted", 409},
  {"out_of_range", 400},       {"unimplemented", 501},
  {"internal", 500},           {"unavailable", 503},
  {"data_loss", 500},          {"unauthenticated", 401},
};

std::string lower(std::string_view x) {
  std::string s{x};
  for (auto& c : s)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

nlohmann::json error_json(const error& e) {
  return {{"code", to_string(e.code)}, {"message", e.message}};
}

std::string dump(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

} // namespace

std::optional<call_kind> classify(std::string_view content_type) {
  auto ct = lower(content_type.substr(0, content_type.find(';')));
  while (!ct.empty() && ct.back() == ' ')
    ct.pop_back();
  if (ct == "application/json")
    return call_kind{false, format::json};
  if (ct == "application/proto")
    return call_kind{false, format::proto};
  if (ct == "application/connect+json")
    return call_kind{true, format::json};
  if (ct == "application/connect+proto")
    return call_kind{true, format::proto};
  return std::nullopt;
}

std::string content_type(call_kind kind) {
  std::string sub = kind.fmt == format::json ? "json" : "proto";
  return kind.streaming ? "application/connect+" + sub : "application/" + sub;
}

const char* to_string(code c) {
  return codes[static_cast<size_t>(c)].name;
}

unsigned http_status(code c) {
  return codes[static_cast<size_t>(c)].status;
}

std::string error_body(const error& e) {
  return dump(error_json(e));
}

std::string envelope(uint8_t flags, std::string_view payload) {
  std::string out;
  out.reserve(5 + payload.size());
  auto n = static_cast<uint32_t>(payload.size());
  out += static_cast<char>(flags);
  out += static_cast<char>(n >> 24);
  out += static_cast<char>(n >> 16);
  out += static_cast<char>(n >> 8);
  out += static_cast<char>(n);
  out.append(payload);
  return out;
}

std::string end_stream(const std::optional<error>& e) {
  auto j = nlohmann::json::object();
  if (e)
    j["error"] = error_json(*e);
  return envelope(flag_end_stream, dump(j));
}

std::optional<std::string> single_envelope(std::string_view body,
                                           error& err) {
  err.code = code::invalid_argument;
  if (body.size() < 5) {
    err.message = "truncated Connect envelope: " + std::to_string(body.size())
                  + " bytes, a header alone is 5";
    return std::nullopt;
  }
  auto flags = static_cast<uint8_t>(body[0]);
  auto n = (uint32_t{static_cast<uint8_t>(body[1])} << 24)
           | (uint32_t{static_cast<uint8_t>(body[2])} << 16)
           | (uint32_t{static_cast<uint8_t>(body[3])} << 8)
           | uint32_t{static_cast<uint8_t>(body[4])};
  if (flags & flag_compressed) {
    err.message = "compressed Connect envelopes are not supported";
    return std::nullopt;
  }
  if (flags != 0) {
    err.message = "unexpected Connect envelope flags "
                  + std::to_string(flags);
    return std::nullopt;
  }
  if (body.size() - 5 != n) {
    err.message = "Connect envelope says " + std::to_string(n)
                  + " bytes but the body has " + std::to_string(body.size() - 5)
                  + (body.size() - 5 > n ? " (a server stream takes exactly one "
                                           "message)"
                                         : "");
    return std::nullopt;
  }
  return std::string{body.substr(5)};
}

bool decode(format fmt, std::string_view bytes,
            google::protobuf::Message& out, error& err) {
  err.code = code::invalid_argument;
  if (fmt == format::proto) {
    if (out.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())))
      return true;
    err.message = "malformed " + out.GetTypeName() + " (binary protobuf)";
    return false;
  }
  google::protobuf::util::JsonParseOptions opts;
  opts.ignore_unknown_fields = true;
  auto st = google::protobuf::util::JsonStringToMessage(
    std::string{bytes.empty() ? std::string_view{"{}"} : bytes}, &out, opts);
  if (st.ok())
    return true;
  err.message = "malformed " + out.GetTypeName() + ": "
                + std::string{st.message()};
  return false;
}

std::string encode(format fmt, const google::protobuf::Message& msg) {
  if (fmt == format::proto)
    return msg.SerializeAsString();
  std::string out;
  google::protobuf::util::JsonPrintOptions opts;
  opts.preserve_proto_field_names = false;
  (void) google::protobuf::util::MessageToJsonString(msg, &out, opts);
  return out;
}

} // namespace sbx::connect

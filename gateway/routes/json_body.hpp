#pragma once

// JSON request and response bodies for the gateway's REST routes: one way
// to parse a body, check a field's type and answer, with E2B's error shape.

#include "gateway/http.hpp"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <type_traits>
#include <vector>

namespace sbx::routes {

using nlohmann::json;

inline std::string dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

inline http::response json_reply(unsigned status, const json& j) {
  return http::response::json(status, dump(j));
}

/// The body as a JSON object; an empty body is {}. Answers 400 itself.
inline std::optional<json> object_body(const http::request& req,
                                       const http::responder& respond) {
  if (req.body.find_first_not_of(" \t\r\n") == std::string::npos)
    return json::object();
  auto j = json::parse(req.body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    respond(http::response::error(
      400, j.is_discarded() ? "malformed JSON body: not valid JSON"
                            : "malformed JSON body: expected an object"));
    return std::nullopt;
  }
  return j;
}

/// Reads the optional field `name` of type T (bool, int64_t, std::string, or
/// a map of strings) into `out`; on a wrong type answers 400 naming the
/// field and returns false.
template <class T>
bool field(const json& body, const char* name, T& out,
           const http::responder& respond) {
  auto i = body.find(name);
  if (i == body.end() || i->is_null())
    return true;
  auto fail = [&](const char* what) {
    respond(http::response::error(400, std::string{"field '"} + name
                                         + "' must be " + what));
    return false;
  };
  if constexpr (std::is_same_v<T, bool>) {
    if (!i->is_boolean())
      return fail("a boolean");
    out = i->get<bool>();
  } else if constexpr (std::is_same_v<T, int64_t>) {
    if (!i->is_number_integer())
      return fail("an integer");
    out = i->get<int64_t>();
  } else if constexpr (std::is_same_v<T, std::string>) {
    if (!i->is_string())
      return fail("a string");
    out = i->get<std::string>();
  } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
    if (!i->is_array())
      return fail("an array of strings");
    out.clear();
    for (auto& v : *i) {
      if (!v.is_string())
        return fail("an array of strings");
      out.push_back(v.template get<std::string>());
    }
  } else {
    if (!i->is_object())
      return fail("an object of strings");
    for (auto& [k, v] : i->items()) {
      if (!v.is_string())
        return fail("an object of strings");
      out[k] = v.template get<std::string>();
    }
  }
  return true;
}

} // namespace sbx::routes
